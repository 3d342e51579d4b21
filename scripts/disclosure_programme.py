"""The linear programme of the disclosure audit (scripts/disclosure.py): for one family of items (a
theme and its codes), every count the release states or bounds, for every attribute's table,
linked by the whole-sample counts; the smallest and largest value a hidden count can have given
all of it, from ``scipy.optimize.linprog`` (HiGHS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

EVERYONE = "all"
SECONDARY = "x"
INFINITY = float("inf")


@dataclass(frozen=True)
class Bound:
    """What the release says of one count: at least ``low``, at most ``high``."""

    low: float
    high: float


@dataclass
class Counts:
    """The true counts behind the release (never written out): for each item (a theme or code),
    attribute and group, participants and coded segments; Table 1 is attribute and group
    ``all``. ``sizes``: participants in each group; ``total``: coded participants."""

    items: list[str]
    themes: dict[str, list[str]]  # theme -> its codes (items)
    attributes: dict[str, list[str]]  # attribute -> its groups, in table order
    participants: dict[tuple[str, str, str], int]
    segments: dict[tuple[str, str, str], int]
    sizes: dict[tuple[str, str], int]
    total: int


@dataclass(frozen=True)
class Quote:
    """An attributed quote: the participant, the attribute values the attribution shows, and the
    item (code) it is a quote of (and so voiced)."""

    participant: str
    shown: tuple[tuple[str, str], ...]
    item: str


@dataclass
class Marks:
    """What the release hides: counts (item, attribute, group; Table 1: attribute and group
    ``all``) as ``<k`` or ``x``, and attributes withheld from a participant's attributions."""

    cells: dict[tuple[str, str, str], str] = field(default_factory=dict)
    withheld: set[tuple[str, str]] = field(default_factory=set)  # (participant, attribute)


@dataclass(frozen=True)
class AuditRow:
    """One hidden count: where it is, how it is shown, the range consistent with the release, the
    width its protection needs, and whether it has it."""

    kind: str  # "participants" (of a theme or code, in a group)
    item: str
    attribute: str
    group: str
    shown: str
    low: int
    high: int
    needed: str  # how wide the range must be (blank for a count hidden to protect others)
    status: str  # protected, exposed, or secondary (hidden to protect others)


AUDIT_COLUMNS = [
    "kind",
    "item",
    "attribute",
    "group",
    "shown",
    "lowest",
    "highest",
    "width_needed",
    "status",
]


# ---------------------------------------------------------------------------------------------
# The linear programme


class Programme:
    """The linear programme of one family of items (a theme and its codes): every count the release
    states or bounds, for every attribute's table, linked by the whole-sample counts.

    Variables: the coded participants ``N``; per item its whole-sample participants and segments;
    per attribute and group its size, and per item its participants and segments. Each attribute's
    table adds up to the whole sample; a group's count is at most its size and at most its coded
    segments; a theme's count is at least each of its codes' and at most their sum; an attributed
    quote is a participant of its groups who voiced its code. The counts of different attributes
    are linked through these sums and not through a joint table of the attributes, which the
    release does not state.
    """

    def __init__(
        self,
        counts: Counts,
        family: Sequence[str],
        participants: dict,
        segments: dict,
        sizes: dict,
        total: Bound,
        quotes: Sequence[Quote],
        marks: Marks,
    ):
        self.family = list(family)
        self.counts = counts
        self.index: dict[tuple, int] = {}
        lower: list[float] = []
        upper: list[float] = []

        def variable(key: tuple, bound: Bound) -> int:
            self.index[key] = len(lower)
            lower.append(max(0.0, bound.low))
            upper.append(bound.high if bound.high < INFINITY else None)
            return self.index[key]

        variable(("N",), total)
        for item in self.family:
            variable(("p", item, EVERYONE, EVERYONE), participants[(item, EVERYONE, EVERYONE)])
            variable(("s", item, EVERYONE, EVERYONE), segments[(item, EVERYONE, EVERYONE)])
        for attribute, groups in counts.attributes.items():
            for group in groups:
                variable(("n", attribute, group), sizes[(attribute, group)])
                for item in self.family:
                    variable(("p", item, attribute, group), participants[(item, attribute, group)])
                    variable(("s", item, attribute, group), segments[(item, attribute, group)])
        self.bounds = list(zip(lower, upper))
        rows, columns, values, limits, equal = [], [], [], [], []

        def constraint(
            coefficients: dict[tuple, float], limit: float, equality: bool = False
        ) -> None:
            number = len(limits)
            for key, value in coefficients.items():
                rows.append(number)
                columns.append(self.index[key])
                values.append(value)
            limits.append(limit)
            equal.append(equality)

        for attribute, groups in counts.attributes.items():
            constraint({("N",): -1.0, **{("n", attribute, g): 1.0 for g in groups}}, 0.0, True)
            for item in self.family:
                for kind in ("p", "s"):
                    constraint(
                        {
                            (kind, item, EVERYONE, EVERYONE): -1.0,
                            **{(kind, item, attribute, g): 1.0 for g in groups},
                        },
                        0.0,
                        True,
                    )
                for group in groups:
                    constraint(
                        {("p", item, attribute, group): 1.0, ("n", attribute, group): -1.0}, 0.0
                    )
                    constraint(
                        {("p", item, attribute, group): 1.0, ("s", item, attribute, group): -1.0},
                        0.0,
                    )
        for item in self.family:
            constraint({("p", item, EVERYONE, EVERYONE): 1.0, ("N",): -1.0}, 0.0)
            constraint(
                {("p", item, EVERYONE, EVERYONE): 1.0, ("s", item, EVERYONE, EVERYONE): -1.0}, 0.0
            )
        cells = [(EVERYONE, EVERYONE)] + [
            (a, g) for a, groups in counts.attributes.items() for g in groups
        ]
        for theme, codes in counts.themes.items():
            members = [code for code in codes if code in self.family]
            if theme not in self.family or not members:
                continue
            for kind in ("p", "s"):
                for attribute, group in cells:
                    for code in members:
                        constraint(
                            {
                                (kind, code, attribute, group): 1.0,
                                (kind, theme, attribute, group): -1.0,
                            },
                            0.0,
                        )
                    constraint(
                        {
                            (kind, theme, attribute, group): 1.0,
                            **{(kind, code, attribute, group): -1.0 for code in members},
                        },
                        0.0,
                    )
        # attributed quotes: a participant of these groups (as far as the attribution shows them)
        # voiced this code
        people: dict[tuple[str, str], set[str]] = {}
        voiced: dict[tuple[str, str, str], set[str]] = {}
        for quote in quotes:
            for attribute, group in quote.shown:
                if (
                    quote.participant,
                    attribute,
                ) in marks.withheld or attribute not in counts.attributes:
                    continue
                people.setdefault((attribute, group), set()).add(quote.participant)
                voiced.setdefault((quote.item, attribute, group), set()).add(quote.participant)
        for (attribute, group), who in people.items():
            constraint({("n", attribute, group): -1.0}, -len(who))
        for (item, attribute, group), who in voiced.items():
            if item in self.family:
                constraint({("p", item, attribute, group): -1.0}, -len(who))
        from scipy.sparse import csr_matrix

        size = (len(limits), len(lower))
        equalities = [number for number, flag in enumerate(equal) if flag]
        inequalities = [number for number, flag in enumerate(equal) if not flag]
        matrix = csr_matrix((values, (rows, columns)), shape=size)
        limits_array = np.array(limits)
        self.equalities = (
            (matrix[equalities], limits_array[equalities]) if equalities else (None, None)
        )
        self.inequalities = (
            (matrix[inequalities], limits_array[inequalities]) if inequalities else (None, None)
        )

    def range_of(self, key: tuple) -> tuple[int, int]:
        """The smallest and largest value of one count (rounded inward to whole people)."""
        from scipy.optimize import linprog

        cost = np.zeros(len(self.bounds))
        cost[self.index[key]] = 1.0
        found = []
        for sign in (1.0, -1.0):
            result = linprog(
                sign * cost,
                A_ub=self.inequalities[0],
                b_ub=self.inequalities[1],
                A_eq=self.equalities[0],
                b_eq=self.equalities[1],
                bounds=self.bounds,
                method="highs",
            )
            if result.status != 0:
                raise DisclosureAuditError(
                    f"the linear programme of the release cannot be solved ({result.message})"
                )
            found.append(sign * result.fun)
        low, high = found
        return int(np.ceil(low - 1e-6)), int(np.floor(high + 1e-6))

    def cell(self, item: str, attribute: str, group: str) -> tuple[int, int]:
        return self.range_of(("p", item, attribute, group))


class DisclosureAuditError(RuntimeError):
    """The audit could not be computed (a bug: the release's own counts are always feasible)."""
