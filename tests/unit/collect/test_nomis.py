"""The Nomis NM_2002_1 client against a local Nomis that pages at 25,000 rows like the real guest API."""

from __future__ import annotations

import pandas as pd
import pytest

from tasks.collect.sources import nomis, population
from tasks.collect.sources.common import InputFileError
from tasks.shared.http import build_session
from tasks.shared.settings import PROJECT_ROOT, Settings
from tasks.shared.storage.models import OBSERVATION_COLUMNS
from tests.servers.nomis import NomisFake
from tests.servers.nomis import population as expected_population

DEMO = {"E07000069": "Castle Point", "E07000075": "Rochford"}


def session_for(fake: NomisFake):
    settings = Settings(nomis_api_url=fake.base_url)
    return build_session(settings, backoff_base_seconds=0.01), settings.nomis_api_url


def test_the_query_is_the_real_nm_2002_1_single_year_of_age_query() -> None:
    params = nomis.population_query(["E07000069", "E07000075"], [2019, 2020])
    assert params == {
        "geography": "E07000069,E07000075",
        "date": "2019,2020",
        "gender": "0",
        "c_age": "101...191",
        "measures": "20100",
        "select": "date_name,geography_code,geography_name,gender,c_age,c_age_name,measures,obs_value,obs_status,"
        "record_offset,record_count",
    }
    assert nomis.population_query(["TYPE424"], "latest", record_offset=25_000)["RecordOffset"] == "25000"


def test_demo_partnership_in_one_page_becomes_canonical_observations() -> None:
    with NomisFake(DEMO, [2019, 2020, 2021]) as fake:
        session, base_url = session_for(fake)
        pages = nomis.fetch_population_pages(session, base_url, list(DEMO), [2020, 2021])
        target = fake.log[0].request.target
    assert target.startswith("/api/v01/dataset/NM_2002_1.data.csv?geography=E07000069%2CE07000075&date=2020%2C2021")
    assert [(p.record_offset, p.rows, p.record_count) for p in pages] == [(0, 364, 364)]
    observations = nomis.to_population_observations(pages[0].content, "castle-point-rochford", raw_file_id=7)
    assert list(observations.columns) == OBSERVATION_COLUMNS
    assert len(observations) == 2 * 2 * 91
    assert observations["age_band"].iloc[:91].tolist() == [str(a) for a in range(90)] + ["90+"]
    row = observations[(observations["area_code"] == "E07000075") & (observations["age_band"] == "90+")].iloc[-1]
    assert row["period_start"] == pd.Timestamp("2021-06-30").date()
    assert row["value"] == expected_population("E07000075", 2021, 0, 191)
    assert set(observations["sex"]) == {"persons"} and set(observations["period_type"]) == {"mid_year"}


def test_same_rows_as_the_mye2_reader() -> None:
    path = PROJECT_ROOT / "config/partnerships/castle-point-rochford/inputs/population/mid-2020-MYE2-persons.csv"
    from_sheet = population.to_observations(population.parse_mye2(path.read_bytes(), path.name), ["E07000069"], "p", 2020, 1)
    with NomisFake(DEMO, [2020]) as fake:
        session, base_url = session_for(fake)
        [page] = nomis.fetch_population_pages(session, base_url, ["E07000069"], [2020])
    from_api = nomis.to_population_observations(page.content, "p", 1)
    key = [c for c in OBSERVATION_COLUMNS if c != "value"]
    assert from_api[key].to_dict("records") == from_sheet[key].to_dict("records")
    assert from_api["value"].dtype == from_sheet["value"].dtype


def test_a_result_over_25000_rows_is_fetched_in_pages() -> None:
    areas = {f"E0{7000000 + i}": f"District {i}" for i in range(300)}  # 300 x 91 = 27,300 rows
    with NomisFake(areas, [2021]) as fake:
        session, base_url = session_for(fake)
        pages = nomis.fetch_population_pages(session, base_url, ["TYPE424"], [2021])
        offsets = [entry.request.params.get("RecordOffset") for entry in fake.log]
    assert [(p.record_offset, p.rows, p.record_count) for p in pages] == [(0, 25_000, 27_300), (25_000, 2_300, 27_300)]
    assert offsets == [None, "25000"]
    frames = [nomis.to_population_observations(p.content, "p", raw_file_id=i) for i, p in enumerate(pages)]
    combined = pd.concat(frames, ignore_index=True)
    assert len(combined) == 27_300
    assert not combined.duplicated(["area_code", "age_band"]).any()
    assert combined["value"].sum() == sum(expected_population(code, 2021, 0, 200) for code in areas)


def test_the_server_decides_the_page_size() -> None:
    with NomisFake(DEMO, [2018, 2019, 2020], row_cap=100) as fake:
        session, base_url = session_for(fake)
        pages = nomis.fetch_population_pages(session, base_url, list(DEMO), [2018, 2019, 2020])
    assert [p.rows for p in pages] == [100] * 5 + [46]
    total = pd.concat([nomis.to_population_observations(p.content, "p", 1) for p in pages])
    assert len(total) == 546 and not total.duplicated(["area_code", "period_start", "age_band"]).any()


def test_full_nomis_columns_are_read_too() -> None:
    with NomisFake(DEMO, [2020]) as fake:
        session, _ = session_for(fake)
        response = session.get(
            fake.base_url + "dataset/NM_2002_1.data.csv",
            params={"geography": "E07000069", "date": "2020", "gender": "0", "c_age": "101...191", "measures": "20100"},
        )
    header = response.text.splitlines()[0]
    assert header.startswith('"DATE","DATE_NAME","DATE_CODE","DATE_TYPE","DATE_TYPECODE","DATE_SORTORDER","GEOGRAPHY"')
    assert header.endswith('"OBS_CONF","OBS_CONF_NAME","URN","RECORD_OFFSET","RECORD_COUNT"')
    observations = nomis.to_population_observations(response.content, "p", 1)
    assert observations["age_band"].tolist()[-1] == "90+" and len(observations) == 91


def test_names_only_and_bad_values_are_handled() -> None:
    names_only = b'"DATE_NAME","GEOGRAPHY_CODE","C_AGE_NAME","OBS_VALUE"\n"2020","E07000069","Age 0",812\n"2020","E07000069","Aged 90+",1202\n'
    observations = nomis.to_population_observations(names_only, "p", 1)
    assert observations["age_band"].tolist() == ["0", "90+"]
    bad = b'"DATE_NAME","GEOGRAPHY_CODE","C_AGE","OBS_VALUE"\n"2020","E07000069",101,\n'
    with pytest.raises(InputFileError, match="row 2, column 'OBS_VALUE'"):
        nomis.to_population_observations(bad, "p", 1)
    all_ages = b'"DATE_NAME","GEOGRAPHY_CODE","C_AGE","OBS_VALUE"\n"2020","E07000069",200,90000\n'
    with pytest.raises(InputFileError, match="c_age 200 is not a single year of age"):
        nomis.to_population_observations(all_ages, "p", 1)


def test_a_failed_page_is_an_error(reliability) -> None:
    reliability.fault("HTTP 500 on every attempt", injected="local Nomis answers 500 six times",
                      where="nomis.fetch_population_pages (default attempts)")
    with NomisFake(DEMO, [2020]) as fake:
        fake.inject(*([500] * 6))
        session, base_url = session_for(fake)
        with pytest.raises(nomis.NomisApiError, match="answered 500") as raised:
            nomis.fetch_population_pages(session, base_url, list(DEMO), [2020])
        reliability.check("requests served", len(fake.log), 6)
    reliability.message(str(raised.value))
    reliability.outcome("retried")
    reliability.outcome("refused")
