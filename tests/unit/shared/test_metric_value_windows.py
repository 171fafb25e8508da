"""A re-run replaces the metric values of the window it recomputed: a value it no longer produces (its source file
withdrawn) leaves the database, on SQLite and PostgreSQL (tests/databases.py), and other windows are untouched."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from tasks.shared.storage import repository
from tasks.shared.storage.models import MetricValue
from tasks.shared.storage.session import session_scope

WINDOW = ["2021/22", "2022/23", "2022-04", "2022/23 Q1"]


def _value(metric: str, area: str, period: str, value: float) -> dict:
    return dict(metric_id=metric, metric_version=1, area_type="lad", area_code=area, period=period, age_band="all",
                numerator=value, denominator=None, value=value, method="count", multiplier=1, raw_file_ids=[1])


def _stored(url: str, partnership: str = "p") -> dict[tuple[str, str, str], float]:
    with session_scope(url) as session:
        rows = session.scalars(select(MetricValue).where(MetricValue.partnership == partnership)).all()
        return {(r.metric_id, r.area_code, r.period): r.value for r in rows}


def _store(url: str, rows: list[dict], partnership: str = "p", periods: list[str] = WINDOW) -> None:
    with session_scope(url) as session:
        repository.replace_metric_values(session, partnership, periods, pd.DataFrame(rows), "run")


def test_a_value_no_longer_computed_leaves_the_database(database_url: str) -> None:
    _store(database_url, [_value("knife", "A", "2021/22", 5), _value("knife", "A", "2022/23", 7),
                          _value("knife", "B", "2022/23", 3), _value("knife", "A", "2022-04", 1)])
    _store(database_url, [_value("knife", "X", "2018/19", 9)], periods=["2018/19"])  # an older run's window
    _store(database_url, [_value("knife", "A", "2022/23", 7)], partnership="other")  # another partnership
    # the re-run: B's 2022/23 file and April's were withdrawn, A's 2022/23 count corrected
    _store(database_url, [_value("knife", "A", "2021/22", 5), _value("knife", "A", "2022/23", 8)])
    assert _stored(database_url) == {("knife", "A", "2021/22"): 5, ("knife", "A", "2022/23"): 8,
                                     ("knife", "X", "2018/19"): 9}
    assert _stored(database_url, "other") == {("knife", "A", "2022/23"): 7}


def test_a_failed_replacement_keeps_the_old_window(database_url: str) -> None:
    _store(database_url, [_value("knife", "A", "2022/23", 7)])
    bad = _value("knife", "A", "2022/23", 8) | {"metric_version": None}  # NOT NULL: the insert fails
    try:
        _store(database_url, [bad])
    except Exception:  # noqa: BLE001 - the back end's own integrity error, whichever it is
        pass
    else:
        raise AssertionError("the insert of a row without its version should have failed")
    assert _stored(database_url) == {("knife", "A", "2022/23"): 7}  # the delete was rolled back with it
