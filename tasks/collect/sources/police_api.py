"""data.police.uk API: street-level crimes of the partnership's own polygon, month by month, within the API's limits.

The API refuses (503) an area with more than 10,000 crimes in a month: the polygon is then cut in two along the
middle of its bounding box and each half asked for again, until every part fits. Crimes on a cut line come back
from both halves, so results are merged by crime ``id``; crimes from a cut are also checked against the original
polygon, because clipping a concave polygon leaves zero-width bridges along the cut line.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pandas as pd
import requests

from tasks.collect.sources.police_archive import STREET_COLUMNS
from tasks.shared.http import RETRY_STATUSES, ApiSession, build_session
from tasks.shared.settings import Settings

LatLng = tuple[float, float]
Ring = tuple[LatLng, ...]

# Longest URL the API accepts for a GET; beyond it the same parameters go in a form-encoded POST body.
MAX_URL_LENGTH = 4094
# More crimes than this in one area and month and the API answers 503 instead of data.
MAX_CRIMES_PER_QUERY = 10_000
# 20 halvings shrink a county-sized box to a few metres: deeper means one location holds too many crimes to split.
MAX_SPLIT_DEPTH = 20
# A 503 is the API's "too many crimes" answer for crimes-street: splitting, not retrying, is the cure.
STREET_RETRY_STATUSES = RETRY_STATUSES - {503}

# Category slug -> archive "Crime type", from the API's own /crime-categories answer (c. 2015, recorded in
# tests/fixtures/police-api-crime-categories.json); the names are the archive CSV's Crime type values.
CRIME_TYPES: dict[str, str] = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences",
    "other-crime": "Other crime",
}
BTP = "British Transport Police"


class PoliceApiError(RuntimeError):
    """The API gave an answer we cannot use (after retries), named with the call that got it."""


@dataclass(frozen=True)
class Polygon:
    """An area as the API takes it: one outer ring of (lat, lng) points; crimes inside holes are dropped afterwards."""

    outer: Ring
    holes: tuple[Ring, ...] = ()

    def __post_init__(self) -> None:
        if len(self.outer) < 3:
            raise ValueError("a polygon needs at least 3 points")
        for lat, lng in (point for ring in (self.outer, *self.holes) for point in ring):
            if not (-90 <= lat <= 90 and -180 <= lng <= 180):
                raise ValueError(f"({lat}, {lng}) is not a (latitude, longitude) point")

    @classmethod
    def of(cls, points: Iterable[Sequence[float]], holes: Iterable[Iterable[Sequence[float]]] = ()) -> Polygon:
        """A polygon from [lat, lng] pairs; a closing point equal to the first is dropped (the API closes rings)."""
        return cls(outer=_open_ring(points), holes=tuple(_open_ring(hole) for hole in holes))


def _open_ring(points: Iterable[Sequence[float]]) -> Ring:
    ring = tuple((float(p[0]), float(p[1])) for p in points)
    return ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring


@dataclass(frozen=True)
class RawResponse:
    """One HTTP answer exactly as received, for the raw store: what was asked and the bytes that came back."""

    method: str
    url: str
    body: str | None
    status: int
    content: bytes = field(repr=False)
    fetched_at: dt.datetime


@dataclass(frozen=True)
class Fetched:
    """Parsed JSON of one call plus its raw answer."""

    data: Any
    response: RawResponse


@dataclass
class StreetCrimes:
    """One area-month of street crimes: merged crimes and every raw answer they were parsed from."""

    category: str
    month: str
    crimes: list[dict]
    responses: list[RawResponse]
    requests_made: int = 0
    splits: int = 0
    duplicates_removed: int = 0
    outside_removed: int = 0


def format_poly(ring: Ring) -> str:
    """The API's ``poly`` value, ``lat,lng:lat,lng:...``; repr keeps every digit so both halves of a cut share it."""
    return ":".join(f"{lat!r},{lng!r}" for lat, lng in ring)


def point_in_ring(lat: float, lng: float, ring: Ring) -> bool:
    """Even-odd test with the boundary counted as inside (a crime on the edge belongs to the area)."""
    if on_boundary(lat, lng, ring):
        return True
    inside = False
    for index in range(len(ring)):
        (lat1, lng1), (lat2, lng2) = ring[index - 1], ring[index]
        if (lat1 > lat) != (lat2 > lat) and lng < lng1 + (lat - lat1) * (lng2 - lng1) / (lat2 - lat1):
            inside = not inside
    return inside


def on_boundary(lat: float, lng: float, ring: Ring) -> bool:
    """The point lies on one of the ring's edges (exactly: cuts put their vertices exactly on the line)."""
    for index in range(len(ring)):
        (lat1, lng1), (lat2, lng2) = ring[index - 1], ring[index]
        cross = (lng2 - lng1) * (lat - lat1) - (lat2 - lat1) * (lng - lng1)
        if cross == 0 and min(lng1, lng2) <= lng <= max(lng1, lng2) and min(lat1, lat2) <= lat <= max(lat1, lat2):
            return True
    return False


def in_hole(lat: float, lng: float, polygon: Polygon) -> bool:
    """Strictly inside one of the polygon's holes (a hole's edge is the polygon's edge, so it stays in)."""
    return any(point_in_ring(lat, lng, hole) and not on_boundary(lat, lng, hole) for hole in polygon.holes)


def clip_ring(ring: Ring, axis: int, value: float, keep_below: bool) -> Ring:
    """Sutherland-Hodgman against one axis-aligned half-plane (axis 0 = latitude, 1 = longitude).

    Vertices created on the cut take exactly ``value`` on the cut axis, so the two halves share the cut line bit
    for bit and no point can fall between them."""

    def inside(point: LatLng) -> bool:
        return point[axis] <= value if keep_below else point[axis] >= value

    def crossing(start: LatLng, end: LatLng) -> LatLng:
        fraction = (value - start[axis]) / (end[axis] - start[axis])
        other = start[1 - axis] + fraction * (end[1 - axis] - start[1 - axis])
        return (value, other) if axis == 0 else (other, value)

    clipped: list[LatLng] = []
    for index, current in enumerate(ring):
        previous = ring[index - 1]
        if inside(current):
            if not inside(previous):
                clipped.append(crossing(previous, current))
            clipped.append(current)
        elif inside(previous):
            clipped.append(crossing(previous, current))
    # consecutive duplicates (a vertex on the cut line) add nothing and would make zero-length edges
    deduped = [point for index, point in enumerate(clipped) if point != clipped[index - 1]] if clipped else []
    return tuple(deduped)


def _area(ring: Ring) -> float:
    return abs(sum(a[1] * b[0] - b[1] * a[0] for a, b in zip(ring, ring[1:] + ring[:1], strict=True))) / 2


def split_ring(ring: Ring) -> list[Ring]:
    """Cut a ring in two across the longer side of its bounding box (longitude scaled by cos(latitude))."""
    lats = [p[0] for p in ring]
    lngs = [p[1] for p in ring]
    lat_span = max(lats) - min(lats)
    lng_span = (max(lngs) - min(lngs)) * math.cos(math.radians((max(lats) + min(lats)) / 2))
    axis = 0 if lat_span >= lng_span else 1
    low, high = (min(lats), max(lats)) if axis == 0 else (min(lngs), max(lngs))
    middle = (low + high) / 2
    if not low < middle < high:
        raise PoliceApiError("the area cannot be split any further: one location holds more crimes than the API serves")
    halves = [clip_ring(ring, axis, middle, keep_below=True), clip_ring(ring, axis, middle, keep_below=False)]
    return [half for half in halves if len(half) >= 3 and _area(half) > 0]


def month_label(month: str | dt.date) -> str:
    """'YYYY-MM' from a date or a 'YYYY-MM' string (checked)."""
    if isinstance(month, dt.date):
        return month.strftime("%Y-%m")
    dt.datetime.strptime(month, "%Y-%m")
    return month


def merge_crimes(batches: Iterable[list[dict]], polygon: Polygon, *, was_split: bool) -> tuple[list[dict], int, int]:
    """One list per area: each crime ``id`` once, nothing inside a hole, and after a split only crimes inside the
    original polygon (clipping leaves zero-width bridges along the cut that can pick up crimes outside it).

    Returns the crimes, the number of duplicates removed and the number removed as outside the area."""
    seen: set[Any] = set()
    merged: list[dict] = []
    duplicates = outside = 0
    for batch in batches:
        for crime in batch:
            key = crime.get("id")
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            location = crime.get("location")
            if location and (was_split or polygon.holes):
                lat, lng = float(location["latitude"]), float(location["longitude"])
                # Unsplit answers are the API's own reading of our outer ring: only holes are ours to apply.
                if (was_split and not point_in_ring(lat, lng, polygon.outer)) or in_hole(lat, lng, polygon):
                    outside += 1
                    continue
            merged.append(crime)
    return merged, duplicates, outside


def parse_json_list(response: RawResponse) -> list[dict]:
    """The crimes of one raw answer; anything but a JSON list is refused with the call that returned it."""
    try:
        data = json.loads(response.content)
    except ValueError as exc:
        raise PoliceApiError(f"{response.method} {response.url}: answer is not JSON ({exc})") from exc
    if not isinstance(data, list):
        raise PoliceApiError(f"{response.method} {response.url}: expected a JSON list, got {type(data).__name__}")
    return data


class PoliceApiClient:
    """data.police.uk calls over the shared, rate-limited session."""

    def __init__(self, session: ApiSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"

    @classmethod
    def from_settings(cls, settings: Settings) -> PoliceApiClient:
        """A client on the process-wide factory's session, pointed at the configured API."""
        return cls(build_session(settings), settings.police_api_url)

    def _call(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        post_if_long: bool = False,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
    ) -> requests.Response:
        url = urljoin(self.base_url, path)
        prepared_url = requests.Request("GET", url, params=dict(params)).prepare().url or url
        if post_if_long and len(prepared_url) > MAX_URL_LENGTH:
            return self.session.request("POST", url, data=dict(params), retry_statuses=retry_statuses)
        return self.session.request("GET", url, params=dict(params), retry_statuses=retry_statuses)

    @staticmethod
    def _raw(response: requests.Response) -> RawResponse:
        body = response.request.body
        return RawResponse(
            method=response.request.method or "GET",
            url=response.url,
            body=body.decode() if isinstance(body, bytes) else body,
            status=response.status_code,
            content=response.content,
            fetched_at=dt.datetime.now(dt.UTC),
        )

    def _get_json(self, path: str, params: Mapping[str, str] | None = None) -> Fetched:
        response = self._call(path, params or {})
        if response.status_code != 200:
            raise PoliceApiError(f"GET {response.url} answered {response.status_code}")
        raw = self._raw(response)
        try:
            return Fetched(data=json.loads(raw.content), response=raw)
        except ValueError as exc:
            raise PoliceApiError(f"GET {raw.url}: answer is not JSON ({exc})") from exc

    def crime_categories(self, month: str | None = None) -> Fetched:
        """The API's category slugs and names (``[{"url": ..., "name": ...}]``)."""
        return self._get_json("crime-categories", {"date": month_label(month)} if month else None)

    def crime_last_updated(self) -> Fetched:
        """When street-level data was last refreshed (``{"date": "YYYY-MM-DD"}``)."""
        return self._get_json("crime-last-updated")

    def crimes_street_dates(self) -> Fetched:
        """Which months the API holds, newest first (``[{"date": "YYYY-MM", "stop-and-search": [...]}]``)."""
        return self._get_json("crimes-street-dates")

    def crimes_no_location(self, category: str, force: str, month: str | dt.date) -> Fetched:
        """A force's crimes of one month that could not be mapped to a location."""
        return self._get_json("crimes-no-location", {"category": category, "force": force, "date": month_label(month)})

    def crimes_at_point(self, category: str, lat: float, lng: float, month: str | dt.date) -> Fetched:
        """Street crimes within a mile of a point (the API's other area form)."""
        params = {"lat": repr(lat), "lng": repr(lng), "date": month_label(month)}
        return self._get_json(f"crimes-street/{category}", params)

    def crimes_street(self, category: str, polygon: Polygon | Sequence[Polygon], month: str | dt.date) -> StreetCrimes:
        """Every street crime of one category and month inside the area, split as often as the API needs."""
        label = month_label(month)
        polygons = [polygon] if isinstance(polygon, Polygon) else list(polygon)
        result = StreetCrimes(category=category, month=label, crimes=[], responses=[])
        parts: list[list[dict]] = []
        for part in polygons:
            leaves: list[list[dict]] = []
            splits_before = result.splits
            self._fetch_ring(category, part.outer, label, 0, result, leaves)
            kept, duplicates, outside = merge_crimes(leaves, part, was_split=result.splits > splits_before)
            result.duplicates_removed += duplicates
            result.outside_removed += outside
            parts.append(kept)
        # Parts of a multipolygon can share an edge, and a crime on it comes back from both.
        seen: set[Any] = set()
        for crime in (crime for part in parts for crime in part):
            if crime.get("id") in seen:
                result.duplicates_removed += 1
            else:
                seen.add(crime.get("id"))
                result.crimes.append(crime)
        return result

    def _fetch_ring(
        self, category: str, ring: Ring, month: str, depth: int, result: StreetCrimes, batches: list[list[dict]]
    ) -> None:
        response = self._call(
            f"crimes-street/{category}",
            {"poly": format_poly(ring), "date": month},
            post_if_long=True,
            retry_statuses=STREET_RETRY_STATUSES,
        )
        result.requests_made += 1
        if response.status_code == 503:
            response.close()
            if depth >= MAX_SPLIT_DEPTH:
                raise PoliceApiError(f"crimes-street/{category} {month}: still over the limit after {depth} splits")
            result.splits += 1
            for half in split_ring(ring):
                self._fetch_ring(category, half, month, depth + 1, result, batches)
            return
        if response.status_code != 200:
            raise PoliceApiError(f"{response.request.method} {response.url} answered {response.status_code}")
        raw = self._raw(response)
        result.responses.append(raw)
        batches.append(parse_json_list(raw))

    def fetch_area_months(
        self,
        polygon: Polygon | Sequence[Polygon],
        months: Iterable[str | dt.date],
        category: str = "all-crime",
        max_workers: int = 8,
    ) -> dict[str, StreetCrimes]:
        """Street crimes of the area for several months at once; all threads share the host's rate limit."""
        labels = list(dict.fromkeys(month_label(m) for m in months))
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="police-api") as pool:
            results = pool.map(lambda month: self.crimes_street(category, polygon, month), labels)
            return dict(zip(labels, results, strict=True))


def months_available(dates: Fetched) -> list[str]:
    """The 'YYYY-MM' months of a crimes-street-dates answer, oldest first."""
    return sorted(entry["date"] for entry in dates.data)


def polygon_from_config(source: Sequence[Sequence[float]] | str | Path | Mapping[str, Any]) -> list[Polygon]:
    """The partnership's area: a list of [lat, lng] points, or a GeoJSON file / object (Polygon or MultiPolygon,
    Feature or FeatureCollection; GeoJSON points are [lng, lat])."""
    if isinstance(source, (str, Path)):
        return polygon_from_config(json.loads(Path(source).read_text(encoding="utf-8")))
    if isinstance(source, Mapping):
        return _geojson_polygons(source)
    return [Polygon.of(source)]


def _geojson_polygons(obj: Mapping[str, Any]) -> list[Polygon]:
    kind = obj.get("type")
    if kind == "FeatureCollection":
        return [polygon for feature in obj.get("features", []) for polygon in _geojson_polygons(feature)]
    if kind == "Feature":
        return _geojson_polygons(obj["geometry"])
    if kind == "Polygon":
        return [_geojson_polygon(obj["coordinates"])]
    if kind == "MultiPolygon":
        return [_geojson_polygon(rings) for rings in obj["coordinates"]]
    raise ValueError(f"GeoJSON type {kind!r} is not an area (need Polygon or MultiPolygon)")


def _geojson_polygon(rings: Sequence[Sequence[Sequence[float]]]) -> Polygon:
    def swap(ring: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
        return [(float(point[1]), float(point[0])) for point in ring]

    return Polygon.of(swap(rings[0]), holes=[swap(hole) for hole in rings[1:]])


def street_crimes_to_archive_frame(
    crimes: Iterable[Mapping[str, Any]],
    categories: Iterable[Mapping[str, str]] | None = None,
    force_name: str = "",
) -> pd.DataFrame:
    """API street crimes as rows of the monthly archive's street CSV (all text), so one pipeline reads both.

    The API gives no LSOA, so LSOA code/name stay empty and latitude/longitude are kept; ``force_name`` fills
    Reported by / Falls within (the API does not say which force), except for British Transport Police crimes."""
    names = dict(CRIME_TYPES)
    if categories is not None:
        names.update({c["url"]: c["name"] for c in categories if c["url"] != "all-crime"})
    rows = []
    for crime in crimes:
        slug = crime["category"]
        if slug not in names:
            raise ValueError(f"crime {crime.get('id')}: unknown category {slug!r}; pass the API's crime-categories")
        location = crime.get("location") or {}
        street = location.get("street") or {}
        outcome = crime.get("outcome_status") or {}
        reporter = BTP if crime.get("location_type") == "BTP" else force_name
        rows.append(
            {
                "Crime ID": crime.get("persistent_id") or "",
                "Month": crime.get("month") or "",
                "Reported by": reporter,
                "Falls within": reporter,
                "Longitude": str(location.get("longitude") or ""),
                "Latitude": str(location.get("latitude") or ""),
                "Location": street.get("name") or "No Location",
                "LSOA code": "",
                "LSOA name": "",
                "Crime type": names[slug],
                "Last outcome category": outcome.get("category") or "",
                "Context": crime.get("context") or "",
            }
        )
    return pd.DataFrame(rows, columns=STREET_COLUMNS, dtype=str)
