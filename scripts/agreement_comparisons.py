"""The comparisons of the human coders (the ``agreement`` rule): the units they coded, the figures
of every code and pooled over codes, for all compared coders and for each pair, the coded
segments they disagree on and what each of them coded.

Unit: (unit, code) presence per coder, where the unit is a segment, a speaker turn or a whole
transcript (``agreement.unit``); a code is present in a turn or a transcript when the coder
applied it to any of its segments. Only segments whose role is coded (``coding.roles``) count,
and a comparison between coders uses only the transcripts that all of them were asked to code
(the others are counted as left out).

Figures, for every code and pooled over codes, for all compared coders and for each pair: the
coefficients of :func:`scripts.agreement_coefficients.coefficients` (point estimates from the
engine itself) with percentile bootstrap confidence intervals (scripts/agreement_bootstrap.py), the prevalence of the code and a flag where
kappa and Gwet's AC1 disagree strongly (the prevalence paradox of rare codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any, Sequence

import numpy as np

from scripts.agreement_bootstrap import COEFFICIENTS, bootstrap, interval, stream
from scripts.agreement_coefficients import coefficients
from scripts.codebook import Codebook
from scripts.coding_records import Segments
from scripts.codings import CheckedCodings
from scripts.errors import ConfigurationError

GRAINS = ("segment", "turn", "transcript")
ALL_CODERS = "all coders"
POOLED = "(pooled)"


@dataclass(frozen=True)
class Settings:
    """The ``agreement:`` section of config.yaml."""

    unit: str = "segment"
    iterations: int = 1000
    seed: int = 20240601
    confidence: float = 0.95
    paradox_gap: float = 0.3
    minimum_alpha: float | None = None
    minimum_alpha_per_code: float | None = None
    on_low_alpha: str = "warn"

    @classmethod
    def from_config(cls, section: dict) -> "Settings":
        minimum = section.get("minimum_alpha")
        per_code = section.get("minimum_alpha_per_code")
        return cls(
            unit=section.get("unit", "segment"),
            iterations=int(section.get("bootstrap_iterations", 1000)),
            seed=int(section.get("seed", 20240601)),
            confidence=float(section.get("confidence", 0.95)),
            paradox_gap=float(section.get("paradox_gap", 0.3)),
            minimum_alpha=minimum,
            minimum_alpha_per_code=per_code if per_code is not None else minimum,
            on_low_alpha=section.get("on_low_alpha", "warn"),
        )


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------


@dataclass
class Units:
    """The units of one comparison: ``presence`` is coders x units x codes (bool)."""

    coders: tuple[str, ...]
    unit_ids: list[str]
    presence: np.ndarray
    transcripts: tuple[str, ...]
    n_segments: int
    n_segments_left_out: int


def unit_key(row: dict[str, str], grain: str) -> str:
    if grain == "segment":
        return row["segment_id"]
    if grain == "turn":
        return f"{row['transcript_id']}-{int(row['turn']):04d}"
    if grain == "transcript":
        return row["transcript_id"]
    raise ConfigurationError(
        None, f"unknown agreement unit '{grain}'", f"Use one of: {', '.join(GRAINS)}"
    )


class Corpus:
    """Coded segments and every coder's codings as arrays, shared by all comparisons."""

    def __init__(
        self,
        checked: CheckedCodings,
        segments: Segments,
        codebook: Codebook,
        roles: Sequence[str],
        grain: str,
    ):
        self.checked = checked
        self.segments = segments
        self.codebook = codebook
        self.grain = grain
        self.n_codes = len(codebook.code_ids)
        roles = set(roles)
        self.in_role = np.array(
            [i for i, row in enumerate(segments.rows) if row["role"] in roles], dtype=np.int64
        )
        self.transcript_number = {
            transcript: t
            for t, transcript in enumerate(sorted({row["transcript_id"] for row in segments.rows}))
        }
        self.transcript_of = np.array(
            [self.transcript_number[row["transcript_id"]] for row in segments.rows], dtype=np.int64
        )
        self.keys = [unit_key(row, grain) for row in segments.rows]
        self.applied: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for coder, pairs in checked.applied.items():
            ordered = sorted(pairs)
            self.applied[coder] = (
                np.array([s for s, _ in ordered], dtype=np.int64),
                np.array([k for _, k in ordered], dtype=np.int64),
            )

    def segments_of(self, transcripts: set[str] | frozenset[str]) -> np.ndarray:
        """In-role segment positions of these transcripts, in corpus order."""
        if not transcripts:
            return np.zeros(0, dtype=np.int64)
        wanted = np.zeros(len(self.transcript_number) + 1, dtype=bool)
        wanted[[self.transcript_number.get(transcript, -1) for transcript in transcripts]] = True
        wanted[-1] = False  # transcripts without segments here
        mask = wanted[self.transcript_of[self.in_role]]
        return self.in_role[mask]

    def segment_matrix(self, coder: str, selected: np.ndarray) -> np.ndarray:
        """selected segments x codes: did the coder apply the code to the segment."""
        position = np.full(len(self.segments.rows), -1, dtype=np.int64)
        position[selected] = np.arange(selected.size)
        matrix = np.zeros((selected.size, self.n_codes), dtype=bool)
        seg, code = self.applied.get(coder, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        keep = position[seg] >= 0
        matrix[position[seg[keep]], code[keep]] = True
        return matrix

    def units(self, coders: Sequence[str]) -> Units:
        """Units that all these coders were asked to code, with each coder's presence matrix."""
        asked = [self.checked.asked[coder] for coder in coders]
        common = frozenset.intersection(*asked)
        anyone = frozenset.union(*asked)
        selected = self.segments_of(common)
        left_out = self.segments_of(anyone - common).size
        keys = [self.keys[i] for i in selected]
        starts = [i for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1]]
        presence = np.zeros((len(coders), len(starts), self.n_codes), dtype=bool)
        if starts:
            for g, coder in enumerate(coders):
                presence[g] = np.logical_or.reduceat(
                    self.segment_matrix(coder, selected), starts, axis=0
                )
        return Units(
            tuple(coders),
            [keys[i] for i in starts],
            presence,
            tuple(sorted(common)),
            int(selected.size),
            int(left_out),
        )


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def _value(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return round(x, 4) if np.isfinite(x) else None


def figures(codes: np.ndarray, settings: Settings, rng: np.random.Generator) -> dict[str, Any]:
    """Point estimates (engine), bootstrap intervals, prevalence and the paradox flag of one
    coders x units presence matrix (1 = code present)."""
    codes = np.asarray(codes, dtype=np.int8)
    n_coders, n_units = codes.shape
    row: dict[str, Any] = {"n_units": n_units}
    row["n_present"] = int(codes.any(axis=0).sum())
    row["prevalence"] = _value(codes.mean()) if codes.size else None
    if n_units:
        point = coefficients(codes, 2, level="nominal", alpha_backend="numpy")
        samples = bootstrap(codes, 2, settings.iterations, rng)
    else:
        point = {name: None for name in COEFFICIENTS}
        samples = {name: np.zeros(0) for name in COEFFICIENTS}
    for name in COEFFICIENTS:
        low, high = interval(samples[name], settings.confidence)
        row[name] = _value(point[name])
        row[f"{name}_low"] = _value(low)
        row[f"{name}_high"] = _value(high)
    kappa = row["cohen_kappa"] if n_coders == 2 else row["fleiss_kappa"]
    row["kappa"] = kappa
    gap = None if kappa is None or row["gwet_ac1"] is None else abs(row["gwet_ac1"] - kappa)
    row["kappa_ac1_gap"] = _value(gap)
    row["prevalence_paradox"] = "yes" if gap is not None and gap >= settings.paradox_gap else "no"
    return row


def _below(alpha: float | None, minimum: float | None) -> str:
    if minimum is None:
        return ""
    if alpha is None:
        return "undefined"
    return "yes" if alpha < minimum else "no"


FIGURE_COLUMNS = [
    "n_units",
    "n_present",
    "prevalence",
    *[f"{name}{suffix}" for name in COEFFICIENTS for suffix in ("", "_low", "_high")],
    "kappa",
    "kappa_ac1_gap",
    "prevalence_paradox",
    "below_minimum_alpha",
]
BY_CODE_COLUMNS = ["code_id", "theme_id", "code_label", "coders", "applied", *FIGURE_COLUMNS]
BY_PAIR_COLUMNS = [
    "coder_a",
    "coder_b",
    "code_id",
    "theme_id",
    *BY_CODE_COLUMNS[3:5],
    *FIGURE_COLUMNS,
]
SUMMARY_COLUMNS = [
    "comparison",
    "coders",
    "unit",
    "n_codes",
    "n_transcripts",
    "n_segments",
    "n_segments_left_out",
    "applied",
    *FIGURE_COLUMNS,
]
DISAGREEMENT_COLUMNS = [
    "code_id",
    "unit_id",
    "segment_id",
    "transcript_id",
    "turn",
    "context_before",
    "text",
    "context_after",
    "applied_by",
    "not_applied_by",
    "consensus",
]
COVERAGE_COLUMNS = [
    "coder",
    "transcripts_coded",
    "segments_coded",
    "codes_applied",
    "transcripts_not_coded",
]


def _applied(units: Units, code: int | None) -> str:
    parts = []
    for g, coder in enumerate(units.coders):
        matrix = units.presence[g] if code is None else units.presence[g][:, code]
        parts.append(f"{coder}={int(matrix.sum())}")
    return " ".join(parts)


def _codes_matrix(units: Units, code: int | None) -> np.ndarray:
    if code is None:  # pooled: every (unit, code) is a unit
        return units.presence.reshape(len(units.coders), -1)
    return units.presence[:, :, code]


@dataclass
class Tables:
    by_code: list[dict]
    by_pair: list[dict]
    summary: list[dict]
    disagreements: list[dict]
    coverage: list[dict]


def compare(corpus: Corpus, settings: Settings) -> Tables:
    """All comparisons: every code and pooled, all compared coders and each pair."""
    coders = corpus.checked.coders
    codebook = corpus.codebook
    minimum, per_code = settings.minimum_alpha, settings.minimum_alpha_per_code
    # with two coders, the pair is all coders: computed once, reported in by_code and by_pair
    comparisons = [tuple(coders)] + (list(combinations(coders, 2)) if len(coders) > 2 else [])
    by_code, by_pair, summary = [], [], []
    for index, group in enumerate(comparisons):
        units = corpus.units(group)
        label = ALL_CODERS if index == 0 else f"{group[0]} vs {group[1]}"
        names = ",".join(group)
        pooled = figures(
            _codes_matrix(units, None),
            settings,
            stream(settings.seed, POOLED, names, settings.unit),
        )
        pooled["below_minimum_alpha"] = _below(pooled["krippendorff_alpha"], minimum)
        summary.append(
            {
                "comparison": label,
                "coders": names,
                "unit": settings.unit,
                "n_codes": corpus.n_codes,
                "n_transcripts": len(units.transcripts),
                "n_segments": units.n_segments,
                "n_segments_left_out": units.n_segments_left_out,
                "applied": _applied(units, None),
                **pooled,
            }
        )
        for k, code in enumerate(codebook.codes):
            row = figures(
                _codes_matrix(units, k),
                settings,
                stream(settings.seed, code.id, names, settings.unit),
            )
            row["below_minimum_alpha"] = _below(row["krippendorff_alpha"], per_code)
            row.update(
                {
                    "code_id": code.id,
                    "theme_id": code.theme_id,
                    "code_label": code.label,
                    "coders": names,
                    "applied": _applied(units, k),
                }
            )
            if index == 0:
                by_code.append(row)
            if len(group) == 2:
                by_pair.append({**row, "coder_a": group[0], "coder_b": group[1]})
    by_pair.sort(key=lambda row: (row["coder_a"], row["coder_b"], row["code_id"]))
    by_code.sort(key=lambda row: row["code_id"])
    return Tables(by_code, by_pair, summary, disagreements(corpus), coverage(corpus))


def context(segments: Segments, position: int) -> tuple[str, str]:
    """The segments before and after one (same transcript), each as "Speaker: text": what a
    reconciliation meeting needs to judge a short segment ("Mm.", "Never."). De-identified
    segments only, as everything here."""

    def shown(index: int) -> str:
        if not 0 <= index < len(segments.rows):
            return ""
        row = segments.rows[index]
        if row["transcript_id"] != segments.rows[position]["transcript_id"]:
            return ""
        return f"{row['speaker'] or row['role']}: {row['text']}"

    return shown(position - 1), shown(position + 1)


def disagreements(corpus: Corpus) -> list[dict]:
    """Every (unit, code) where the coders who coded the transcript disagree, listed per segment
    where any of them applied the code, with the de-identified text and the segments before and
    after it (for reconciliation).

    Unlike the figures, a transcript counts here as soon as two compared coders coded it.
    """
    checked = corpus.checked
    coders = checked.coders
    by_group: dict[tuple[str, ...], set[str]] = {}
    for transcript in sorted(set().union(*(checked.asked[coder] for coder in coders))):
        group = tuple(coder for coder in coders if transcript in checked.asked[coder])
        if len(group) >= 2:
            by_group.setdefault(group, set()).add(transcript)
    consensus = checked.consensus
    consensus_applied = checked.applied.get(consensus, set()) if consensus else set()
    consensus_asked = checked.asked.get(consensus, frozenset()) if consensus else frozenset()
    rows = []
    for group, transcripts in sorted(by_group.items()):
        selected = corpus.segments_of(transcripts)
        if not selected.size:
            continue
        matrices = np.stack(
            [corpus.segment_matrix(coder, selected) for coder in group]
        )  # coders x segs x codes
        keys = [corpus.keys[i] for i in selected]
        starts = [i for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1]]
        ends = starts[1:] + [len(keys)]
        presence = np.logical_or.reduceat(matrices, starts, axis=1)  # coders x units x codes
        disputed = presence.any(axis=0) & ~presence.all(axis=0)
        for unit, code in zip(*np.nonzero(disputed)):
            code_id = corpus.codebook.codes[code].id
            for position in range(starts[unit], ends[unit]):
                by = [coder for g, coder in enumerate(group) if matrices[g, position, code]]
                if not by:
                    continue
                segment_index = int(selected[position])
                segment = corpus.segments.rows[segment_index]
                if segment["transcript_id"] not in consensus_asked:
                    verdict = ""
                else:
                    verdict = "yes" if (segment_index, int(code)) in consensus_applied else "no"
                before, after = context(corpus.segments, segment_index)
                rows.append(
                    {
                        "code_id": code_id,
                        "unit_id": keys[starts[unit]],
                        "segment_id": segment["segment_id"],
                        "transcript_id": segment["transcript_id"],
                        "turn": segment["turn"],
                        "context_before": before,
                        "text": segment["text"],
                        "context_after": after,
                        "applied_by": ",".join(by),
                        "not_applied_by": ",".join(c for c in group if c not in by),
                        "consensus": verdict,
                    }
                )
    rows.sort(key=lambda row: (row["code_id"], row["unit_id"], row["segment_id"]))
    return rows


def coverage(corpus: Corpus) -> list[dict]:
    """Per coder (and the consensus): what they coded and which coded transcripts they did not."""
    checked = corpus.checked
    everyone = frozenset().union(*(checked.asked[coder] for coder in checked.coders))
    rows = []
    for coder in [*checked.coders, *([checked.consensus] if checked.consensus else [])]:
        asked = checked.asked[coder]
        rows.append(
            {
                "coder": coder,
                "transcripts_coded": len(asked),
                "segments_coded": int(corpus.segments_of(asked).size),
                "codes_applied": len(checked.applied[coder]),
                "transcripts_not_coded": ",".join(sorted(everyone - asked)),
            }
        )
    return rows
