"""Disclosure control over the whole release (scripts/disclosure.py): every hidden count's range
from a linear programme over everything released, and secondary suppression until none is
exposed. Cases built by hand, each with the arithmetic that gives a hidden count away."""

from __future__ import annotations

import pytest

from scripts import disclosure
from scripts.disclosure import EVERYONE, Counts, Quote

K = 5


def counts(
    rows: dict[str, dict[str, dict[str, int]]],
    sizes: dict[str, dict[str, int]],
    total: int,
    themes: dict[str, list[str]] | None = None,
) -> Counts:
    """rows: item -> attribute -> group -> participants (segments: the same, doubled)."""
    participants, segments = {}, {}
    for item, tables in rows.items():
        for attribute, cells in tables.items():
            for group, value in cells.items():
                participants[(item, attribute, group)] = value
                segments[(item, attribute, group)] = 2 * value
    return Counts(
        list(rows),
        themes or {},
        {attribute: list(groups) for attribute, groups in sizes.items()},
        participants,
        segments,
        {(a, g): n for a, groups in sizes.items() for g, n in groups.items()},
        total,
    )


def ranges(rows: list[disclosure.AuditRow]) -> dict[tuple[str, str, str], tuple[int, int, str]]:
    return {(row.item, row.attribute, row.group): (row.low, row.high, row.status) for row in rows}


# The demo's Table 2: 7 of 13 voiced the code; clients 10 (4 of them), providers 2 (2), peers 1 (1).
DEMO = {"stigma": {EVERYONE: {EVERYONE: 7}, "role": {"client": 4, "provider": 2, "peer": 1}}}
ROLES = {"role": {"client": 10, "provider": 2, "peer": 1}}


def test_the_demo_table_2_case_is_exposed_by_primary_suppression_and_then_protected() -> None:
    release = counts(DEMO, ROLES, 13)
    marks = disclosure.primary_marks(release, K)
    assert marks.cells == {
        ("stigma", "role", "client"): "<5",
        ("stigma", "role", "provider"): "<5",
        ("stigma", "role", "peer"): "<5",
    }
    found = ranges(disclosure.audit(release, marks, [], K))
    assert found[("stigma", "role", "client")] == (
        4,
        4,
        "exposed",
    )  # at least 7 - 2 - 1, at most "<5": 4
    marks, audit = disclosure.protect(release, [], K)
    found = ranges(audit)
    assert marks.cells[("stigma", "role", "client")] == "x"  # no longer "at most 4"
    assert ("stigma", EVERYONE, EVERYONE) not in marks.cells  # Table 1 is never hidden
    low, high, status = found[("stigma", "role", "client")]
    assert (low, status) == (4, "protected") and high - low >= 3  # 4 to 7: what Table 1 alone says
    assert found[("stigma", "role", "peer")][2] == "protected"


def test_a_hidden_count_next_to_a_shown_total_takes_a_second_one_with_it() -> None:
    release = counts(
        {"calm": {EVERYONE: {EVERYONE: 9}, "site": {"A": 3, "B": 6}}},
        {"site": {"A": 8, "B": 9}},
        17,
    )
    exposed = disclosure.Marks(cells={("calm", "site", "A"): "<5"})
    assert ranges(disclosure.audit(release, exposed, [], K))[("calm", "site", "A")] == (
        3,
        3,
        "exposed",
    )  # 9 - 6
    marks, audit = disclosure.protect(release, [], K)
    assert marks.cells[("calm", "site", "B")] == "x"
    assert ranges(audit)[("calm", "site", "A")] == (1, 4, "protected")


def test_two_tables_sharing_a_margin_are_protected_together() -> None:
    """Each table alone hides a pair, but the whole-sample count links them: the site table's
    shown counts say how many of the seven are at site B, which bounds the role table's pair."""
    release = counts(
        {
            "stigma": {
                EVERYONE: {EVERYONE: 7},
                "role": {"client": 4, "provider": 3},
                "site": {"A": 6, "B": 1},
            }
        },
        {"role": {"client": 8, "provider": 6}, "site": {"A": 9, "B": 5}},
        14,
    )
    marks, audit = disclosure.protect(release, [], K)
    assert all(row.status != "exposed" for row in audit)
    # every hidden small count is at least 3 wide, or as wide as Table 1 and the sizes leave it
    for row in audit:
        if row.status == "protected":
            assert row.high - row.low >= int(row.needed)


def test_attributed_quotes_count_as_published() -> None:
    """Three quotes of clients who voiced the code: the clients' hidden count is at least 3."""
    release = counts(
        {"calm": {EVERYONE: {EVERYONE: 12}, "role": {"client": 4, "provider": 8}}},
        {"role": {"client": 10, "provider": 9}},
        19,
    )
    quotes = [Quote(f"P0{n}", (("role", "client"),), "calm") for n in range(3)]
    marks = disclosure.primary_marks(release, K)
    found = ranges(disclosure.audit(release, marks, quotes, K))
    assert found[("calm", "role", "client")][:2] == (3, 4)
    marks, audit = disclosure.protect(release, quotes, K)
    low, high, status = ranges(audit)[("calm", "role", "client")]
    assert status == "protected" and low == 3 and high - low >= 3  # the quotes still count


def test_a_group_of_one_is_withheld_from_attributions_from_the_start() -> None:
    release = counts(DEMO, ROLES, 13)
    quotes = [Quote("P13", (("role", "peer"),), "stigma")]
    assert disclosure.withheld_small_groups(quotes, release, K) == {("P13", "role")}


def test_themes_bound_their_codes() -> None:
    """A theme's count is at least each of its codes' and at most their sum."""
    release = counts(
        {
            "support": {EVERYONE: {EVERYONE: 6}, "site": {"A": 3, "B": 3}},
            "food": {EVERYONE: {EVERYONE: 6}, "site": {"A": 3, "B": 3}},
            "money": {EVERYONE: {EVERYONE: 0}, "site": {"A": 0, "B": 0}},
        },
        {"site": {"A": 9, "B": 9}},
        18,
        themes={"support": ["food", "money"]},
    )
    marks = disclosure.Marks(cells={("support", "site", "A"): "<5", ("support", "site", "B"): "<5"})
    # the theme's hidden counts equal its one code's shown counts: given away through the codes
    found = ranges(disclosure.audit(release, marks, [], K))
    assert found[("support", "site", "A")] == (3, 3, "exposed")


def test_no_suppression_when_k_is_one() -> None:
    release = counts(DEMO, ROLES, 13)
    marks, audit = disclosure.protect(release, [], 1)
    assert marks.cells == {} and audit == []


def test_a_code_everyone_voiced_says_so_of_every_group_and_that_is_not_exposure() -> None:
    """Table 1 says all 13 voiced it: each group's count is its size, whatever is hidden."""
    release = counts(
        {"calm": {EVERYONE: {EVERYONE: 13}, "role": {"client": 10, "provider": 2, "peer": 1}}},
        ROLES,
        13,
    )
    marks, audit = disclosure.protect(release, [], K)
    assert ranges(audit)[("calm", "role", "peer")] == (1, 1, "protected")
    assert ("calm", EVERYONE, EVERYONE) not in marks.cells


def test_the_audit_table_gives_ranges_never_values() -> None:
    release = counts(DEMO, ROLES, 13)
    _, audit = disclosure.protect(release, [], K)
    table = disclosure.audit_rows(audit)
    assert set(table[0]) == set(disclosure.AUDIT_COLUMNS)
    assert (
        "value" not in disclosure.AUDIT_COLUMNS and "participants" not in disclosure.AUDIT_COLUMNS
    )


@pytest.mark.parametrize(
    "size, known, needed",
    [(1, (0, 1), 1), (2, (0, 2), 2), (10, (0, 10), 3), (10, (4, 7), 3), (10, (4, 5), 1)],
)
def test_the_width_needed_is_the_band_or_the_group_within_what_table_1_leaves_open(
    size, known, needed
) -> None:
    assert disclosure.width_needed(size, known, K) == needed
