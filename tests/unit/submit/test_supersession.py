"""One open submission per deadline: a new package supersedes the unapproved one; an approved or delivered one is
never replaced silently (only by an explicit resubmission)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.shared.signoff import APPROVED, AWAITING, REJECTED, SUPERSEDED
from tasks.submit.submissions import DELIVERED, HELD, LOCKED, OPEN, plan_build


def apply(rows: dict[int, list], sha: str) -> int:
    """Record a build in an in-memory deadline the way record_package does; returns the package's row id."""
    plan = plan_build([(i, r[0], r[1]) for i, r in rows.items()], sha)
    target = plan.target_id if plan.target_id is not None else max(rows, default=0) + 1
    rows.setdefault(target, [sha, plan.target_status])[1] = plan.target_status
    for row_id, status in plan.changes.items():
        rows[row_id][1] = status
    return target


def test_a_changed_package_supersedes_the_one_awaiting_approval() -> None:
    rows: dict[int, list] = {}
    first = apply(rows, "a")
    second = apply(rows, "b")
    assert rows == {first: ["a", SUPERSEDED], second: ["b", AWAITING]}
    assert apply(rows, "b") == second and rows[second][1] == AWAITING  # the same package again: nothing new


def test_a_package_after_approval_is_held_not_replacing_it() -> None:
    rows = {1: ["a", DELIVERED]}
    new = apply(rows, "b")
    assert rows == {1: ["a", DELIVERED], new: ["b", HELD]}


# a deadline's history: builds of a few package versions, with some decisions taken in between
events = st.lists(st.one_of(st.tuples(st.just("build"), st.sampled_from("abcd")),
                            st.tuples(st.just("decide"), st.sampled_from([APPROVED, REJECTED, DELIVERED]))),
                  max_size=25)


@settings(max_examples=300, deadline=None)
@given(events)
def test_never_two_open_submissions_and_never_a_silent_replacement(history) -> None:
    rows: dict[int, list] = {}
    current = None
    for event, value in history:
        if event == "decide":
            if current is not None and rows[current][1] == AWAITING:
                rows[current][1] = value
            continue
        locked_before = {i: r[1] for i, r in rows.items() if r[1] in LOCKED}
        current = apply(rows, value)
        assert sum(1 for r in rows.values() if r[1] in OPEN) <= 1
        assert rows[current][0] == value and rows[current][1] != SUPERSEDED  # the built package is never superseded
        # an approved or delivered package keeps its status through any later build
        assert {i: rows[i][1] for i in locked_before} == locked_before
        assert len({r[0] for r in rows.values()}) == len(rows)  # one row per package version
