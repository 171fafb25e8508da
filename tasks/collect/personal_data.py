"""Personal-data guard: find names, dates of birth, NHS numbers, postcodes, addresses, e-mail addresses,
phone numbers and National Insurance numbers in a parsed input file, before anything of it is loaded.

The Duty permits sharing aggregate or depersonalised data only (PCSC Act s.16, DPA 2018 / UK GDPR; see
../shared/domain.md "Disclosure control and data protection"): a return carrying personal data is refused
and kept in quarantine. This module only *finds* such data; the caller refuses the file. It is pure (pandas
and the standard library): no Prefect, no Great Expectations, no I/O.

Two kinds of evidence
---------------------
* **The column header** says what the column is (``Surname``, ``DOB``, ``NHS Number``, ``Postcode``,
  ``Home Address``, ``Email``, ``Mobile``, ``NI Number``...). Every cell of such a column that holds a value
  (not blank, not a placeholder like ``Unknown`` or ``N/A``) is a finding. Headers are compared as words, so
  ``Local Authority Name``, ``LSOA name``, ``Area Name``, ``Parent Name`` (Fingertips: the parent *area*)
  and ``Indicator Name`` are not names of people: a ``... Name`` header is a person's name only when a
  person word qualifies it (``Victim Name``, ``First Name``, ``Patient Name``...). A bare ``Name`` header
  is a person's name unless a sibling column headed ``Code`` holds ONS area codes (the ONS MYE2 layout
  ``Code,Name,Geography``: there ``Name`` is the area's name). ``Location`` (data.police.uk's anonymised
  snap point, "On or near Potash Road") and ``Contact`` are not personal headers: their values are checked.
  Exceptions by header: a ``Postcode`` column holding only districts or sectors (``SS7``, ``SS7 1``) is
  aggregate and passes; a birth header flags only cells that are dates giving an age of 0-110.
* **The value** itself, in any column:
  - NHS number: 10 digits (or 3-3-4 with spaces or hyphens) whose modulus-11 check digit is valid. A bare
    10-digit number in a count column (nearly all cells whole numbers, few of them 10 digits long) is a
    count, not an NHS number, and is not flagged even if its check digit happens to be valid (1 in 11 are).
  - full unit postcode (``SS7 1AB``, ``ss71ab``), never a district (``SS7``) or a sector (``SS7 1``);
  - e-mail address; UK phone number (``07...``, ``01...``, ``02...``, ``03...``, ``+44 ...``, ``0044 ...``);
  - National Insurance number (two letters with the valid prefixes, six digits, a letter A-D);
  - street address: a house number followed by a street (``14 Potash Road``, ``Flat 2, 9 High St``).
    ``On or near Potash Road`` carries no house number: a police snap point, it passes.
  - date of birth: a cell that is a full date *with the day* (``12/03/1998``, ``1998-03-12``,
    ``12 Mar 1998``) giving an age of 0-110 today, in a column whose header is not about a reporting period
    or an extract (``Week Ending``, ``Period Start``, ``Extract Date``...), and whose day is neither the 1st
    nor the last of its month (period boundaries). Decision: partner returns must carry months only, so
    such a date is treated as a date of birth (or another individual-level date, which is refused just the
    same), whatever its header; except when the column holds one and the same date on every row (an extract
    or report date: an attribute of the file, not of a person).

Numbers are only recognised as whole tokens: a run of digits inside a letter/digit string (a
data.police.uk ``Crime ID`` is 64 hex characters and often contains 10-digit runs, some with a valid
NHS check digit) or after a decimal point (``44.1998933686262``) is never an NHS or phone number.

Findings name the file, the row (the frame's ``source_row`` when present, else index + 2: the header is
row 1), the column, the kind and a **masked** sample: a personal value is never echoed in full. At most
``MAX_ROWS_PER_COLUMN`` findings are returned per column; each carries the column's total count.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd

Kind = Literal["name", "date_of_birth", "nhs_number", "postcode", "street_address", "email", "phone", "ni_number"]
KINDS: tuple[str, ...] = (
    "name",
    "date_of_birth",
    "nhs_number",
    "postcode",
    "street_address",
    "email",
    "phone",
    "ni_number",
)
KIND_LABELS = {
    "name": "a person's name",
    "date_of_birth": "a date of birth",
    "nhs_number": "an NHS number",
    "postcode": "a full postcode",
    "street_address": "a street address",
    "email": "an e-mail address",
    "phone": "a phone number",
    "ni_number": "a National Insurance number",
}
MAX_ROWS_PER_COLUMN = 5
MAX_AGE_YEARS = 110
# Columns the pipeline adds to a parsed frame: never partner data.
PIPELINE_COLUMNS = frozenset({"source_row", "raw_file_id"})
# Cells that hold no value even in a personal column.
PLACEHOLDERS = frozenset(
    {
        "", "-", "--", "—", "n/a", "na", "n.a.", "none", "null", "nil", "nan", "unknown", "not known",
        "not recorded", "not stated", "not given", "not provided", "redacted", "withheld", "removed",
        "suppressed", "*", "x", "?",
    }
)
FAILURE_COLUMNS = ["raw_file_id", "source_row", "column", "value", "rule", "severity"]


@dataclass(frozen=True)
class PersonalDataFinding:
    """One cell that looks like personal data; ``sample`` is masked, never the value itself."""

    file: str
    row: int
    column: str
    kind: str
    sample: str
    basis: Literal["header", "value"]
    column_total: int  # cells of this column flagged in all (only the first few are returned)

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    def sentence(self) -> str:
        label = self.label
        if self.kind == "date_of_birth" and self.basis == "value":
            label = "a date of birth or another date about a person (returns carry months, not days)"
        return f"Row {self.row}, column '{self.column}': looks like {label} ({self.sample})."


# --- headers -----------------------------------------------------------------------------------------

_NAME_WORDS = frozenset(
    {
        "surname", "surnames", "forename", "forenames", "firstname", "lastname", "fullname", "givenname",
        "givennames", "middlename", "familyname", "maidenname", "nickname", "alias", "aliases",
    }
)
# Words that make "... name" the name of a person (and not of an area, an indicator or an organisation).
_PERSON_WORDS = frozenset(
    {
        "first", "last", "full", "given", "middle", "family", "maiden", "christian", "sur", "fore", "victim",
        "victims", "offender", "offenders", "suspect", "suspects", "patient", "patients", "person", "persons",
        "people", "client", "clients", "child", "childs", "children", "pupil", "pupils", "student", "students",
        "perpetrator", "perpetrators", "witness", "witnesses", "contact", "user", "customer", "resident",
        "mother", "father", "carer", "guardian", "kin", "individual", "defendant", "accused", "applicant",
        "officer", "staff", "employee", "worker", "caller", "informant", "casualty", "deceased", "my", "your",
        "his", "her", "their",
    }
)
_NUMBER_WORDS = frozenset({"number", "no", "num", "nbr", "nos", "id"})
_PERIOD_WORDS = frozenset(
    {
        "period", "start", "end", "ending", "from", "to", "extract", "extracted", "run", "published",
        "publication", "updated", "update", "created", "modified", "as", "snapshot", "generated", "report",
        "reporting", "week", "quarter", "month", "year", "financial", "fy", "submitted", "submission", "received",
        "sent", "loaded", "refresh", "refreshed",
    }
)
_GSS_CODE = re.compile(r"^[EWSNKLM]\d{8}$")


def _tokens(header: str) -> list[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(header))  # camelCase -> camel Case
    text = re.sub(r"(?i)\be-mail", "email", text)
    return re.findall(r"[a-z0-9]+", text.lower())


def header_kind(header: str) -> str | None:
    """The personal-data kind a column header announces, or None. A bare 'Name' returns 'name' here;
    ``scan_for_personal_data`` lets it pass beside an ONS 'Code' column (the MYE2 layout)."""
    tokens = _tokens(header)
    if not tokens:
        return None
    words, joined = set(tokens), "".join(tokens)
    adjacent = {f"{a} {b}" for a, b in zip(tokens, tokens[1:])}
    if "email" in words or "emails" in words or "emailaddress" in joined:
        return "email"
    if "nationalinsurance" in joined or "nino" in words or ("ni" in words and words & _NUMBER_WORDS):
        return "ni_number"
    if "nhs" in words and (words & _NUMBER_WORDS or tokens == ["nhs"]) or "nhsnumber" in joined or "nhsno" in words:
        return "nhs_number"
    if (
        joined in {"dob", "dateofbirth", "birthdate", "birthday", "dateofbirths"}
        or "dob" in words
        or "birthdate" in words
        or "birthday" in words
        or ("birth" in words and not words & {"place", "country", "town", "city", "nationality", "weight"})
    ):
        return "date_of_birth"
    if (
        "postcode" in words
        or "postcodes" in words
        or adjacent & {"post code", "postal code", "zip code"}
        or words & {"zip", "zipcode"}
    ):
        if words & {"district", "districts", "sector", "sectors", "area", "areas", "outward", "prefix"}:
            return None
        return "postcode"
    if words & {"phone", "phones", "telephone", "tel", "mobile", "mob", "landline", "phoneno", "telno", "mobileno"} or (
        "phonenumber" in joined or "contactnumber" in joined or "telephonenumber" in joined
    ):
        if words & {"unit", "units", "team", "teams", "app", "service", "services", "clinic", "van", "library"}:
            return None  # a mobile unit or team, not a number
        return "phone"
    if words & {"address", "addresses", "addr", "address1", "address2", "address3"} or any(
        part in joined for part in ("addressline", "housenumber", "houseno", "flatnumber", "homeaddress")
    ):
        if words & {"ip", "web", "url", "mac"}:
            return None
        return "street_address"
    if words & _NAME_WORDS or any(word in joined for word in ("surname", "forename", "firstname", "lastname")):
        return "name"
    if words & {"name", "names"} and (words & _PERSON_WORDS or tokens in (["name"], ["names"])):
        return "name"
    return None


def _is_area_name_column(header: str, frame: pd.DataFrame) -> bool:
    """A bare 'Name' beside a 'Code' column of ONS area codes (ONS MYE2 'Code,Name,Geography')."""
    if _tokens(header) not in (["name"], ["names"]):
        return False
    for position, column in enumerate(frame.columns):
        if _tokens(column) == ["code"]:
            codes = [v.strip() for v in _texts(frame.iloc[:, position]).unique() if v.strip()]
            if codes and sum(bool(_GSS_CODE.match(v)) for v in codes) >= 0.9 * len(codes):
                return True
    return False


# --- values ------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9][\w.%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_NHS_SPACED = re.compile(r"(?<![\w.+-])(\d{3})([ -])(\d{3})\2(\d{4})(?!\w|[.,]\d)")
_NHS_BARE = re.compile(r"(?<![\w.+-])(\d{10})(?!\w|[.,]\d)")
_PHONE = re.compile(
    r"(?<![\w.+-])(?:(?:\+|00)44[\s-]?(?:\(0\)[\s-]?)?|\(?0)\d{1,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\w|[.,]\d)"
)
_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z][A-HJ-Ya-hj-y]?\d[A-Za-z\d]?) ?(\d[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2})(?![A-Za-z0-9])"
)
_POSTCODE_PART = re.compile(r"^[A-Za-z][A-HJ-Ya-hj-y]?\d[A-Za-z\d]?(?: \d)?$")  # district or sector
_NI = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_STREET_TYPES = (
    "Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Way|Crescent|Cres|Court|Ct|Gardens|Gdns|Place|Pl|Grove|"
    "Terrace|Hill|Park|Mews|Walk|Square|Sq|Row|Rise|View|Green|Chase|Parade|Wharf|Quay|Boulevard|Broadway|"
    "Esplanade|Embankment|Promenade|Villas|Cottages|Meadows?|Mead|Croft|Fields|Vale|Gate|Yard|Wynd|Hall"
)
_ADDRESS = re.compile(
    r"(?<![\w.,/-])(?:(?:Flat|Apartment|Apt|Unit|Room)\s+\w{1,4},?\s+)?(\d{1,4}[A-Za-z]?)(?:\s*-\s*\d{1,4}[A-Za-z]?)?,?\s+"
    r"(?:[A-Za-z][A-Za-z'’.-]*\s+){1,4}(" + _STREET_TYPES + r")\b",
    re.IGNORECASE,
)
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m} | {
    m.lower(): i for i, m in enumerate(calendar.month_name) if m
} | {"sept": 9}
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATE_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})" + _TIME + r"$")
_DATE_YMD = re.compile(r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})" + _TIME + r"$")
_DATE_DMONY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[ -]([A-Za-z]{3,9})\.?[ -,]*(\d{4}|\d{2})" + _TIME + r"$")
_MONTH_MY = re.compile(r"^(\d{1,2})[/.-](\d{4})$")
_MONTH_YM = re.compile(r"^(\d{4})[/.-](\d{1,2})$")
_MONTH_MONY = re.compile(r"^([A-Za-z]{3,9})[ -](\d{4}|\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_INTEGER = re.compile(r"^\d+$")
_ANY_DIGIT_OR_AT = re.compile(r"[\d@]")


def nhs_check_digit_ok(digits: str) -> bool:
    """The NHS number modulus-11 check: weights 10..2 on the first nine digits; 11 -> 0; 10 is never valid."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _full_year(text: str, today: dt.date) -> int:
    year = int(text)
    if len(text) == 2:  # 98 -> 1998, 05 -> 2005
        year += 2000 if 2000 + year <= today.year else 1900
    return year


def _plausible_birth(year: int, month: int, day: int, today: dt.date) -> bool:
    try:
        born = dt.date(year, month, day)
    except ValueError:
        return False
    if born > today:
        return False
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return 0 <= age <= MAX_AGE_YEARS


def _full_date(text: str, today: dt.date) -> dt.date | None:
    """A date with the day (12/03/1998, 1998-03-12, 12 Mar 1998, optionally with a time), else None."""
    if match := _DATE_YMD.match(text):
        year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    elif match := _DATE_DMY.match(text):  # UK order: day first
        day, month, year = int(match.group(1)), int(match.group(2)), _full_year(match.group(3), today)
    elif match := _DATE_DMONY.match(text):
        month = _MONTHS.get(match.group(2).lower())
        if month is None:
            return None
        day, year = int(match.group(1)), _full_year(match.group(3), today)
    else:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _birth_date_like(text: str, today: dt.date) -> bool:
    """Under a birth header: a full date, a month (03/1998, 1998-03, Mar-98) or a year, giving an age 0-110."""
    if (date := _full_date(text, today)) is not None:
        return _plausible_birth(date.year, date.month, date.day, today)
    if match := _MONTH_MY.match(text):
        return 1 <= int(match.group(1)) <= 12 and _plausible_birth(int(match.group(2)), int(match.group(1)), 1, today)
    if match := _MONTH_YM.match(text):
        return 1 <= int(match.group(2)) <= 12 and _plausible_birth(int(match.group(1)), int(match.group(2)), 1, today)
    if match := _MONTH_MONY.match(text):
        month = _MONTHS.get(match.group(1).lower())
        return month is not None and _plausible_birth(_full_year(match.group(2), today), month, 1, today)
    if match := _YEAR.match(text):
        return _plausible_birth(int(match.group(1)), 1, 1, today)
    return False


def _individual_date(text: str, today: dt.date) -> bool:
    """A full date with a day that is not a period boundary (1st or last of the month), age 0-110."""
    date = _full_date(text, today)
    if date is None or date.day == 1 or date.day == calendar.monthrange(date.year, date.month)[1]:
        return False
    return _plausible_birth(date.year, date.month, date.day, today)


def _phone_ok(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    stripped = candidate.lstrip("(").lstrip()
    if stripped.startswith("+44") or stripped.startswith("0044"):
        rest = digits[2:] if stripped.startswith("+") else digits[4:]
        national = rest if rest.startswith("0") else "0" + rest
    elif digits.startswith("0"):
        national = digits
    else:
        return False
    if len(national) == 11:
        return national[1] in "1237"
    return len(national) == 10 and national[1] == "1"


@dataclass(frozen=True)
class _ColumnContext:
    header: str
    header_kind: str | None
    count_column: bool  # nearly every cell a whole number, few of them 10 digits long
    period_header: bool  # about a reporting period or an extract: day-precision dates are expected
    constant: bool  # one and the same value on every row (of two or more): an attribute of the file


def _value_kind(text: str, ctx: _ColumnContext, today: dt.date) -> tuple[str, str] | None:
    """(kind, the matched part) for a cell's value, or None."""
    if not _ANY_DIGIT_OR_AT.search(text):
        return None
    if "@" in text and (match := _EMAIL.search(text)):
        return "email", match.group(0)
    for match in _NHS_SPACED.finditer(text):
        if nhs_check_digit_ok(match.group(1) + match.group(3) + match.group(4)):
            return "nhs_number", match.group(0)
    if not ctx.count_column:
        for match in _NHS_BARE.finditer(text):
            if nhs_check_digit_ok(match.group(1)):
                return "nhs_number", match.group(0)
    if match := _NI.search(text):
        return "ni_number", match.group(0)
    for match in _PHONE.finditer(text):
        if _phone_ok(match.group(0)):
            return "phone", match.group(0)
    if match := _ADDRESS.search(text):
        return "street_address", match.group(0)
    if match := _POSTCODE.search(text):
        return "postcode", match.group(0)
    if not ctx.period_header and not ctx.constant and _individual_date(text, today):
        return "date_of_birth", text
    return None


def _cell_kind(text: str, ctx: _ColumnContext, today: dt.date) -> tuple[str, str, str] | None:
    """(kind, basis, matched part) for one cell, or None when it carries no personal data."""
    if text.lower() in PLACEHOLDERS:
        return None
    kind = ctx.header_kind
    if kind == "date_of_birth":
        if _birth_date_like(text, today):
            return kind, "header", text
    elif kind == "postcode":
        if not _POSTCODE_PART.match(text):
            return kind, "header", text
    elif kind is not None:
        return kind, "header", text
    found = _value_kind(text, ctx, today)
    return (found[0], "value", found[1]) if found else None


# --- masking -----------------------------------------------------------------------------------------


def _star(text: str, keep_first: int = 1, keep_last: int = 0) -> str:
    """Letters and digits after the first ``keep_first`` and before the last ``keep_last`` become '*'."""
    positions = [i for i, ch in enumerate(text) if ch.isalnum()]
    keep = set(positions[:keep_first]) | (set(positions[-keep_last:]) if keep_last else set())
    return "".join(ch if (i in keep or not ch.isalnum()) else "*" for i, ch in enumerate(text))


def mask_value(kind: str, text: str) -> str:
    """A sample the data owner recognises without the personal value being repeated in full."""
    text = " ".join(str(text).split())
    if kind == "email" and "@" in text:
        local, _, domain = text.rpartition("@")
        labels = domain.split(".")
        head = ".".join(_star(label) for label in labels[:-1])
        masked = f"{local[:1]}***@{head}.{labels[-1]}" if len(labels) > 1 else f"{local[:1]}***@{_star(domain)}"
    elif kind in {"nhs_number", "phone"}:
        masked = _star(text, keep_first=1, keep_last=2)
    elif kind == "ni_number":
        masked = _star(text, keep_first=1, keep_last=0)
    elif kind == "date_of_birth":
        masked = re.sub(r"\d", "*", text)
        masked = re.sub(r"[A-Za-z]", "*", masked)
    elif kind == "street_address":
        match = re.search(r"\b(" + _STREET_TYPES + r")\b\.?$", text, re.IGNORECASE)
        if match:
            masked = " ".join(_star(word) for word in text[: match.start()].split()) + " " + match.group(0)
        else:
            masked = " ".join(_star(word) for word in text.split())
        masked = re.sub(r"\d", "*", masked)
    elif kind == "postcode":
        masked = _star(text)
    else:  # a name: initials only
        masked = " ".join(_star(word) for word in text.split())
    return masked if len(masked) <= 40 else masked[:39] + "…"


# --- scanning ----------------------------------------------------------------------------------------


# Values in the validated form of something that is not about a person, which no detector can match: a
# data.police.uk Crime ID (a SHA-256 in hex, unique on nearly every row: two thirds of the guard's time; every
# detector needs a word boundary, an '@' or a letter outside a-f), a GSS area code, and a coordinate as
# data.police.uk writes it (at most 9 digits in all: phone and NHS numbers have 10 or more, dates two
# separators). A column whose header says it holds personal data is still judged on every value.
_CANNOT_BE_PERSONAL = re.compile(r"^(?:[0-9a-f]{64}|[EWSNKLM]\d{8}|-?\d{1,3}\.\d{1,6})$")


def _texts(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), "").astype(str)


def _as_text(value: object) -> str:
    """A present cell as ``astype(str)`` writes it (bytes decoded, anything else through str())."""
    if type(value) is str:
        return value
    return value.decode() if isinstance(value, bytes) else str(value)


def distinct_texts(series: pd.Series) -> list[str]:
    """A column's distinct values as stripped text ('' for a blank), in first-seen order.

    The same list as ``_texts`` and ``.str.strip()`` on its distinct values, in plain Python: on the small files
    most partners send, a handful of pandas calls per column (about 1 ms each, whatever the rows) was the cost of
    the guard, e.g. 0.1 s for the 96 columns of an ONS population file, in every partnership that reads it."""
    distinct = pd.unique(series.to_numpy(dtype=object))
    missing = pd.isna(distinct).tolist()
    return list(dict.fromkeys("" if blank else _as_text(value).strip() for value, blank in zip(distinct, missing)))


def _row_numbers(frame: pd.DataFrame) -> list[int]:
    if "source_row" in frame.columns:
        return [int(v) for v in frame["source_row"]]
    if pd.api.types.is_integer_dtype(frame.index):
        return [int(label) + 2 for label in frame.index]
    return list(range(2, 2 + len(frame)))


def _column_context(header: str, frame: pd.DataFrame, values: list[str]) -> _ColumnContext:
    kind = header_kind(header)
    if kind == "name" and _is_area_name_column(header, frame):
        kind = None
    stripped = [v for v in values if v and v.lower() not in PLACEHOLDERS]
    integers = [v for v in stripped if _INTEGER.match(v)]
    count_column = bool(stripped) and len(integers) >= 0.9 * len(stripped) and (
        sum(len(v) == 10 for v in integers) < 0.5 * len(integers)
    )
    period_header = bool(set(_tokens(header)) & _PERIOD_WORDS)
    constant = len(frame) >= 2 and len(values) == 1
    return _ColumnContext(
        header=str(header), header_kind=kind, count_column=count_column, period_header=period_header, constant=constant
    )


def scan_for_personal_data(
    frame: pd.DataFrame, file: str, *, today: dt.date | None = None
) -> list[PersonalDataFinding]:
    """Every column of ``frame`` that looks like it holds personal data, with its first rows (masked).

    Findings come column by column (the frame's order), rows in file order, at most MAX_ROWS_PER_COLUMN per
    column; ``column_total`` says how many cells of the column were flagged in all.
    """
    today = today or dt.date.today()
    rows = _row_numbers(frame)
    findings: list[PersonalDataFinding] = []
    for position, column in enumerate(frame.columns):
        if str(column) in PIPELINE_COLUMNS:
            continue
        series = frame.iloc[:, position]
        # each distinct value is judged once (a column repeats its values); the cells as text only when one is hit
        unique = distinct_texts(series)
        ctx = _column_context(column, frame, unique)
        candidates = unique
        if ctx.header_kind is None:
            candidates = [value for value in unique if not _CANNOT_BE_PERSONAL.match(value)]
        flagged: dict[str, tuple[str, str, str]] = {}
        for value in candidates:
            if not value:
                continue
            found = _cell_kind(value, ctx, today)
            if found is not None:
                flagged[value] = found
        if not flagged:
            continue
        texts = _texts(series).str.strip()
        hits = [i for i, hit in enumerate(texts.isin(list(flagged)).tolist()) if hit]
        for i in hits[:MAX_ROWS_PER_COLUMN]:
            kind, basis, matched = flagged[texts.iat[i]]
            findings.append(
                PersonalDataFinding(
                    file=file,
                    row=rows[i],
                    column=str(column),
                    kind=kind,
                    sample=mask_value(kind, matched),
                    basis=basis,  # type: ignore[arg-type]
                    column_total=len(hits),
                )
            )
    return findings


def describe_findings(findings: list[PersonalDataFinding]) -> str:
    """Plain English for the data owner: where the personal data is (masked) and what to do."""
    if not findings:
        return "No personal data found."
    lines = [finding.sentence() for finding in findings]
    shown: dict[str, int] = {}
    totals: dict[str, int] = {}
    for finding in findings:
        shown[finding.column] = shown.get(finding.column, 0) + 1
        totals[finding.column] = finding.column_total
    for column, total in totals.items():
        if total > shown[column]:
            more = total - shown[column]
            lines.append(f"Column '{column}': {more} more {'row looks' if more == 1 else 'rows look'} the same.")
    by_header = sorted({f.column for f in findings if f.basis == "header"})
    by_value = sorted({f.column for f in findings if f.basis == "value"} - set(by_header))
    advice = []
    if by_header:
        names = ", ".join(f"'{c}'" for c in by_header)
        advice.append(f"remove the column{'s' if len(by_header) > 1 else ''} {names}")
    if by_value:
        names = ", ".join(f"'{c}'" for c in by_value)
        advice.append(f"remove these values from {'columns' if len(by_value) > 1 else 'column'} {names}")
    lines.append(f"Personal data must not be sent: {' and '.join(advice)}, and send the file again.")
    return " ".join(lines) if len(findings) == 1 else "\n".join(lines)


def findings_as_failures(findings: list[PersonalDataFinding], raw_file_id: int | None = None) -> pd.DataFrame:
    """Findings as quarantine rows (the columns of ``SuiteOutcome.row_failures``); values stay masked."""
    return pd.DataFrame(
        [
            {
                "raw_file_id": raw_file_id,
                "source_row": f.row,
                "column": f.column,
                "value": f.sample,
                "rule": f"personal data must not be sent: looks like {f.label}",
                "severity": "critical",
            }
            for f in findings
        ],
        columns=FAILURE_COLUMNS,
    )
