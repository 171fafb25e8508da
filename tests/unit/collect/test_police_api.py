"""The data.police.uk client against a local API: the real recorded answers, 503 splits checked against the
server's ground truth, POST for long polygons, concurrent months within the 15/s limit."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.collect.sources import police_archive
from tasks.collect.sources.police_api import (
    MAX_URL_LENGTH,
    PoliceApiClient,
    PoliceApiError,
    Polygon,
    clip_ring,
    format_poly,
    merge_crimes,
    months_available,
    parse_json_list,
    polygon_from_config,
    split_ring,
    street_crimes_to_archive_frame,
)
from tasks.shared.http import build_session
from tasks.shared.settings import Settings
from tests.servers.police_api import (
    MOZFEST_FILE,
    PoliceApiFake,
    months_back,
    no_location_crimes,
    synthetic_street_crimes,
)

MONTH = "2024-01"
# A U shape opening north: split across latitude 51.5, its upper half is two prongs joined by a zero-width
# bridge along the cut, where the synthetic grid has crimes that lie outside the U.
U_SHAPE = Polygon.of(
    [(51.25, -0.25), (51.75, -0.25), (51.75, -0.1), (51.4, -0.1), (51.4, 0.1), (51.75, 0.1), (51.75, 0.25), (51.25, 0.25)]
)
SOURCES_COUNTS = {
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


def client_for(fake: PoliceApiFake, **overrides: object) -> PoliceApiClient:
    settings = Settings(police_api_url=fake.base_url, **overrides)
    return PoliceApiClient(build_session(settings, backoff_base_seconds=0.01), settings.police_api_url)


@pytest.fixture
def mozfest() -> Iterator[PoliceApiFake]:
    with PoliceApiFake() as fake:
        yield fake


def test_recorded_real_answer_is_parsed_exactly(mozfest: PoliceApiFake) -> None:
    fetched = client_for(mozfest).crimes_at_point("all-crime", 51.5017355, 0.0055388, "2014-08")
    assert fetched.response.content == MOZFEST_FILE.read_bytes()  # raw bytes kept unchanged for the raw store
    crimes = fetched.data
    assert len(crimes) == 376
    assert Counter(c["category"] for c in crimes) == SOURCES_COUNTS
    assert sum(1 for c in crimes if c["outcome_status"]) == 282
    assert sum(1 for c in crimes if c["persistent_id"]) == 268
    assert crimes[1]["location"]["street"]["name"] == "On or near Park/open Space"  # the API's \/ escaping decoded
    assert mozfest.log[0].request.target.endswith("lat=51.5017355&lng=0.0055388&date=2014-08")


def test_real_answer_becomes_archive_rows(mozfest: PoliceApiFake) -> None:
    client = client_for(mozfest)
    categories = client.crime_categories()
    assert len(categories.data) == 15 and {"url": "violent-crime", "name": "Violence and sexual offences"} in categories.data
    crimes = client.crimes_at_point("all-crime", 51.5017355, 0.0055388, "2014-08").data
    frame = street_crimes_to_archive_frame(crimes, categories.data, force_name="Metropolitan Police Service")
    assert list(frame.columns) == police_archive.STREET_COLUMNS
    assert len(frame) == 376
    counts = frame["Crime type"].value_counts().to_dict()
    assert counts["Violence and sexual offences"] == 71 and counts["Anti-social behaviour"] == 94
    assert counts["Possession of weapons"] == 1
    assert (frame["LSOA code"] == "").all() and (frame["Latitude"] != "").all()
    assert (frame["Crime ID"] != "").sum() == 268
    assert frame["Reported by"].value_counts().to_dict() == {"Metropolitan Police Service": 357, "British Transport Police": 19}
    first = frame.iloc[0]
    assert (first["Longitude"], first["Latitude"], first["Location"]) == ("0.017994", "51.511663", "On or near Gorse Close")
    assert (frame["Last outcome category"] != "").sum() == 282
    # same columns as an archive force file, so the archive's no-location accounting reads it
    split = police_archive.split_by_area(frame, set(), {})
    assert len(split.no_location) == 376


def test_unknown_category_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown category 'new-thing'"):
        street_crimes_to_archive_frame([{"id": 1, "category": "new-thing"}])


def test_503_splits_until_each_part_fits_and_nothing_is_lost_or_doubled(reliability) -> None:
    reliability.fault("HTTP 503 for a polygon over 1,000 crimes", injected="local data.police.uk refuses large areas",
                      where="PoliceApiClient.crimes_street (splits the polygon and merges)")
    crimes = synthetic_street_crimes(3_000, [MONTH])
    with PoliceApiFake(crimes, max_crimes=1_000) as fake:
        result = client_for(fake).crimes_street("all-crime", U_SHAPE, MONTH)
        truth = fake.ids_in(U_SHAPE.outer, MONTH)
        served = fake.served_ids()
        statuses = fake.statuses()
    ids = [crime["id"] for crime in result.crimes]
    # kept: every crime the server holds inside the U, once (more is doubled, fewer lost)
    reliability.kept("crimes inside the polygon", len(ids), len(truth))
    assert len(ids) == len(set(ids))  # no crime twice
    assert set(ids) == truth  # none lost, none from outside the U
    reliability.check("503 answers (one per split)", statuses.count(503), result.splits)
    reliability.outcome("retried")
    reliability.outcome("kept")
    assert statuses.count(503) == result.splits >= 2 and statuses.count(200) == len(result.responses)
    assert result.requests_made == len(statuses)
    # the case the merge exists for: crimes on a cut line were sent by both halves ...
    assert result.duplicates_removed == sum(n - 1 for n in served.values() if n > 1) > 0
    # ... and the bridge the clipped U leaves along the cut picked up crimes outside it
    assert result.outside_removed > 0
    assert sum(served.values()) == len(ids) + result.duplicates_removed + result.outside_removed


def test_full_scale_split_of_25000_crimes_against_the_10000_limit() -> None:
    crimes = synthetic_street_crimes(25_000, [MONTH], seed=5)
    square = Polygon.of([(51.25, -0.25), (51.75, -0.25), (51.75, 0.25), (51.25, 0.25)])
    with PoliceApiFake(crimes) as fake:
        result = client_for(fake).crimes_street("all-crime", square, MONTH)
        truth = fake.ids_in(square.outer, MONTH)
    assert len(truth) == 25_000
    assert sorted(c["id"] for c in result.crimes) == sorted(truth)
    assert all(len(parse_json_list(r)) <= 10_000 for r in result.responses)


def test_raw_answers_reproduce_the_same_crimes() -> None:
    crimes = synthetic_street_crimes(3_000, [MONTH])
    with PoliceApiFake(crimes, max_crimes=1_000) as fake:
        result = client_for(fake).crimes_street("all-crime", U_SHAPE, MONTH)
    stored = [parse_json_list(raw) for raw in result.responses]  # what a later re-parse of the raw store sees
    again, duplicates, outside = merge_crimes(stored, U_SHAPE, was_split=True)
    assert again == result.crimes
    assert (duplicates, outside) == (result.duplicates_removed, result.outside_removed)


def test_category_filter_and_split_together() -> None:
    crimes = synthetic_street_crimes(4_000, [MONTH], seed=3)
    with PoliceApiFake(crimes, max_crimes=300) as fake:
        result = client_for(fake).crimes_street("violent-crime", U_SHAPE, MONTH)
        truth = fake.ids_in(U_SHAPE.outer, MONTH, "violent-crime")
    assert result.splits >= 1
    assert {c["id"] for c in result.crimes} == truth
    assert {c["category"] for c in result.crimes} == {"violent-crime"}


def circle(lat: float, lng: float, radius: float, points: int) -> Polygon:
    return Polygon.of(
        [(lat + radius * math.sin(2 * math.pi * k / points), lng + radius * math.cos(2 * math.pi * k / points)) for k in range(points)]
    )


def test_long_polygons_are_posted_and_short_ones_use_get() -> None:
    crimes = synthetic_street_crimes(2_000, [MONTH])
    detailed = circle(51.5, 0.0, 0.2, 300)
    assert len(format_poly(detailed.outer)) > MAX_URL_LENGTH
    with PoliceApiFake(crimes) as fake:
        client = client_for(fake)
        long_result = client.crimes_street("all-crime", detailed, MONTH)
        short_result = client.crimes_street("all-crime", U_SHAPE, MONTH)
        methods = [entry.request.method for entry in fake.log]
        assert fake.ids_in(detailed.outer, MONTH) == {c["id"] for c in long_result.crimes}
        assert fake.ids_in(U_SHAPE.outer, MONTH) == {c["id"] for c in short_result.crimes}
        post = fake.log[0].request
        assert "poly" not in post.target and post.params["date"] == MONTH and len(post.params["poly"]) > MAX_URL_LENGTH
        assert long_result.responses[0].method == "POST" and long_result.responses[0].body.startswith("poly=")
    assert methods == ["POST", "GET"]
    assert fake.count(414) == 0


def test_the_fake_refuses_a_get_longer_than_the_api_accepts() -> None:
    with PoliceApiFake(synthetic_street_crimes(10, [MONTH])) as fake:
        session = build_session(Settings(police_api_url=fake.base_url))
        poly = format_poly(circle(51.5, 0.0, 0.2, 300).outer)
        response = session.get(fake.base_url + "crimes-street/all-crime", params={"poly": poly, "date": MONTH})
    assert response.status_code == 414


def test_months_fetched_concurrently_within_the_rate_limit() -> None:
    months = months_back("2024-06", 12)
    crimes = synthetic_street_crimes(6_000, months, seed=9)
    crimes += synthetic_street_crimes(1_500, ["2024-06"], seed=10, first_id=500_000_000)  # one busy month
    with PoliceApiFake(crimes, max_crimes=600, error_rate=0.1, seed=4) as fake:
        client = client_for(fake)
        dates = client.crimes_street_dates()
        available = months_available(dates)
        results = client.fetch_area_months(U_SHAPE, available, max_workers=8)
        truths = {month: fake.ids_in(U_SHAPE.outer, month) for month in months}
        statuses = fake.statuses()
    assert available == months
    assert set(results) == set(months)
    for month in months:
        ids = [c["id"] for c in results[month].crimes]
        assert len(ids) == len(set(ids)) and set(ids) == truths[month], month
    assert results["2024-06"].splits > results["2024-01"].splits
    assert statuses.count(429) == 0  # 8 threads, one shared bucket: never over the limit
    assert statuses.count(500) > 0  # random server errors happened and were retried away


def test_last_updated_and_no_location(mozfest: PoliceApiFake) -> None:
    lost = no_location_crimes(12, MONTH)
    with PoliceApiFake(synthetic_street_crimes(50, [MONTH]), no_location=lost, force="essex") as fake:
        client = client_for(fake)
        assert client.crime_last_updated().data == {"date": f"{MONTH}-01"}
        fetched = client.crimes_no_location("all-crime", "essex", MONTH)
        robbery = client.crimes_no_location("robbery", "essex", MONTH)
    assert [c["id"] for c in fetched.data] == [c["id"] for c in lost]
    assert all(c["location"] is None for c in fetched.data)
    assert {c["category"] for c in robbery.data} <= {"robbery"}
    assert fake.log[1].request.params == {"category": "all-crime", "force": "essex", "date": MONTH}


def test_a_non_json_or_failed_answer_is_an_error(mozfest: PoliceApiFake, reliability) -> None:
    reliability.fault("HTTP 500 on every attempt", injected="local data.police.uk answers 500 twice",
                      where="PoliceApiClient.crimes_street, http_max_attempts=2")
    client = client_for(mozfest, http_max_attempts=2)
    mozfest.inject(500, 500)
    with pytest.raises(PoliceApiError, match="answered 500") as raised:
        client.crimes_street("all-crime", U_SHAPE, MONTH)
    reliability.check("answers served", mozfest.statuses(), [500, 500])
    reliability.message(str(raised.value))
    reliability.outcome("retried")
    reliability.outcome("refused")
    with pytest.raises(PoliceApiError, match="answered 404"):
        client.crimes_street("no-such-category", U_SHAPE, MONTH)


# -- geometry ----------------------------------------------------------------------------------------------------


def test_clip_keeps_the_cut_line_exact_and_the_halves_cover_the_ring() -> None:
    square = ((0.0, 0.0), (0.0, 2.0), (2.0, 2.0), (2.0, 0.0))
    lower = clip_ring(square, 0, 1.0, keep_below=True)
    assert len(lower) == 4 and set(lower) == {(0.0, 0.0), (0.0, 2.0), (1.0, 2.0), (1.0, 0.0)}
    east = clip_ring(square, 1, 0.5, keep_below=False)
    assert len(east) == 4 and set(east) == {(0.0, 0.5), (0.0, 2.0), (2.0, 2.0), (2.0, 0.5)}
    halves = split_ring(U_SHAPE.outer)
    assert len(halves) == 2
    assert {point[0] for half in halves for point in half} >= {51.5}
    upper = next(half for half in halves if min(p[0] for p in half) == 51.5)
    # the upper half of the U is two prongs joined along the cut: the bridge runs from -0.1 to 0.1
    assert (51.5, -0.1) in upper and (51.5, 0.1) in upper


def test_polygon_from_points_and_geojson(tmp_path: Path) -> None:
    from_points = polygon_from_config([[51.5, -0.1], [51.6, -0.1], [51.6, 0.1], [51.5, -0.1]])
    assert from_points == [Polygon(outer=((51.5, -0.1), (51.6, -0.1), (51.6, 0.1)))]
    geojson = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "A"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[-0.25, 51.25], [0.25, 51.25], [0.25, 51.75], [-0.25, 51.75], [-0.25, 51.25]],
                        [[-0.05, 51.45], [0.05, 51.45], [0.05, 51.55], [-0.05, 51.55], [-0.05, 51.45]],
                    ],
                },
            },
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": [[[[1.0, 52.0], [1.1, 52.0], [1.1, 52.1], [1.0, 52.0]]]],
                },
            },
        ],
    }
    path = tmp_path / "area.geojson"
    path.write_text(json.dumps(geojson))
    polygons = polygon_from_config(path)
    assert len(polygons) == 2
    assert polygons[0].outer[0] == (51.25, -0.25) and len(polygons[0].outer) == 4  # [lng, lat] read as (lat, lng)
    assert len(polygons[0].holes) == 1
    assert polygons[1].outer == ((52.0, 1.0), (52.0, 1.1), (52.1, 1.1))
    with pytest.raises(ValueError, match="not an area"):
        polygon_from_config({"type": "Point", "coordinates": [0, 51]})
    with pytest.raises(ValueError, match="latitude, longitude"):
        polygon_from_config([[95.0, 0.1], [95.0, 0.2], [95.1, 0.2]])


def test_holes_and_multipolygons_against_ground_truth() -> None:
    crimes = synthetic_street_crimes(3_000, [MONTH], seed=11)
    holed = Polygon.of(
        [(51.25, -0.25), (51.75, -0.25), (51.75, 0.25), (51.25, 0.25)],
        holes=[[(51.4, -0.1), (51.6, -0.1), (51.6, 0.1), (51.4, 0.1)]],
    )
    west = Polygon.of([(51.25, -0.25), (51.75, -0.25), (51.75, 0.0), (51.25, 0.0)])
    east = Polygon.of([(51.25, 0.0), (51.75, 0.0), (51.75, 0.25), (51.25, 0.25)])
    with PoliceApiFake(crimes, max_crimes=1_000) as fake:
        client = client_for(fake)
        with_hole = client.crimes_street("all-crime", holed, MONTH)
        two_parts = client.crimes_street("all-crime", [west, east], MONTH)
        outer = fake.ids_in(holed.outer, MONTH)
        hole_inside = fake.ids_in(holed.holes[0], MONTH)
        hole_edge = {
            c["id"]
            for c in crimes
            if c["month"] == MONTH
            and (float(c["location"]["latitude"]) in (51.4, 51.6) and -0.1 <= float(c["location"]["longitude"]) <= 0.1
                 or float(c["location"]["longitude"]) in (-0.1, 0.1) and 51.4 <= float(c["location"]["latitude"]) <= 51.6)
        }
        union = fake.ids_in(west.outer, MONTH) | fake.ids_in(east.outer, MONTH)
    assert {c["id"] for c in with_hole.crimes} == (outer - hole_inside) | hole_edge
    ids = [c["id"] for c in two_parts.crimes]
    assert len(ids) == len(set(ids)) and set(ids) == union
    assert two_parts.duplicates_removed > 0  # crimes on the shared edge came back from both parts
