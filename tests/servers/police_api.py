"""A local data.police.uk: its JSON shapes, its 15 req/s burst-30 limit (429 beyond), its 503 for areas with more
than 10,000 crimes, its 4,094-character URL limit (so long polygons must be POSTed), plus seeded random 500s and
scripted faults. Serves the real recorded answers for /api/crime-categories and the recorded mozfest query."""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tests.servers import FakeServer, Reply, Request, TokenBucket

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CATEGORIES_FILE = FIXTURES / "police-api-crime-categories.json"
MOZFEST_FILE = FIXTURES / "police-api-mozfest-all-crime-2014-08.json"
# The query whose real answer is recorded in MOZFEST_FILE (see tests/fixtures/SOURCES.md).
MOZFEST_QUERY = ("all-crime", "51.5017355", "0.0055388", "2014-08")
MAX_URL_LENGTH = 4094
MILE_METRES = 1609.344

# Shares of categories in the real mozfest answer (94 ASB, 71 violent crime, ...), used to weight synthetic crimes.
CATEGORY_WEIGHTS = {
    "anti-social-behaviour": 94,
    "violent-crime": 71,
    "other-theft": 49,
    "vehicle-crime": 43,
    "burglary": 23,
    "criminal-damage-arson": 21,
    "theft-from-the-person": 19,
    "public-order": 12,
    "bicycle-theft": 11,
    "robbery": 10,
    "shoplifting": 10,
    "drugs": 9,
    "other-crime": 3,
    "possession-of-weapons": 1,
}
OUTCOMES = [
    "Investigation complete; no suspect identified",
    "Unable to prosecute suspect",
    "Under investigation",
    "Offender given a caution",
    "Local resolution",
    "Awaiting court outcome",
]
STREETS = ["High Street", "Station Road", "Church Lane", "Park/open Space", "Supermarket", "Parking Area", "Mill Road"]


def api_json(value: Any) -> str:
    """JSON the way the API writes it: compact, ASCII, with '/' escaped as '\\/'."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


def synthetic_street_crimes(
    count: int,
    months: Sequence[str],
    *,
    bbox: tuple[float, float, float, float] = (51.25, 51.75, -0.25, 0.25),
    grid: float = 0.005,
    seed: int = 1,
    first_id: int = 100_000_000,
) -> list[dict]:
    """Deterministic street crimes in the API's shape, on anonymised "snap points" of a regular grid (as the real
    data is), so many crimes share a location and some sit exactly on the lines a polygon split will cut."""
    rng = random.Random(seed)
    lat0, lat1, lng0, lng1 = bbox
    lats = [f"{lat0 + i * grid:.6f}" for i in range(round((lat1 - lat0) / grid) + 1)]
    lngs = [f"{lng0 + j * grid:.6f}" for j in range(round((lng1 - lng0) / grid) + 1)]
    slugs, weights = zip(*CATEGORY_WEIGHTS.items(), strict=True)
    crimes = []
    for index in range(count):
        lat_index, lng_index = rng.randrange(len(lats)), rng.randrange(len(lngs))
        category = rng.choices(slugs, weights)[0]
        month = months[index % len(months)]
        btp = rng.random() < 0.05
        crime_id = first_id + index
        asb = category == "anti-social-behaviour"
        outcome = None if asb or rng.random() < 0.25 else {"category": rng.choice(OUTCOMES), "date": month}
        crimes.append(
            {
                "category": category,
                "location_type": "BTP" if btp else "Force",
                "location": {
                    "latitude": lats[lat_index],
                    "street": {
                        "id": 900_000 + lat_index * len(lngs) + lng_index,
                        "name": f"On or near {STREETS[(lat_index + lng_index) % len(STREETS)]}",
                    },
                    "longitude": lngs[lng_index],
                },
                "context": "",
                "outcome_status": outcome,
                "persistent_id": "" if asb else hashlib.sha256(str(crime_id).encode()).hexdigest(),
                "id": crime_id,
                "location_subtype": "LU STATION" if btp else "",
                "month": month,
            }
        )
    return crimes


def points_in_ring(lat: np.ndarray, lng: np.ndarray, ring: Sequence[tuple[float, float]]) -> np.ndarray:
    """Even-odd point-in-polygon over arrays, with points on an edge counted as inside."""
    inside = np.zeros(lat.shape, dtype=bool)
    on_edge = np.zeros(lat.shape, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for index in range(len(ring)):
            lat1, lng1 = ring[index - 1]
            lat2, lng2 = ring[index]
            cross = (lng2 - lng1) * (lat - lat1) - (lat2 - lat1) * (lng - lng1)
            on_edge |= (
                (cross == 0)
                & (lng >= min(lng1, lng2))
                & (lng <= max(lng1, lng2))
                & (lat >= min(lat1, lat2))
                & (lat <= max(lat1, lat2))
            )
            spans = (lat1 > lat) != (lat2 > lat)
            crossing_lng = lng1 + (lat - lat1) * (lng2 - lng1) / (lat2 - lat1)
            inside ^= spans & (lng < crossing_lng)
    return inside | on_edge


def parse_poly(text: str) -> list[tuple[float, float]]:
    points = []
    for pair in text.split(":"):
        lat, lng = pair.split(",")
        points.append((float(lat), float(lng)))
    if len(points) < 3:
        raise ValueError("a polygon needs 3 points")
    return points


class PoliceApiFake(FakeServer):
    """data.police.uk on 127.0.0.1 over a given list of street crimes."""

    def __init__(
        self,
        crimes: Iterable[dict] = (),
        *,
        rate: float = 15,
        burst: int = 30,
        max_crimes: int = 10_000,
        error_rate: float = 0.0,
        seed: int = 0,
        retry_after: int | None = None,
        stall_seconds: float = 2.0,
        no_location: Iterable[dict] = (),
        force: str = "metropolitan",
    ) -> None:
        super().__init__()
        self.crimes = list(crimes)
        self.bucket = TokenBucket(rate, burst)
        self.max_crimes = max_crimes
        self.error_rate = error_rate
        self.retry_after = retry_after
        self.stall_seconds = stall_seconds
        self.no_location = list(no_location)
        self.force = force
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._lat = np.array([float(c["location"]["latitude"]) for c in self.crimes])
        self._lng = np.array([float(c["location"]["longitude"]) for c in self.crimes])
        self._month = np.array([c["month"] for c in self.crimes], dtype=object)
        self._category = np.array([c["category"] for c in self.crimes], dtype=object)
        self._json = np.array([api_json(c) for c in self.crimes], dtype=object)
        self.months = sorted({c["month"] for c in self.crimes} | {c["month"] for c in self.no_location}, reverse=True)
        self.categories_bytes = CATEGORIES_FILE.read_bytes()
        self.slugs = {entry["url"] for entry in json.loads(self.categories_bytes)}

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/"

    # -- ground truth -------------------------------------------------------------------------------------------
    def _mask(self, ring: Sequence[tuple[float, float]], month: str, category: str) -> np.ndarray:
        mask = self._month == month
        if category != "all-crime":
            mask &= self._category == category
        if not len(self.crimes):
            return mask
        return mask & points_in_ring(self._lat, self._lng, ring)

    def ids_in(self, ring: Sequence[tuple[float, float]], month: str, category: str = "all-crime") -> set[int]:
        """The ids the real API would hold for this polygon (what a split fetch must reproduce exactly)."""
        return {c["id"] for c, keep in zip(self.crimes, self._mask(ring, month, category), strict=True) if keep}

    # -- the API ------------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> tuple[Reply, dict[str, Any]]:
        if request.method == "GET" and len(request.target) > MAX_URL_LENGTH:
            return Reply(414, b"", "text/html"), {}
        if not self.bucket.take(request.arrived):
            headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
            return Reply(429, b"", "text/html", headers), {}
        fault = self.next_fault()  # scripted faults come after the rate limit, as real server errors would
        with self._rng_lock:
            random_error = self.error_rate > 0 and self._rng.random() < self.error_rate
        if fault == "stall":
            reply, info = self.route(request)
            reply.delay = self.stall_seconds
            return reply, {**info, "stalled": True}
        if fault is not None:
            headers = {"Retry-After": str(self.retry_after)} if fault == 429 and self.retry_after is not None else {}
            return Reply(int(fault), b"", "text/html", headers), {"injected": True}
        if random_error:
            return Reply(500, b"", "text/html"), {"injected": True}
        return self.route(request)

    def route(self, request: Request) -> tuple[Reply, dict[str, Any]]:
        path, params = request.path, request.params
        if path == "/api/crime-categories":
            return Reply(200, self.categories_bytes), {}
        if path == "/api/crime-last-updated":
            latest = self.months[0] if self.months else "2014-08"
            return Reply(200, api_json({"date": f"{latest}-01"}).encode()), {}
        if path == "/api/crimes-street-dates":
            body = [{"date": month, "stop-and-search": [self.force]} for month in self.months]
            return Reply(200, api_json(body).encode()), {}
        if path == "/api/crimes-no-location":
            return self._no_location(params)
        if path.startswith("/api/crimes-street/"):
            return self._street(path.rsplit("/", 1)[1], params)
        return Reply(404, b"", "text/html"), {}

    def _no_location(self, params: dict[str, str]) -> tuple[Reply, dict[str, Any]]:
        category, force, month = params.get("category", "all-crime"), params.get("force"), params.get("date")
        if not force or category not in self.slugs:
            return Reply(400 if not force else 404, b"", "text/html"), {}
        month = month or (self.months[0] if self.months else "")
        wanted = [
            c
            for c in self.no_location
            if force == self.force and c["month"] == month and category in ("all-crime", c["category"])
        ]
        return Reply(200, api_json(wanted).encode()), {"crimes": len(wanted)}

    def _street(self, category: str, params: dict[str, str]) -> tuple[Reply, dict[str, Any]]:
        if category not in self.slugs:
            return Reply(404, b"", "text/html"), {}
        month = params.get("date") or (self.months[0] if self.months else "")
        if "poly" in params:
            try:
                ring = parse_poly(params["poly"])
            except ValueError:
                return Reply(400, b"", "text/html"), {}
            mask = self._mask(ring, month, category)
        elif "lat" in params and "lng" in params:
            if (category, params["lat"], params["lng"], month) == MOZFEST_QUERY:
                return Reply(200, MOZFEST_FILE.read_bytes()), {"crimes": 376, "recorded": True}
            mask = self._within_a_mile(float(params["lat"]), float(params["lng"])) & (self._month == month)
            if category != "all-crime":
                mask &= self._category == category
        else:
            return Reply(400, b"", "text/html"), {}
        found = int(mask.sum())
        if found > self.max_crimes:
            # the real API's refusal of a too-large area: 503 with an empty body
            return Reply(503, b"", "text/html"), {"crimes": found, "refused": True}
        body = ("[" + ",".join(self._json[mask]) + "]").encode()
        return Reply(200, body), {"crimes": found, "ids": self._ids(mask)}

    def _ids(self, mask: np.ndarray) -> list[int]:
        return [self.crimes[i]["id"] for i in np.flatnonzero(mask)]

    def _within_a_mile(self, lat: float, lng: float) -> np.ndarray:
        phi1, phi2 = math.radians(lat), np.radians(self._lat)
        dphi, dlmb = phi2 - phi1, np.radians(self._lng - lng)
        a = np.sin(dphi / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
        return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a)) <= MILE_METRES

    # -- what the clients did -----------------------------------------------------------------------------------
    def served_ids(self) -> Counter[int]:
        """How often each crime id was sent in a 200 answer (a crime on a split line is sent twice)."""
        served: Counter[int] = Counter()
        with self._log_lock:
            for entry in self.log:
                if entry.status == 200:
                    served.update(entry.info.get("ids", []))
        return served


def no_location_crimes(count: int, month: str, *, seed: int = 2, first_id: int = 200_000_000) -> list[dict]:
    """Crimes the force could not place, in the API's crimes-no-location shape (location null)."""
    rng = random.Random(seed)
    crime_weights = {slug: weight for slug, weight in CATEGORY_WEIGHTS.items() if slug != "anti-social-behaviour"}
    crimes = []
    for index in range(count):
        category = rng.choices(list(crime_weights), list(crime_weights.values()))[0]
        crimes.append(
            {
                "category": category,
                "location_type": None,
                "location": None,
                "context": "",
                "outcome_status": {"category": rng.choice(OUTCOMES), "date": month},
                "persistent_id": hashlib.sha256(str(first_id + index).encode()).hexdigest(),
                "id": first_id + index,
                "location_subtype": "",
                "month": month,
            }
        )
    return crimes


def months_back(last: str, count: int) -> list[str]:
    """``count`` consecutive 'YYYY-MM' months ending with ``last``, oldest first."""
    year, month = (int(part) for part in last.split("-"))
    labels = []
    for _ in range(count):
        labels.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return labels[::-1]


__all__ = ["PoliceApiFake", "months_back", "no_location_crimes", "synthetic_street_crimes"]
