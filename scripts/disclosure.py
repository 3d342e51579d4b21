"""Disclosure control over the whole release: no hidden count can be worked out from what is shown.

The theme tables are released together: Table 1 (each theme and code, participants and coded
segments, of the whole sample, N coded participants), one table per participant attribute (each
group's size and its participants for each theme and code; the prevalence table adds the coded
segments), the figures drawn from them, and the exemplar quotes, attributed to a participant with
some of their attributes. All of it is one set of linked tables: a row's cells add up to the
whole-sample count, a group's size bounds its cells, a theme's count is at least each of its codes'
and at most their sum, a segment count bounds the participants count, and an attributed quote
says that a participant of that group voiced that code. Hiding small counts one table at a time
(``<5``) is not enough: in the demo, 7 of 13 participants voiced a code, clients are 10, and the
three non-clients' two groups are hidden as small: the clients' hidden count must be 4.

So every hidden count is audited against everything released (:func:`audit`): the smallest and
largest value consistent with all of it, from a linear programme (``scipy.optimize.linprog``,
HiGHS; :class:`Programme`). A count hidden because it is small (1 to k-1, or any count of a group
smaller than k) is **protected** when that range is at least as wide as the ``<k`` band (k-2) or
the whole group if smaller, but it need not be wider than what Table 1 and the group sizes alone
leave open (:func:`baseline`): those are the study's findings and its sample, which any report
gives, and are never hidden (a code every participant voiced says so of each of them, and no
suppression of the breakdowns could change that). Otherwise it is **exposed**, and :func:`protect`
hides more until none is: the count shown as ``x`` rather than ``<k`` where "at most k-1" is what
pins it; another count of its row (the one giving most room); an attribute in the attributions of
quotes that narrow it; counts of the theme or codes that bound it. What cannot be protected stops
the run. The audit table gives each hidden count's range, never its value.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from scripts.disclosure_programme import (  # noqa: F401 - the release's counts, read with this module's functions
    AUDIT_COLUMNS,
    EVERYONE,
    INFINITY,
    SECONDARY,
    AuditRow,
    Bound,
    Counts,
    DisclosureAuditError,
    Marks,
    Programme,
    Quote,
)


def primary_marks(counts: Counts, k: int) -> Marks:
    """Small counts hidden (``<k``): 1 to k-1 participants, and any count of a group smaller than
    k; and, before any audit, the smallest other count of a row that would otherwise have only one
    hidden count. Group sizes are shown: they are the study's sample, which any report describes;
    what must not be worked out is who in a small group voiced what."""
    marks = Marks()
    if k <= 1:
        return marks
    for attribute, groups in counts.attributes.items():
        for item in counts.items:
            row = [(item, attribute, group) for group in groups]
            for cell in row:
                value, size = counts.participants[cell], counts.sizes[cell[1:]]
                if 0 < value < k or size < k:
                    marks.cells[cell] = f"<{k}"
            hidden = [cell for cell in row if cell in marks.cells]
            if len(hidden) == 1 and len(row) > 1:
                shown = [
                    (counts.participants[cell], cell) for cell in row if cell not in marks.cells
                ]
                marks.cells[min(shown)[1]] = SECONDARY
    return marks


def withheld_small_groups(quotes: Sequence[Quote], counts: Counts, k: int) -> set[tuple[str, str]]:
    """Attribution attributes whose group has fewer than k participants: withheld from the start
    (a quote would say who is in a group too small to be shown)."""
    return {
        (quote.participant, attribute)
        for quote in quotes
        for attribute, group in quote.shown
        if k > 1 and counts.sizes.get((attribute, group), k) < k
    }


# ---------------------------------------------------------------------------------------------
# What the release publishes, as bounds


def published(counts: Counts, marks: Marks, k: int) -> tuple[dict, dict, dict, Bound]:
    """(participants, segments, sizes) bounds by cell, and the total, as the release states them."""

    def cell_bound(value: int, mark: str, size_bound: Bound) -> Bound:
        if not mark:
            return Bound(value, value)
        if (
            mark.startswith("<") and size_bound.low >= k
        ):  # "<k" in a group known to be large: 1..k-1
            return Bound(1, k - 1)
        if mark.startswith("<"):
            return Bound(0, k - 1)
        return Bound(0, INFINITY)

    sizes = {key: Bound(size, size) for key, size in counts.sizes.items()}
    participants, segments = {}, {}
    for key, value in counts.participants.items():
        mark = marks.cells.get(key, "")
        size = sizes.get(key[1:], Bound(counts.total, counts.total))
        participants[key] = cell_bound(value, mark, size)
        segments[key] = (
            Bound(counts.segments[key], counts.segments[key]) if not mark else Bound(0, INFINITY)
        )
    return participants, segments, sizes, Bound(counts.total, counts.total)


# ---------------------------------------------------------------------------------------------
# Audit and protection


def families(counts: Counts) -> list[list[str]]:
    """Items that share constraints: each theme with its codes (and any item in no theme alone)."""
    grouped, seen = [], set()
    for theme, codes in counts.themes.items():
        family = [theme, *codes]
        grouped.append(family)
        seen.update(family)
    grouped.extend([item] for item in counts.items if item not in seen)
    return grouped


def audit(
    counts: Counts, marks: Marks, quotes: Sequence[Quote], k: int, only: Iterable[int] | None = None
) -> list[AuditRow]:
    """Every hidden count's range consistent with everything the release shows, and whether the
    counts hidden as small are protected (``only``: the families to audit, by number)."""
    participants, segments, sizes, total = published(counts, marks, k)
    rows = []
    chosen = set(range(len(families(counts)))) if only is None else set(only)
    for number, family in enumerate(families(counts)):
        if number not in chosen:
            continue
        programme = Programme(counts, family, participants, segments, sizes, total, quotes, marks)
        for item in family:
            for attribute, group in [
                (EVERYONE, EVERYONE),
                *((a, g) for a, groups in counts.attributes.items() for g in groups),
            ]:
                mark = marks.cells.get((item, attribute, group), "")
                if not mark:
                    continue
                low, high = programme.cell(item, attribute, group)
                size = counts.total if attribute == EVERYONE else counts.sizes[(attribute, group)]
                value = counts.participants[(item, attribute, group)]
                needed = width_needed(
                    size, baseline(counts, family, k)[(item, attribute, group)], k
                )
                primary = 0 < value < k or size < k
                rows.append(
                    _row("participants", item, attribute, group, mark, low, high, needed, primary)
                )
    return rows


_BASELINES: dict[int, dict] = {}


def baseline(
    counts: Counts, family: Sequence[str], k: int
) -> dict[tuple[str, str, str], tuple[int, int]]:
    """What the whole-sample counts (Table 1) and the group sizes alone say of each count of a
    family's breakdowns: the study's main findings and its sample, which any report states. The
    breakdowns must not narrow a hidden count beyond that (nor below its protection interval)."""
    key = id(counts)
    cached = _BASELINES.setdefault(key, {})
    if cached.get("counts") is not counts:
        cached.clear()
        cached["counts"] = counts
    if tuple(family) not in cached:
        hidden = Marks(
            cells={
                (item, a, g): SECONDARY
                for item in family
                for a, groups in counts.attributes.items()
                for g in groups
            }
        )
        participants, segments, sizes, total = published(counts, hidden, k)
        programme = Programme(counts, family, participants, segments, sizes, total, [], hidden)
        cached[tuple(family)] = {cell: programme.cell(*cell) for cell in hidden.cells}
    return cached[tuple(family)]


def width_needed(size: int, known: tuple[int, int], k: int) -> int:
    """How wide a hidden small count's range must stay: as wide as the ``<k`` band (k-2: 1 to k-1),
    or the whole group if it is smaller, but no wider than what the whole-sample counts and the
    group sizes alone leave open (``known``, see baseline: what any report of the study says)."""
    return max(0, min(k - 2, size, known[1] - known[0]))


def _row(
    kind: str,
    item: str,
    attribute: str,
    group: str,
    mark: str,
    low: int,
    high: int,
    needed: int,
    primary: bool,
) -> AuditRow:
    """primary: hidden because small (1 to k-1, or in a group smaller than k), whatever it shows."""
    if not primary:
        return AuditRow(kind, item, attribute, group, mark, low, high, "", "secondary")
    return AuditRow(
        kind,
        item,
        attribute,
        group,
        mark,
        low,
        high,
        str(needed),
        "protected" if high - low >= needed else "exposed",
    )


def protect(
    counts: Counts, quotes: Sequence[Quote], k: int, limit: int = 200
) -> tuple[Marks, list[AuditRow]]:
    """Primary suppression, then more hidden (secondary ``x``, withheld attributions) until the
    audit finds no exposed count; returns the marks and the last audit. Raises
    :class:`DisclosureError` when a count cannot be protected.

    Each round hides one more thing for each row with an exposed count, then audits again the
    families whose counts it touched (all of them when an attribution changed)."""
    marks = primary_marks(counts, k)
    marks.withheld |= withheld_small_groups(quotes, counts, k)
    if k <= 1:
        return marks, []
    family_of = {item: number for number, family in enumerate(families(counts)) for item in family}
    found: dict[int, list[AuditRow]] = {}
    dirty: set[int] | None = None  # None: every family
    exposed: list[AuditRow] = []
    for _ in range(limit):
        for number in range(len(families(counts))) if dirty is None else dirty:
            found[number] = []
        for row in audit(counts, marks, quotes, k, only=dirty):
            found[family_of[row.item]].append(row)
        everything = [row for number in sorted(found) for row in found[number]]
        exposed = [row for row in everything if row.status == "exposed"]
        if not exposed:
            return marks, everything
        dirty, done = set(), set()
        for row in exposed:
            if (row.item, row.attribute) in done:
                continue
            withheld = len(marks.withheld)
            if not _hide_more(counts, marks, quotes, row):
                raise DisclosureError(row)
            done.add((row.item, row.attribute))
            if len(marks.withheld) != withheld:
                dirty = None  # an attribution touches every family
                break
            dirty.add(family_of[row.item])
    raise DisclosureError(exposed[0])


def _hide_more(counts: Counts, marks: Marks, quotes: Sequence[Quote], row: AuditRow) -> bool:
    """One more thing hidden to widen an exposed count's range; False if nothing is left. The
    whole-sample counts (Table 1) are never hidden: the breakdowns are protected around them."""

    def slack(item: str, attribute: str, group: str) -> tuple:
        """How much room hiding a count gives (up to its group's size, or the whole sample's count
        of the item), then the smallest count: the least shown for the most protection."""
        room = min(
            counts.sizes[(attribute, group)], counts.participants[(item, EVERYONE, EVERYONE)]
        )
        return (-room, counts.participants[(item, attribute, group)], attribute, group)

    cell = (row.item, row.attribute, row.group)
    # 1. the count itself shown as x rather than <k, where "<k" (at most k-1) is what pins it
    if marks.cells.get(cell, "").startswith("<") and row.high >= _band_top(marks, cell):
        marks.cells[cell] = SECONDARY
        return True
    # 2. another count of the same row, the one that gives most room first
    shown = [
        slack(row.item, row.attribute, g)
        for g in counts.attributes[row.attribute]
        if (row.item, row.attribute, g) not in marks.cells
    ]
    if shown:
        marks.cells[(row.item, row.attribute, min(shown)[3])] = SECONDARY
        return True
    # 3. another count of the row shown as x rather than <k (its "at most k-1" bounds this one),
    # the largest group first
    banded = [
        (-counts.sizes[(row.attribute, g)], g)
        for g in counts.attributes[row.attribute]
        if g != row.group and marks.cells.get((row.item, row.attribute, g), "").startswith("<")
    ]
    if banded:
        marks.cells[(row.item, row.attribute, min(banded)[1])] = SECONDARY
        return True
    # 4. the attribution of a quote of this code that names this group
    for quote in quotes:
        if (
            quote.item == row.item
            and (row.attribute, row.group) in quote.shown
            and (quote.participant, row.attribute) not in marks.withheld
        ):
            marks.withheld.add((quote.participant, row.attribute))
            return True
    family = next(family for family in families(counts) if row.item in family)
    # 5. the same group's count of a theme or code that bounds this one (the theme of a code, the
    # codes of a theme), the largest first
    beside = [
        (counts.participants[(item, row.attribute, row.group)], item)
        for item in family
        if item != row.item and (item, row.attribute, row.group) not in marks.cells
    ]
    if beside:
        marks.cells[(max(beside)[1], row.attribute, row.group)] = SECONDARY
        return True
    # 6. a count of this theme or code, or of one that bounds it, in any table, most room first
    anywhere = [
        slack(item, a, g) + (item,)
        for item in [row.item, *(i for i in family if i != row.item)]
        for a, groups in counts.attributes.items()
        for g in groups
        if (item, a, g) not in marks.cells
    ]
    if anywhere:
        *_, attribute, group, item = min(anywhere)
        marks.cells[(item, attribute, group)] = SECONDARY
        return True
    return False


def _band_top(marks: Marks, cell: tuple[str, str, str]) -> float:
    mark = marks.cells.get(cell, "")
    return float(mark[1:]) - 1 if mark.startswith("<") and mark[1:].isdigit() else INFINITY


class DisclosureError(RuntimeError):
    """A hidden count the release gives away, whatever else is hidden."""

    def __init__(self, row: AuditRow):
        where = f"{row.item.split(':', 1)[-1]}, {row.attribute} {row.group}"
        super().__init__(
            f"the count of {where} can be worked out from the released tables to between {row.low} and {row.high}, "
            f"narrower than its protection ({row.needed})"
        )
        self.row = row


def audit_rows(rows: Iterable[AuditRow]) -> list[dict]:
    """The audit table (results/themes/disclosure_audit.tsv): ranges, never values."""
    return [
        {
            "kind": row.kind,
            "item": row.item,
            "attribute": row.attribute,
            "group": row.group,
            "shown": row.shown,
            "lowest": row.low,
            "highest": row.high,
            "width_needed": row.needed,
            "status": row.status,
        }
        for row in rows
    ]
