"""The quality gate of the agreement (the ``agreement_gate`` rule): Krippendorff's alpha, pooled
and per code, against the minimums set in config.yaml (``agreement.minimum_alpha``,
``agreement.minimum_alpha_per_code``)."""

from __future__ import annotations

from typing import Any, Sequence

from scripts.agreement_comparisons import Settings
from scripts.errors import QualflowError


class QualityGateError(QualflowError):
    """Krippendorff's alpha below the minimum set in config.yaml, with on_low_alpha: fail."""


def low_alpha(
    summary: Sequence[dict], by_code: Sequence[dict], minimum: float | None, per_code: float | None
) -> list[tuple[str, float]]:
    """(what, alpha) below the minimum: 'pooled' (all coders) first, then codes, worst first.

    An undefined alpha (a code nobody or everybody applied) is not below the minimum.
    """
    low = []
    pooled = _float(summary[0].get("krippendorff_alpha")) if summary else None
    if minimum is not None and pooled is not None and pooled < minimum:
        low.append(("pooled", pooled))
    if per_code is not None:
        codes = [(row["code_id"], _float(row.get("krippendorff_alpha"))) for row in by_code]
        low.extend(
            sorted(
                ((code, alpha) for code, alpha in codes if alpha is not None and alpha < per_code),
                key=lambda item: (item[1], item[0]),
            )
        )
    return low


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


GATE_COLUMNS = ["scope", "krippendorff_alpha", "minimum", "status"]


def quality_gate(
    summary: Sequence[dict], by_code: Sequence[dict], settings: Settings
) -> tuple[list[dict], list[tuple[str, float]]]:
    """Rows of quality_gate.tsv (pooled, then every code) and the list of scopes below the minimum."""
    low = low_alpha(summary, by_code, settings.minimum_alpha, settings.minimum_alpha_per_code)
    below = dict(low)
    rows = []
    scopes = [("pooled", summary[0] if summary else {}, settings.minimum_alpha)]
    scopes += [(row["code_id"], row, settings.minimum_alpha_per_code) for row in by_code]
    for scope, row, minimum in scopes:
        alpha = _float(row.get("krippendorff_alpha"))
        status = (
            "no minimum"
            if minimum is None
            else ("undefined" if alpha is None else ("below" if scope in below else "ok"))
        )
        rows.append(
            {"scope": scope, "krippendorff_alpha": alpha, "minimum": minimum, "status": status}
        )
    return rows, low


def describe_low(low: Sequence[tuple[str, float]], settings: Settings) -> str:
    """One line naming every figure below the minimum, e.g. 'pooled (0.612), enacted_stigma (0.401)'."""
    parts = [f"{scope} ({alpha:.3f})" for scope, alpha in low]
    if settings.minimum_alpha == settings.minimum_alpha_per_code:
        thresholds = f"{settings.minimum_alpha}"
    else:
        thresholds = f"{settings.minimum_alpha} pooled, {settings.minimum_alpha_per_code} per code"
    return f"Krippendorff's alpha below the minimum ({thresholds}) for {len(low)} of the checked figures: {', '.join(parts)}"
