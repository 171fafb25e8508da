"""Configuration of a partnership, its sources, metrics, deadlines and stakeholders.

The only module that reads ``config/``. Every YAML file is validated by a Pydantic model; an invalid
file raises :class:`ConfigError` naming the file, the key path inside it and the reason.

Layout::

    config/metrics.yaml                      metric definitions (versioned), age bands, disclosure policy
    config/deadlines.yaml                    statutory and local deadlines
    config/partnerships/<id>/partnership.yaml
    config/partnerships/<id>/sources.yaml
    config/partnerships/<id>/stakeholders.yaml
    config/lookups/*.csv                     ONS geography lookups (see config/lookups/SOURCES.md)
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

SLUG = r"^[a-z0-9][a-z0-9-]*$"
LAD_CODE = r"^[EW]0[6-9]\d{6}$"
LSOA_CODE = r"^[EW]010\d{5}$"


class ConfigError(ValueError):
    """A configuration file is missing or invalid; the message names the file, key and reason."""

    def __init__(self, path: Path, key: str, reason: str):
        self.path, self.key, self.reason = path, key, reason
        where = f" at key '{key}'" if key else ""
        super().__init__(f"{path}{where}: {reason}")


class Strict(BaseModel):
    """Base for config models: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Characters that would let a configured value add or split a mail header (header injection).
HEADER_BREAKERS = re.compile(r"[\r\n\x00\u2028\u2029\x85]")
MAIL_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def single_line(value: str) -> str:
    """Refuse a value that would break a mail header or a message's subject line (CR, LF, NUL...)."""
    if HEADER_BREAKERS.search(value):
        raise ValueError("must be a single line: carriage returns, line feeds and NUL characters are refused "
                         "(they would let the value inject mail headers)")
    return value


def mail_address(value: str) -> str:
    """A bare e-mail address (local@domain.tld), no display name, no header tricks."""
    single_line(value)
    from email.utils import parseaddr

    name, address = parseaddr(value)
    if name or address != value or not MAIL_ADDRESS.match(value) or len(value) > 254:
        raise ValueError(f"'{value}' is not a valid e-mail address (expected local@domain, without a display name)")
    return value


class Contact(Strict):
    """Who partners write back to: the From display name and the Reply-To of every message."""

    name: str
    email: str
    phone: str | None = None

    @field_validator("name", "phone")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return None if value is None else single_line(value)

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return mail_address(value)


# ---------------------------------------------------------------- partnership.yaml


class LocalAuthority(Strict):
    code: Annotated[str, Field(pattern=LAD_CODE)]
    name: str
    lsoa_name_prefixes: list[str] = Field(
        default_factory=list,
        description="Other names the authority's LSOAs carry in data.police.uk's 'LSOA name' (a renamed district, "
        "e.g. Shepway -> Folkestone and Hythe); its own name always counts",
    )
    boundary: Path | list[tuple[float, float]] | None = Field(
        default=None,
        description="Area for data.police.uk queries: a GeoJSON file (relative to the partnership folder) or "
        "a list of [latitude, longitude] points",
    )


class PoliceForce(Strict):
    id: Annotated[str, Field(pattern=SLUG, description="data.police.uk force id, e.g. 'essex'")]
    name: str


class Lsoa(Strict):
    code: Annotated[str, Field(pattern=LSOA_CODE)]
    name: str
    local_authority: Annotated[str, Field(pattern=LAD_CODE)]


class MonthDay(Strict):
    month: Annotated[int, Field(ge=1, le=12)]
    day: Annotated[int, Field(ge=1, le=31)]


OutputKind = Literal["submission", "board_pack", "publication"]
OUTPUT_KINDS: tuple[str, ...] = ("submission", "board_pack", "publication")


class Approver(Strict):
    """Who may approve a kind of output: a stakeholder (their name and role in stakeholders.yaml) or a named
    person with the role they approve in."""

    stakeholder: Annotated[str, Field(pattern=SLUG)] | None = None
    name: str | None = None
    role: str | None = None

    @field_validator("name", "role")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return None if value is None else single_line(value)

    @model_validator(mode="after")
    def _one_way_of_naming(self) -> Approver:
        if self.stakeholder is None and not (self.name and self.role):
            raise ValueError("give either stakeholder (an id of stakeholders.yaml) or both name and role")
        if self.stakeholder is not None and (self.name or self.role):
            raise ValueError("give either stakeholder or name and role, not both")
        return self


class HttpsUpload(Strict):
    """Upload the package with an HTTPS POST (http only to this machine, for tests)."""

    delivery: Literal["https_upload"]
    url: str

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
            raise ValueError(f"'{value}' is not an https:// URL (plain http is allowed only to this machine)")
        return value


class EmailDelivery(Strict):
    """Send the package attached to an e-mail (over DUTYCYCLE_SMTP_*, else written as an .eml file)."""

    delivery: Literal["email"]
    to: str

    @field_validator("to")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return mail_address(value)


class FileDrop(Strict):
    """Put the package in a folder another system collects from (relative paths are under DUTYCYCLE_DATA_DIR)."""

    delivery: Literal["file_drop"]
    folder: Path


SubmissionDelivery = Annotated[HttpsUpload | EmailDelivery | FileDrop, Field(discriminator="delivery")]


class Partnership(Strict):
    id: Annotated[str, Field(pattern=SLUG)]
    name: str
    demo: bool = False
    contact: Contact | None = Field(
        default=None, description="The partnership's contact: sender name and Reply-To of every message"
    )
    financial_year_start: MonthDay = MonthDay(month=4, day=1)
    local_authorities: Annotated[list[LocalAuthority], Field(min_length=1)]
    police_forces: Annotated[list[PoliceForce], Field(min_length=1)]
    lsoas: Annotated[list[Lsoa], Field(min_length=1)]
    approvers: dict[OutputKind, Annotated[list[Approver], Field(min_length=1)]] = Field(
        default_factory=dict,
        description="Per kind of output leaving the system (submission, board_pack, publication), who may approve "
        "it; a kind with nobody listed cannot be approved",
    )
    submission: SubmissionDelivery | None = Field(
        default=None, description="How an approved submission is delivered: https_upload, email or file_drop"
    )
    ons_code: Annotated[str, Field(pattern=r"^[EW]\d{8}$")] | None = Field(
        default=None, description="The partnership's own ONS code (e.g. its CSP code E22...), printed in published tables"
    )

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return single_line(value)

    @model_validator(mode="after")
    def _lsoas_belong_to_members(self) -> Partnership:
        members = {la.code for la in self.local_authorities}
        for index, lsoa in enumerate(self.lsoas):
            if lsoa.local_authority not in members:
                raise ValueError(
                    f"lsoas[{index}] ({lsoa.code}) names local authority {lsoa.local_authority}, "
                    f"which is not a member ({', '.join(sorted(members))})"
                )
        codes = [lsoa.code for lsoa in self.lsoas]
        if len(codes) != len(set(codes)):
            raise ValueError("lsoas lists the same LSOA code twice")
        return self

    @property
    def lsoa_codes(self) -> list[str]:
        return [lsoa.code for lsoa in self.lsoas]

    @property
    def local_authority_codes(self) -> list[str]:
        return [la.code for la in self.local_authorities]

    @property
    def authority_of_lsoa_name(self) -> dict[str, str]:
        """Member authority code by the name its LSOAs carry ('Castle Point 003A' -> 'Castle Point'): how LSOAs
        of the 2021 set, which the partnership's 2011 list lacks, are recognised as the partnership's. A name that
        several members carry (a district merged from several of them) names no single authority: left out."""
        claims: dict[str, set[str]] = {}
        for la in self.local_authorities:
            for name in [la.name, *la.lsoa_name_prefixes]:
                claims.setdefault(name, set()).add(la.code)
        return {name: codes.pop() for name, codes in claims.items() if len(codes) == 1}

    @property
    def shared_lsoa_names(self) -> frozenset[str]:
        """LSOA district names that several member authorities carry: such LSOAs cannot be attributed to one."""
        names = [name for la in self.local_authorities for name in {la.name, *la.lsoa_name_prefixes}]
        return frozenset(name for name in names if names.count(name) > 1)

    def area_name(self, code: str) -> str:
        """Human name of a member authority, LSOA or the partnership itself."""
        if code == self.id:
            return self.name
        for la in self.local_authorities:
            if la.code == code:
                return la.name
        for lsoa in self.lsoas:
            if lsoa.code == code:
                return lsoa.name
        return code


# ---------------------------------------------------------------- sources.yaml

PeriodFormat = Literal["%Y-%m", "%b-%y", "financial_quarter"]
Cadence = Literal["month", "quarter", "financial_year"]


class ColumnMap(Strict):
    column: str
    map: dict[str, str] | None = Field(default=None, description="Partner value -> our code")


class PeriodColumn(Strict):
    column: str
    format: PeriodFormat = Field(description="'%Y-%m' (2023-01), '%b-%y' (Jan-23), 'financial_quarter' (2022/23 Q4)")


class ValueColumn(Strict):
    column: str
    measure: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    age_band: str | None = Field(default=None, description="Fixed age band; else taken from the age_band column")


class PartnerTemplate(Strict):
    """How a partner's own layout maps onto our observation schema."""

    period: PeriodColumn
    area: ColumnMap
    age_band: ColumnMap | None = None
    values: Annotated[list[ValueColumn], Field(min_length=1)]
    where: dict[str, str] = Field(default_factory=dict, description="Keep only rows where column == value")


# sources whose files differ in shape from others of their dataset have their own raw suite
DEFAULT_SUITES = {
    "police_api": "police_api.raw",
    "nomis_population": "population_nomis.raw",
    "ons_lsoa_population": "population_lsoa.raw",
}


class Source(Strict):
    id: Annotated[str, Field(pattern=SLUG)]
    kind: Literal[
        "police_archive", "police_api", "ons_mye2", "nomis_population", "ons_lsoa_population", "fingertips",
        "partner_return",
    ]
    dataset: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    title: str
    owner: Annotated[str, Field(pattern=SLUG, description="Stakeholder id of the data owner")]
    location: Path = Field(description="Folder of input files, relative to the partnership folder")
    pattern: str | list[str] = Field(default="*", description="File name pattern(s) of this source's files")
    cadence: Cadence | None = Field(default=None, description="How often a file is expected")
    due_days_after_period: Annotated[int, Field(ge=0)] = Field(
        default=30, description="Days after the end of a period by which its data is due (then it is chased)"
    )
    collapse_threshold: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.5, description="Flag a month whose records fall by more than this fraction against a year earlier"
    )
    synthetic: bool = False
    first_month: Annotated[str | None, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = Field(
        default=None, description="The first month this source can hold (YYYY-MM); earlier periods are refused"
    )
    max_count: Annotated[float, Field(gt=0)] = Field(
        default=100_000, description="The plausible ceiling of one count in a partner return; a larger one is refused"
    )
    template: PartnerTemplate | None = None
    indicator_ids: list[int] = Field(default_factory=list)
    suite: str | None = Field(default=None, description="GX suite name; default <dataset>.raw")
    api_area_type_id: int | None = Field(
        default=None, description="Fingertips: fetch the export for this area type from the API before collecting"
    )
    api_category: str = Field(default="all-crime", description="police_api: the crimes-street category asked for")

    @model_validator(mode="after")
    def _template_for_partner_returns(self) -> Source:
        if self.kind == "partner_return" and self.template is None:
            raise ValueError(f"source '{self.id}' is a partner_return and needs a template")
        if self.kind == "fingertips" and not self.indicator_ids:
            raise ValueError(f"source '{self.id}' is a fingertips source and needs indicator_ids")
        return self

    @property
    def suite_name(self) -> str:
        return self.suite or DEFAULT_SUITES.get(self.kind, f"{self.dataset}.raw")

    @property
    def patterns(self) -> list[str]:
        return [self.pattern] if isinstance(self.pattern, str) else list(self.pattern)


class SourcesFile(Strict):
    sources: Annotated[list[Source], Field(min_length=1)]

    @field_validator("sources")
    @classmethod
    def _unique_ids(cls, sources: list[Source]) -> list[Source]:
        ids = [s.id for s in sources]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"source ids must be unique, repeated: {', '.join(duplicates)}")
        return sources


# ---------------------------------------------------------------- metrics.yaml


class AgeBand(Strict):
    label: str
    min_age: Annotated[int, Field(ge=0)] | None = None
    max_age: Annotated[int, Field(ge=0)] | None = None


class NumeratorSpec(Strict):
    dataset: str
    measures: Annotated[list[str], Field(min_length=1)]


class DenominatorSpec(Strict):
    dataset: str = Field(default="population", description="population (ONS estimates), or for a proportion the "
                         "dataset whose counts are the denominator (the numerator's own dataset)")
    measures: list[str] | None = Field(default=None, description="proportion: the measures counted as the "
                                       "denominator (the numerator's measures are a subset of them)")
    age_band: str | None = Field(default=None, description="Fixed population age band, e.g. 10-17 for FTEs; for a "
                                 "proportion the age band of the denominator's counts (default: all ages)")


class ReferenceRates(Strict):
    """Age-specific rates of a reference population (e.g. England) that an indirectly standardised ratio expects."""

    name: str = Field(description="The reference population, e.g. England 2021/22")
    source: str = Field(description="Where the reference figures are published (a citation or link)")
    counts: dict[str, Annotated[float, Field(ge=0)]] | None = Field(
        default=None, description="Reference events per age band (with populations): rate = count / population")
    populations: dict[str, Annotated[float, Field(gt=0)]] | None = None
    rates: dict[str, Annotated[float, Field(ge=0)]] | None = Field(
        default=None, description="Or the reference rates per age band directly, per `rates_per` people")
    rates_per: Annotated[int, Field(gt=0)] = 100_000

    @model_validator(mode="after")
    def _one_form(self) -> ReferenceRates:
        if (self.rates is None) == (self.counts is None):
            raise ValueError("reference: give either rates (per rates_per) or counts with populations, not both")
        if self.counts is not None and (self.populations is None or set(self.counts) != set(self.populations)):
            raise ValueError("reference: counts and populations must name the same age bands")
        _check_age_cover("reference", list(self.per_person))
        return self

    @property
    def per_person(self) -> dict[str, float]:
        """The reference rate of each age band per person, in the order config gives the bands."""
        if self.rates is not None:
            return {band: rate / self.rates_per for band, rate in self.rates.items()}
        return {band: count / self.populations[band] for band, count in (self.counts or {}).items()}


# ESP2013's five-year bands as (first age, last age); 200 stands for "and over" (tasks/compute/standard_populations.py
# holds the weights; config only needs the band edges to judge whether a metric's age bands can be standardised)
ESP2013_EDGES: tuple[tuple[int, int], ...] = (*((a, a + 4) for a in range(0, 90, 5)), (90, 200))
AGE_LABEL = re.compile(r"^(\d+)(?:-(\d+)|(\+))?$")

# Each statistic in words, with its interval method: printed in the report's definitions, the package's
# definitions.md and notes, and the published CSV's `statistic` and `interval_method` columns.
STATISTIC_METHODS: dict[str, tuple[str, str]] = {
    "crude_rate": ("crude rate per {multiplier:,} population",
                   "95% and 99.8% confidence intervals: exact Poisson for counts under 10, Byar's approximation "
                   "otherwise (as UKHSA's PHEindicatormethods)"),
    "dsr": ("directly age-standardised rate per {multiplier:,} (2013 European Standard Population, age bands "
            "{bands}), from the age-band counts as published",
            "95% and 99.8% confidence intervals by Dobson's method (Byar's limits of the total count), as "
            "PHEindicatormethods' calculate_dsr; not calculated when the total count is under 10"),
    "published_rate": ("the rate OHID Fingertips publishes (directly age-standardised where Fingertips says so), "
                       "carried through unchanged",
                       "the confidence intervals Fingertips publishes with the rate"),
    "proportion": ("percentage: {numerator} in the age band shown, as a share of {denominator} ({whole}), from "
                   "the counts as published",
                   "95% and 99.8% confidence intervals by Wilson's score method, as PHEindicatormethods' "
                   "phe_proportion"),
    "isr": ("indirectly age-standardised ratio: observed / expected x 100 (reference {reference} = 100), expected "
            "from the population by age (bands {bands}) and {reference}'s age-specific rates; from the count as "
            "published",
            "95% and 99.8% confidence intervals of the observed count (exact Poisson under 10, Byar's otherwise) "
            "over the expected count, as PHEindicatormethods' calculate_ISRatio"),
    "count": ("a count only (no suitable denominator)", "none (a count has no interval here)"),
}
# The unit every published value of a statistic is in: the column `value_unit` of metric values and of every
# published table, and the label of every value in the report, charts, e-mails and the submission package.
PERCENT, RATIO_UNIT, COUNT_UNIT = "%", "ratio (reference = 100)", "count"


def value_label(unit: str) -> str:
    """The column header or chart axis of values in a unit: "Rate per 100,000", "Percentage (%)", "Ratio (reference
    = 100)", "Count" (a blank unit, from a row stored before units were, is read as a rate per 100,000)."""
    if unit == PERCENT:
        return "Percentage (%)"
    if unit == RATIO_UNIT:
        return "Ratio (reference = 100)"
    if unit == COUNT_UNIT:
        return "Count"
    return f"Rate {unit or 'per 100,000'}"


def value_text(value: str, unit: str) -> str:
    """A published value with its unit, as a sentence says it: "12.3 per 100,000", "45.0%", "a ratio of 107.1
    (reference = 100)"."""
    if unit == PERCENT:
        return f"{value}%"
    if unit == RATIO_UNIT:
        return f"a ratio of {value} (reference = 100)"
    if unit == COUNT_UNIT:
        return value
    return f"{value} {unit or 'per 100,000'}"


def age_bounds(label: str) -> tuple[int, int] | None:
    """'0-24' -> (0, 24), '25+' -> (25, 200), '7' -> (7, 7); anything else None."""
    match = AGE_LABEL.match(label.strip())
    if not match:
        return None
    low = int(match.group(1))
    if match.group(3):
        return low, 200
    high = int(match.group(2)) if match.group(2) else low
    return (low, high) if high >= low else None


class MetricDefinition(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    version: Annotated[int, Field(ge=1)]
    valid_from: dt.date
    title: str
    headline: bool = Field(default=False, description="One of the three national headline measures")
    description: str = ""
    numerator: NumeratorSpec
    denominator: DenominatorSpec | None = None
    age_bands: Annotated[list[str], Field(min_length=1)] = ["all"]
    multiplier: Annotated[int, Field(gt=0)] = 100_000
    statistic: Literal["crude_rate", "dsr", "isr", "proportion", "published_rate", "count"] = Field(
        default="crude_rate", description="crude_rate, dsr (directly standardised, ESP2013, Dobson), isr "
        "(indirectly standardised ratio against `reference`), proportion (a percentage of a count, Wilson), "
        "published_rate or count; config validation refuses one the metric's data cannot carry",
    )
    reference: ReferenceRates | None = Field(
        default=None, description="isr: the reference population's age-specific rates (bands running from 0 to an "
        "open band, e.g. 0-24, 25+)",
    )
    standard_bands: list[str] | None = Field(
        default=None, description="dsr: the age bands the data are counted in, each a whole number of ESP2013 "
        "five-year bands (e.g. [0-24, 25+]); their ESP2013 weights are summed. Default: the 19 ESP2013 bands",
    )
    polarity: Literal["higher_is_worse", "higher_is_better", "no_polarity"] = Field(
        default="higher_is_worse",
        description="Whether a higher value is worse (violence, the default), better, or neither: colours the "
        "comparison markers Worse/Better or Higher/Lower, as Fingertips does",
    )
    confidence_level: float = 0.95
    disclosure_policy: str | None = Field(
        default=None, description="A named policy of disclosure_policies; default: the file's disclosure policy"
    )
    breakdowns: list[Literal["lsoa", "month", "quarter"]] = Field(
        default_factory=list,
        description="Extra breakdowns of the reviewed year: rates by LSOA, counts by month or quarter (internal)",
    )
    pool_years: Literal[1, 3, 5] = Field(
        default=1, description="Pool this many years (sum of counts over sum of populations), as Fingertips does "
        "for small numbers; the period is labelled e.g. 2020/21-2022/23",
    )


    @property
    def dsr_bands(self) -> list[str]:
        """The age bands a DSR is standardised over (the ESP2013 bands unless standard_bands groups them)."""
        if self.standard_bands:
            return list(self.standard_bands)
        return [f"{low}-{high}" if high < 200 else f"{low}+" for low, high in ESP2013_EDGES]

    @property
    def value_multiplier(self) -> int:
        """What the value is per: 100 for a percentage or a ratio (reference = 100), else ``multiplier``."""
        return 100 if self.statistic in ("proportion", "isr") else self.multiplier

    @property
    def value_unit(self) -> str:
        """The unit of the metric's value, as every output labels it: "per 100,000", "%", "ratio (reference =
        100)" or "count"."""
        if self.statistic == "proportion":
            return PERCENT
        if self.statistic == "isr":
            return RATIO_UNIT
        if self.statistic == "count":
            return COUNT_UNIT
        return f"per {self.multiplier:,}"

    @property
    def counted_denominator_words(self) -> str | None:
        """The denominator in words when it is not an ONS population (a proportion's counts, an isr's expected
        count); None for a population denominator."""
        if self.statistic == "proportion" and self.denominator is not None:
            return (f"{', '.join(self.denominator.measures or [])} of dataset {self.denominator.dataset} "
                    f"({self.denominator.age_band or 'all ages'}), a count under the same disclosure policy as the "
                    "numerator (published rounded or suppressed as it is)")
        if self.statistic == "isr" and self.reference is not None:
            return (f"expected count: the ONS mid-year population of each age band ({', '.join(self.reference.per_person)}"
                    f") x {self.reference.name}'s rate for that band ({self.reference.source})")
        return None

    @property
    def statistic_words(self) -> str:
        """The statistic in words, as config defines it."""
        bands = ", ".join(self.reference.per_person if self.reference else self.dsr_bands)
        denominator = self.denominator
        return STATISTIC_METHODS[self.statistic][0].format(
            multiplier=self.multiplier, bands=bands, reference=self.reference.name if self.reference else "",
            numerator=", ".join(self.numerator.measures),
            denominator=", ".join((denominator.measures or []) if denominator else []),
            whole=(denominator.age_band if denominator and denominator.age_band else "all ages"),
        )

    @property
    def interval_words(self) -> str:
        """The interval method in words."""
        return STATISTIC_METHODS[self.statistic][1]

    @model_validator(mode="after")
    def _statistic_fits(self) -> MetricDefinition:
        if self.standard_bands is not None and self.statistic != "dsr":
            raise ValueError(f"{self.id}: standard_bands applies to statistic dsr only (this metric is {self.statistic})")
        if self.pool_years > 1 and self.statistic != "crude_rate":
            raise ValueError(f"{self.id}: pool_years pools crude rates only (this metric is {self.statistic})")
        if self.reference is not None and self.statistic != "isr":
            raise ValueError(f"{self.id}: reference applies to statistic isr only (this metric is {self.statistic})")
        if self.statistic in ("proportion", "isr") and self.multiplier != 100_000:
            raise ValueError(f"{self.id}: a {self.statistic} is always per 100 (a percentage, or a ratio with the "
                             "reference = 100): remove multiplier")
        if self.statistic == "proportion":
            denominator = self.denominator
            if denominator is None or denominator.dataset != self.numerator.dataset or not denominator.measures \
                    or not set(self.numerator.measures) <= set(denominator.measures):
                raise ValueError(f"{self.id}: a proportion's numerator must be a subset of its denominator: "
                                 f"denominator {{dataset: {self.numerator.dataset}, measures: [...]}} must name the "
                                 f"numerator's dataset and every one of its measures ({', '.join(self.numerator.measures)})")
        elif self.denominator is not None and (self.denominator.dataset != "population" or self.denominator.measures):
            raise ValueError(f"{self.id}: only a proportion counts its denominator from a dataset; a "
                             f"{self.statistic} is over the population (denominator: {{dataset: population}})")
        if self.statistic == "isr":
            if self.reference is None:
                raise ValueError(f"{self.id}: an isr needs reference rates by age (reference: {{name, source, rates "
                                 "or counts and populations}})")
            if self.denominator is None or self.denominator.age_band is not None:
                raise ValueError(f"{self.id}: an isr needs the population by age as its denominator (denominator: "
                                 "{dataset: population}, without a fixed age_band)")
        if self.statistic == "dsr":
            if self.denominator is None or self.denominator.age_band is not None:
                raise ValueError(f"{self.id}: a dsr needs the population by age as its denominator (denominator: "
                                 "{dataset: population}, without a fixed age_band)")
            _check_standard_bands(self.id, self.dsr_bands)
        return self


def _check_age_cover(what: str, bands: list[str]) -> None:
    """Age bands that cover every age once, from 0 to an open band (e.g. 0-24, 25+)."""
    expected_low = 0
    for label in bands:
        bounds = age_bounds(label)
        if bounds is None:
            raise ValueError(f"{what}: '{label}' is not an age band like 0-24 or 25+")
        if bounds[0] != expected_low:
            raise ValueError(f"{what}: age bands must run from age 0 upwards without gaps or overlaps: '{label}' "
                             f"starts at {bounds[0]}, expected {expected_low}")
        expected_low = bounds[1] + 1
    if expected_low != 201:
        raise ValueError(f"{what}: age bands must end with an open band such as 25+ or 90+")


def _check_standard_bands(metric_id: str, bands: list[str]) -> None:
    """DSR bands must each be whole ESP2013 bands and together cover every age once, from 0 to 90+."""
    edges = {low for low, _ in ESP2013_EDGES}
    expected_low = 0
    for label in bands:
        bounds = age_bounds(label)
        if bounds is None:
            raise ValueError(f"{metric_id}: standard band '{label}' is not an age band like 0-24 or 25+")
        low, high = bounds
        if low != expected_low:
            raise ValueError(f"{metric_id}: standard bands must run from age 0 upwards without gaps or overlaps: "
                             f"'{label}' starts at {low}, expected {expected_low}")
        if low not in edges or (high != 200 and high + 1 not in edges):
            raise ValueError(f"{metric_id}: standard band '{label}' cuts an ESP2013 five-year band (bands must "
                             "start at a multiple of 5 and end just before one, the last ending in '+', 90+ at most)")
        expected_low = high + 1
    if expected_low != 201:
        raise ValueError(f"{metric_id}: standard bands must end with an open band such as 25+ or 90+")


class DisclosurePolicy(Strict):
    """How counts are protected in every published output (internal tables keep exact values)."""

    name: str
    suppress_from: Annotated[int, Field(ge=1)] = 1
    suppress_to: Annotated[int, Field(ge=0)] = 7
    suppressed_symbol: str = "*"
    round_to: Annotated[int, Field(ge=1)] = 5
    min_count_for_rate: Annotated[int, Field(ge=0)] = 10
    as_published: bool = Field(
        default=False, description="Figures already published by their producer (e.g. OHID Fingertips): carried "
        "exactly as published, never suppressed or rounded again, so they still match their source",
    )
    basis: str = Field(default="", description="The publisher's practice this policy follows, with its source")

    @model_validator(mode="after")
    def _smallest_shown_count_not_rounded_to_zero(self) -> DisclosurePolicy:
        # a count just above the suppressed range rounded (half up) to 0 would be published as "no events"
        smallest = self.suppress_to + 1
        if not self.as_published and self.suppress_to >= self.suppress_from and 2 * smallest < self.round_to:
            raise ValueError(
                f"round_to {self.round_to} would publish {smallest}, the smallest count shown, as 0 (a count is "
                f"shown as 0 below half the base): suppress up to at least {(self.round_to + 1) // 2 - 1} or round "
                f"to at most {2 * smallest}")
        return self

    @property
    def exact(self) -> bool:
        """True when the policy publishes every count as it is (nothing suppressed, nothing rounded)."""
        return self.as_published or (self.suppress_to < self.suppress_from and self.round_to == 1)


class PlausibilityRule(Strict):
    """Measures from different sources that should move together from one year to the next."""

    id: Annotated[str, Field(pattern=SLUG)]
    metrics: Annotated[list[str], Field(min_length=2)]
    max_factor: Annotated[float, Field(gt=1)]
    description: str


class MetricsFile(Strict):
    age_bands: dict[str, AgeBand]
    disclosure: DisclosurePolicy
    disclosure_policies: dict[str, DisclosurePolicy] = Field(
        default_factory=dict, description="Other named policies, chosen per metric by disclosure_policy"
    )
    dataset_disclosure: dict[str, str] = Field(
        default_factory=dict,
        description="The policy of each source dataset (a name of disclosure_policies); a metric may name its own",
    )
    metrics: Annotated[list[MetricDefinition], Field(min_length=1)]
    plausibility: list[PlausibilityRule] = Field(default_factory=list)

    def policy_for(self, metric_id: str) -> DisclosurePolicy:
        """The disclosure policy of a metric's newest definition (the default policy unless it names another)."""
        versions = [m for m in self.metrics if m.id == metric_id]
        newest = max(versions, key=lambda m: m.version) if versions else None
        named = newest and (newest.disclosure_policy or self.dataset_disclosure.get(newest.numerator.dataset))
        return self.disclosure_policies[named] if named else self.disclosure

    def policy_name(self, metric_id: str) -> str:
        """The configured name of a metric's policy ("default" for the file's default policy)."""
        policy = self.policy_for(metric_id)
        return next((name for name, p in self.disclosure_policies.items() if p is policy), "default")

    @property
    def policies_in_use(self) -> list[DisclosurePolicy]:
        return [self.disclosure, *self.disclosure_policies.values()]

    @model_validator(mode="after")
    def _references_resolve(self) -> MetricsFile:
        seen: set[tuple[str, int]] = set()
        for index, metric in enumerate(self.metrics):
            key = (metric.id, metric.version)
            if key in seen:
                raise ValueError(f"metrics[{index}]: {metric.id} version {metric.version} is defined twice")
            seen.add(key)
            for band in metric.age_bands:
                if band not in self.age_bands:
                    raise ValueError(f"metrics[{index}] ({metric.id}): age band '{band}' is not in age_bands")
            if metric.statistic == "crude_rate" and metric.denominator is None:
                raise ValueError(f"metrics[{index}] ({metric.id}): a crude_rate needs a denominator")
            if metric.statistic in ("dsr", "isr"):
                labels = list(metric.reference.per_person) if metric.reference else metric.dsr_bands
                bands = [age_bounds(b) for b in labels]
                for band_id in metric.age_bands:
                    band = self.age_bands[band_id]
                    if band.min_age is None and band.max_age is None:
                        continue
                    low, high = band.min_age or 0, band.max_age if band.max_age is not None else 200
                    if any(b_low < low <= b_high or b_low <= high < b_high for b_low, b_high in bands):
                        raise ValueError(f"metrics[{index}] ({metric.id}): age band '{band_id}' cuts a standard "
                                         f"band of the {metric.statistic} ({', '.join(labels)})")
            if metric.statistic == "proportion":
                whole = self.age_bands.get(metric.denominator.age_band or "all")
                if whole is None:
                    raise ValueError(f"metrics[{index}] ({metric.id}): denominator age band "
                                     f"'{metric.denominator.age_band}' is not in age_bands")
                low, high = whole.min_age or 0, whole.max_age if whole.max_age is not None else 200
                for band_id in metric.age_bands:
                    band = self.age_bands[band_id]
                    if (band.min_age or 0) < low or (band.max_age if band.max_age is not None else 200) > high:
                        raise ValueError(f"metrics[{index}] ({metric.id}): a proportion's numerator must be a subset "
                                         f"of its denominator, but age band '{band_id}' is wider than the "
                                         f"denominator's '{metric.denominator.age_band or 'all'}'")
        for index, metric in enumerate(self.metrics):
            if metric.disclosure_policy and metric.disclosure_policy not in self.disclosure_policies:
                raise ValueError(
                    f"metrics[{index}] ({metric.id}): disclosure_policy '{metric.disclosure_policy}' is not in "
                    "disclosure_policies"
                )
        for dataset, name in self.dataset_disclosure.items():
            if name not in self.disclosure_policies:
                raise ValueError(f"dataset_disclosure[{dataset}]: policy '{name}' is not in disclosure_policies")
        known = {metric.id for metric in self.metrics}
        for index, rule in enumerate(self.plausibility):
            unknown = [m for m in rule.metrics if m not in known]
            if unknown:
                raise ValueError(f"plausibility[{index}] ({rule.id}) names unknown metric(s): {', '.join(unknown)}")
        return self

    def in_force(self, on: dt.date) -> list[MetricDefinition]:
        """The newest version of each metric valid on a date (so a past year uses its own definition)."""
        chosen: dict[str, MetricDefinition] = {}
        for metric in self.metrics:
            if metric.valid_from <= on and (
                metric.id not in chosen or metric.version > chosen[metric.id].version
            ):
                chosen[metric.id] = metric
        return list(chosen.values())


# ---------------------------------------------------------------- deadlines.yaml


Role = Literal["board", "partner_lead", "data_owner", "analyst", "pcc"]
StageName = Literal["collect", "validate", "compute", "notify", "submit"]
QuarterName = Literal["Q1", "Q2", "Q3", "Q4"]


class AnnualRule(Strict):
    """Once a year: the first <month>/<day> after the end of the financial year the deadline is about."""

    kind: Literal["annual_after_year_end"]
    month: Annotated[int, Field(ge=1, le=12)]
    day: Annotated[int, Field(ge=1, le=31)]


class QuarterlyRule(Strict):
    """One per quarter of the year, due at the end of the following quarter (s.17A information periods)."""

    kind: Literal["end_of_following_quarter"]


class AfterQuarterRule(Strict):
    """One per quarter of the year, due a number of days after the quarter ends (e.g. PCC grant returns)."""

    kind: Literal["after_each_quarter"]
    days: Annotated[int, Field(ge=0, le=90)]


class BoardMeetingsRule(Strict):
    """One per board meeting (the partnership's board_meetings), due N working days before the meeting."""

    kind: Literal["before_board_meetings"]
    working_days_before: Annotated[int, Field(ge=0, le=30)]


class ScheduledRun(Strict):
    """A run of the cycle that the calendar schedules ahead of each occurrence of a deadline."""

    slug: Annotated[str, Field(pattern=SLUG)]
    days_before: Annotated[int, Field(ge=0, le=300)] = Field(
        description="Days before the rule's due date (before it is moved off a weekend or bank holiday)"
    )
    hour: Annotated[int, Field(ge=0, le=23)] = 7
    financial_year: Literal["latest", "current"] = "current"
    stages: list[StageName] | None = Field(default=None, description="Stages to run; default the whole cycle")


class Deadline(Strict):
    id: Annotated[str, Field(pattern=SLUG)]
    title: str
    delivers: Literal[
        "annual_review", "information_sharing", "grant_monitoring", "strategy", "needs_assessment", "board_pack"
    ]
    rule: Annotated[
        AnnualRule | QuarterlyRule | AfterQuarterRule | BoardMeetingsRule, Field(discriminator="kind")
    ]
    submitted_to: str = Field(description="Who receives what the deadline delivers, e.g. the Home Office")
    owner: Role = Field(description="The stakeholder role accountable for meeting the deadline (always reminded)")
    recipients: list[Role] = Field(default_factory=list, description="Further roles reminded of the deadline")
    artefacts: Annotated[list[str], Field(min_length=1)] = Field(description="What must be delivered")
    inputs: list[Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]] = Field(
        default_factory=list,
        description="Datasets the deadline needs: missing, late or failing quality makes the deadline 'at risk'",
    )
    legal_basis: str
    source: str
    confirmed: bool = Field(description="False where no public source fixes the date: it is local agreement")
    if_not_working_day: Literal["previous", "next", "keep"] = "previous"
    remind_days_before: list[Annotated[int, Field(ge=0)]] = [28, 7]
    quarter_notes: dict[QuarterName, str] = Field(
        default_factory=dict, description="A note for one quarter's return, e.g. the Q3 underspend check"
    )
    runs: list[ScheduledRun] = Field(default_factory=list, description="Cycle runs scheduled ahead of the deadline")

    @field_validator("title")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return single_line(value)  # it becomes a reminder's subject line


class MonthlyCollection(Strict):
    """The monthly run that collects what has arrived (after data.police.uk's monthly release) and chases the rest."""

    day_of_month: Annotated[int, Field(ge=1, le=28)] = 8
    hour: Annotated[int, Field(ge=0, le=23)] = 6
    stages: list[StageName] = ["collect", "validate", "notify"]


class DueDateOverride(Strict):
    """A partnership's agreed date for one occurrence of a deadline, replacing the rule's date."""

    deadline: Annotated[str, Field(pattern=SLUG)]
    period: str
    due_date: dt.date
    reason: str


class DeadlinesFile(Strict):
    timezone: Literal["Europe/London"] = "Europe/London"
    overdue_window_days: Annotated[int, Field(ge=0)] = Field(
        default=45, description="How long an unmet deadline stays on the calendar as overdue (and can be escalated)"
    )
    deadline_watch_hour: Annotated[int, Field(ge=0, le=23)] = 6
    monthly_collection: MonthlyCollection = MonthlyCollection()
    deadlines: Annotated[list[Deadline], Field(min_length=1)]
    board_meetings: list[dt.date] = Field(default_factory=list, description="The partnership board's meetings")
    overrides: list[DueDateOverride] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> DeadlinesFile:
        ids = [d.id for d in self.deadlines]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"deadline ids must be unique, repeated: {', '.join(repeated)}")
        for index, override in enumerate(self.overrides):
            if override.deadline not in ids:
                raise ValueError(f"overrides[{index}] names unknown deadline '{override.deadline}'")
        return self

    def deadline(self, deadline_id: str) -> Deadline:
        return next(d for d in self.deadlines if d.id == deadline_id)


class PartnershipDeadlinesFile(Strict):
    """A partnership's own calendar (config/partnerships/<id>/deadlines.yaml): its board meetings, its own
    deadlines (one with the id of a shared deadline replaces it) and agreed dates for single occurrences."""

    board_meetings: list[dt.date] = Field(default_factory=list)
    deadlines: list[Deadline] = Field(default_factory=list)
    overrides: list[DueDateOverride] = Field(default_factory=list)


# ---------------------------------------------------------------- stakeholders.yaml

MessageKind = Literal[
    "data_quality_report", "data_request", "metric_pack", "deadline_reminder", "deadline_escalation", "submission_receipt",
    "run_failed",  # a failed or crashed run (tasks/shared/alerts.py): every analyst gets it, by e-mail unless listed
]
Channel = Literal["email", "teams", "slack"]
WEBHOOK_CHANNELS: tuple[str, ...] = ("teams", "slack")


class Stakeholder(Strict):
    id: Annotated[str, Field(pattern=SLUG)]
    name: str
    organisation: str
    email: str
    role: Role
    receives: Annotated[dict[MessageKind, Annotated[list[Channel], Field(min_length=1)]], Field(min_length=1)] = Field(
        description="Per message kind, the channels it goes to, e.g. {metric_pack: [email, teams]}; "
        "a plain list of kinds means e-mail only"
    )
    webhooks: dict[Literal["teams", "slack"], Annotated[str, Field(pattern=SLUG)]] = Field(
        default_factory=dict,
        description="Per webhook channel, the NAME of the secret holding its URL (DUTYCYCLE_WEBHOOK_<NAME> or the "
        "Prefect Secret block dutycycle-webhook-<name>); URLs are secrets and never sit in config",
    )

    @field_validator("receives", mode="before")
    @classmethod
    def _list_means_email(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {kind: ["email"] for kind in value}
        return value

    @field_validator("name", "organisation")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return single_line(value)

    @field_validator("email")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return mail_address(value)

    @model_validator(mode="after")
    def _webhook_named_for_each_webhook_channel(self) -> Stakeholder:
        for kind, channels in self.receives.items():
            for channel in channels:
                if channel in WEBHOOK_CHANNELS and channel not in self.webhooks:
                    raise ValueError(
                        f"receives.{kind} uses {channel} but webhooks.{channel} (the name of the secret holding "
                        "the webhook URL) is not set"
                    )
        return self

    def channels_for(self, kind: str) -> list[str]:
        """The channels this person receives a kind of message on (none if they do not receive it)."""
        return list(self.receives.get(kind, []))


class StakeholdersFile(Strict):
    stakeholders: Annotated[list[Stakeholder], Field(min_length=1)]


# ---------------------------------------------------------------- loading


class PartnershipConfig(BaseModel):
    """Everything the cycle needs to know about one partnership, validated together."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    folder: Path
    partnership: Partnership
    sources: list[Source]
    metrics: MetricsFile
    deadlines: DeadlinesFile
    stakeholders: list[Stakeholder]

    def source_folder(self, source: Source) -> Path:
        return (self.folder / source.location).resolve()

    def source(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)

    def stakeholder(self, stakeholder_id: str) -> Stakeholder:
        for person in self.stakeholders:
            if person.id == stakeholder_id:
                return person
        raise KeyError(stakeholder_id)


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


# libyaml's safe loader when PyYAML has it (the wheels do): the same documents, ~10x faster than pure Python,
# which matters once a process loads hundreds of partnerships (benchmarks/national)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# Each file's validated model, by file and model, with the text it was read from. One process loads the same
# files many times (every stage of every partnership of a national run; metrics.yaml and deadlines.yaml for every
# partnership): parsing and validating them again cost ~0.26 s a partnership. The text, not its modification time,
# says whether the file changed (reading a small file is cheap; a same-size edit within the clock's tick is not
# missed). Models are frozen, so sharing one instance is safe; a file that fails is read again next time.
_LOADED: dict[tuple[str, type], tuple[str, Any]] = {}


def load_yaml_model(path: Path, model: type[Strict]) -> Any:
    """Read one YAML file into its model, turning every failure into a ConfigError."""
    if not path.is_file():
        raise ConfigError(path, "", "file not found")
    text = path.read_text(encoding="utf-8")
    key = (str(path.absolute()), model)
    known = _LOADED.get(key)
    if known is not None and known[0] == text:
        return known[1]
    loaded = _parse_yaml_model(path, text, model)
    _LOADED[key] = (text, loaded)
    return loaded


def _parse_yaml_model(path: Path, text: str, model: type[Strict]) -> Any:
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(path, "", f"not valid YAML: {where}{getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(path, "", "expected a mapping of keys at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # an unknown key is usually the cause of a "missing" one (a typo), so report it first
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        problems = [(_key_path(e["loc"]), _reason(e)) for e in errors]
        first_key, first_reason = problems[0]
        others = "".join(f"; at key '{key}': {reason}" for key, reason in problems[1:6])
        raise ConfigError(path, first_key, first_reason + others) from exc


def _reason(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (not part of the schema; check the spelling)"
    if error["type"] == "missing":
        return "required key is missing"
    return error["msg"]


def partnership_ids(config_dir: Path) -> list[str]:
    """The partnerships configured under ``config/partnerships``."""
    folder = config_dir / "partnerships"
    return sorted(p.name for p in folder.iterdir() if (p / "partnership.yaml").is_file()) if folder.is_dir() else []


def load_deadlines(config_dir: Path, folder: Path) -> DeadlinesFile:
    """The shared calendar merged with the partnership's own (its board meetings, deadlines and agreed dates)."""
    shared: DeadlinesFile = load_yaml_model(config_dir / "deadlines.yaml", DeadlinesFile)
    own_path = folder / "deadlines.yaml"
    if not own_path.is_file():
        return shared
    own: PartnershipDeadlinesFile = load_yaml_model(own_path, PartnershipDeadlinesFile)
    replaced = {d.id for d in own.deadlines}
    merged = {
        **shared.model_dump(),
        "deadlines": [*(d for d in shared.deadlines if d.id not in replaced), *own.deadlines],
        "board_meetings": sorted({*shared.board_meetings, *own.board_meetings}),
        "overrides": [*shared.overrides, *own.overrides],
    }
    try:
        return DeadlinesFile.model_validate(merged)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigError(own_path, _key_path(error["loc"]), _reason(error)) from exc


AGE_BY_SINGLE_YEAR = ("ons_mye2", "nomis_population")  # population kinds read by single year of age


def _carries_ages(source: Source, measures: list[str]) -> bool:
    """True when a source's rows of these measures say the victims' age band (an age column, or value columns each
    fixed to an age band other than all ages)."""
    if source.kind != "partner_return" or source.template is None:
        return False  # police street files, the police API and Fingertips exports carry no ages
    if source.template.age_band is not None:
        return True
    columns = [v for v in source.template.values if v.measure in measures]
    return bool(columns) and all(v.age_band not in (None, "all") for v in columns)


def statistic_problem(metric: MetricDefinition, sources: list[Source]) -> str | None:
    """Why the partnership's data cannot carry the metric's statistic (None when they can, or when the partnership
    has no source of its numerator at all): a dsr needs every source of its numerator to count by age band and a
    population source by single year of age; an isr the population by single year of age (and ages in its numerator
    when it is counted for an age band); a proportion of one age band ages in its numerator."""
    if metric.statistic not in ("dsr", "isr", "proportion"):
        return None
    feeding = [s for s in sources if s.dataset == metric.numerator.dataset]
    if not feeding:
        return None  # the partnership does not supply the dataset: compute lists the metric as not computed, and why
    banded = metric.statistic == "dsr" or any(b != "all" for b in metric.age_bands) or bool(
        metric.denominator and metric.denominator.age_band not in (None, "all"))
    ageless = [s.id for s in feeding if not _carries_ages(s, metric.numerator.measures)]
    if banded and ageless:
        return (f"statistic {metric.statistic} needs age-banded numerators, but source(s) {', '.join(ageless)} of "
                f"dataset {metric.numerator.dataset} carry no age band")
    if metric.statistic != "proportion" and not any(s.kind in AGE_BY_SINGLE_YEAR for s in sources):
        return (f"statistic {metric.statistic} needs the population by single year of age (a source of kind "
                "ons_mye2 or nomis_population), and the partnership has none")
    return None


def load_partnership_config(config_dir: Path, partnership_id: str) -> PartnershipConfig:
    """Load and cross-check every file a partnership's cycle needs."""
    if not re.match(SLUG, partnership_id):
        raise ConfigError(config_dir / "partnerships", partnership_id, "not a valid partnership id")
    folder = config_dir / "partnerships" / partnership_id
    if not folder.is_dir():
        known = ", ".join(partnership_ids(config_dir)) or "none"
        raise ConfigError(folder, "", f"no such partnership folder (configured: {known})")
    partnership: Partnership = load_yaml_model(folder / "partnership.yaml", Partnership)
    if partnership.id != partnership_id:
        raise ConfigError(folder / "partnership.yaml", "id", f"'{partnership.id}' differs from its folder name")
    sources: SourcesFile = load_yaml_model(folder / "sources.yaml", SourcesFile)
    stakeholders: StakeholdersFile = load_yaml_model(folder / "stakeholders.yaml", StakeholdersFile)
    metrics: MetricsFile = load_yaml_model(config_dir / "metrics.yaml", MetricsFile)
    deadlines = load_deadlines(config_dir, folder)

    people = {s.id for s in stakeholders.stakeholders}
    for kind, approvers in partnership.approvers.items():
        for index, approver in enumerate(approvers):
            if approver.stakeholder is not None and approver.stakeholder not in people:
                raise ConfigError(folder / "partnership.yaml", f"approvers.{kind}[{index}].stakeholder",
                                  f"'{approver.stakeholder}' is not in stakeholders.yaml")
    for index, source in enumerate(sources.sources):
        if source.owner not in people:
            raise ConfigError(
                folder / "sources.yaml", f"sources[{index}].owner", f"'{source.owner}' is not in stakeholders.yaml"
            )
    for index, metric in enumerate(metrics.metrics):
        problem = statistic_problem(metric, sources.sources)
        if problem:
            raise ConfigError(config_dir / "metrics.yaml", f"metrics[{index}].statistic",
                              f"{metric.id}: {problem} (partnership {partnership_id}, sources.yaml)")
    return PartnershipConfig(
        folder=folder.resolve(),
        partnership=partnership,
        sources=sources.sources,
        metrics=metrics,
        deadlines=deadlines,
        stakeholders=stakeholders.stakeholders,
    )


# ---------------------------------------------------------------- lookups (config/lookups, ONS files unchanged)

LOOKUP_FILES = {
    # LAD17CD, LAD17NM, CSP17CD, CSP17NM, PFA17CD, PFA17NM
    "lad17_csp17_pfa17": "Local_Authority_District_to_Community_Safety_Partnerships_to_Police_Force_Areas__"
    "January_2017__Lookup_in_England_and_Wales_Version_2.csv",
    # LSOA11CD, LSOA11NM, WD20CD, WD20NM, LAD20CD, LAD20NM
    "lsoa11_lad20": "Lower_Layer_Super_Output_Area__2011__to_Ward__2020__Lookup_in_England_and_Wales.csv",
    # Code (LSOA11), Name ("<LAD17 name> NNNX"), then population columns we do not need
    "lsoa11_names_2017": "Mid-2017 Population Density.csv",
}
LOOKUP_COLUMNS = {
    "lad17_csp17_pfa17": ["LAD17CD", "LAD17NM", "CSP17CD", "CSP17NM", "PFA17CD", "PFA17NM"],
    "lsoa11_lad20": ["LSOA11CD", "LSOA11NM", "LAD20CD", "LAD20NM"],
    "lsoa11_names_2017": ["Code", "Name"],
}


def read_lookup(config_dir: Path, name: str) -> pd.DataFrame:
    """One ONS lookup of config/lookups as text columns (the portal files start with a UTF-8 BOM)."""
    path = config_dir / "lookups" / LOOKUP_FILES[name]
    if not path.is_file():
        raise ConfigError(path, "", "lookup file not found (config/lookups/SOURCES.md says where it comes from)")
    frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    missing = [c for c in LOOKUP_COLUMNS[name] if c not in frame.columns]
    if missing:
        raise ConfigError(path, "", f"lookup lacks column(s) {', '.join(missing)}")
    return frame[LOOKUP_COLUMNS[name]]
