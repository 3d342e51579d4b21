"""Inter-coder agreement of the human codings (the ``agreement`` rule).

Unit: (unit, code) presence per coder, where the unit is a segment, a speaker turn or a whole
transcript (``agreement.unit``); a code is present in a turn or a transcript when the coder
applied it to any of its segments. Only segments whose role is coded (``coding.roles``) count,
and a comparison between coders uses only the transcripts that all of them were asked to code
(the others are counted as left out).

Figures, for every code and pooled over codes, for all compared coders and for each pair: the
coefficients of :func:`scripts.agreement.coefficients` (point estimates from the engine itself)
with percentile bootstrap confidence intervals, the prevalence of the code and a flag where
kappa and Gwet's AC1 disagree strongly (the prevalence paradox of rare codes).

Bootstrap: resampling the n units with replacement only changes how many times each distinct
rating pattern occurs (with binary presence and 3 coders there are at most 8 patterns), and the
counts of the patterns follow a multinomial distribution with the observed pattern shares. So
each replicate is one multinomial draw, and :func:`pattern_coefficients` computes every
coefficient for all replicates at once from the pattern counts (B x patterns matrices; tested
equal to the engine on explicitly resampled data). A comparison's random stream is seeded from
``agreement.seed``, the code and the coders, so adding a code or a coder does not change the
intervals of the others.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scripts import agreement as engine
from scripts import codings as coding_files
from scripts.codebook import Codebook, load_codebook
from scripts.codings import CheckedCodings, Segments
from scripts.contracts import read_tsv, write_text, write_tsv
from scripts.errors import ConfigurationError, QualflowError

LOGGER = logging.getLogger("qualflow")
GRAINS = ("segment", "turn", "transcript")
COEFFICIENTS = (
    "percent_agreement", "percent_agreement_pairable", "krippendorff_alpha", "cohen_kappa", "scott_pi",
    "fleiss_kappa", "conger_kappa", "gwet_ac1", "brennan_prediger",
)
#: A bootstrap interval needs at least this share of replicates where the coefficient is defined.
MIN_DEFINED_SHARE = 0.5
ALL_CODERS = "all coders"
POOLED = "(pooled)"


class QualityGateError(QualflowError):
    """Krippendorff's alpha below the minimum set in config.yaml, with on_low_alpha: fail."""


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
# Bootstrap on rating patterns (vectorised over replicates)
# ---------------------------------------------------------------------------------------------


def rating_patterns(codes: np.ndarray, n_categories: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct columns of a coders x units code matrix (-1 = missing) and their counts.

    Returns ``patterns`` (coders x P) and ``counts`` (P,), patterns in a fixed (sorted) order.
    """
    codes = np.asarray(codes, dtype=np.int64)
    n_coders = codes.shape[0]
    base = n_categories + 1
    if n_coders * np.log2(base) >= 62:  # too many coders to pack a column into one integer
        patterns, counts = np.unique(codes, axis=1, return_counts=True)
        return patterns, counts
    key = np.zeros(codes.shape[1], dtype=np.int64)
    for row in codes:  # loop over coders, not units
        key = key * base + (row + 1)
    unique, counts = np.unique(key, return_counts=True)
    patterns = np.empty((n_coders, unique.size), dtype=np.int64)
    rest = unique.copy()
    for coder in reversed(range(n_coders)):
        patterns[coder] = rest % base - 1
        rest //= base
    return patterns, counts


def _chance_corrected(pa: np.ndarray, pe: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (pa - pe) / (1.0 - pe)
    undefined = ~np.isfinite(pa) | ~np.isfinite(pe) | (1.0 - pe <= engine._UNDEFINED_TOL)
    return np.where(undefined, np.nan, out)


def pattern_coefficients(patterns: np.ndarray, weights: np.ndarray, n_categories: int) -> dict[str, np.ndarray]:
    """Every nominal, unweighted coefficient of :func:`scripts.agreement.coefficients` for many
    data sets at once: data set ``b`` holds ``weights[b, p]`` units with rating pattern ``p``.

    ``patterns``: coders x P category codes (-1 = missing); ``weights``: B x P unit counts.
    Returns arrays of shape (B,), NaN where the engine returns None.
    """
    patterns = np.asarray(patterns, dtype=np.int64)
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    q = n_categories
    n_coders = patterns.shape[0]
    n_batch = weights.shape[0]
    counts = np.stack([(patterns == k).sum(axis=0) for k in range(q)], axis=1).astype(float)  # P x q
    ratings = counts.sum(axis=1)
    pairable = ratings >= 2
    rated = ratings > 0
    nan = np.full(n_batch, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        w_pair = weights[:, pairable]
        c_pair = counts[pairable]
        r_pair = ratings[pairable]
        same = (c_pair * (c_pair - 1.0)).sum(axis=1)
        pairable_units = w_pair.sum(axis=1)
        pa = np.where(pairable_units > 0, (w_pair @ (same / (r_pair * (r_pair - 1.0)))) / pairable_units, np.nan)
        pa_pairable = np.where(pairable_units > 0, (w_pair @ (same / (r_pair - 1.0))) / (w_pair @ r_pair), np.nan)
        w_rated = weights[:, rated]
        rated_units = w_rated.sum(axis=1)
        pi = (w_rated @ (counts[rated] / ratings[rated, None])) / rated_units[:, None]  # B x q
        out: dict[str, np.ndarray] = {"percent_agreement": pa, "percent_agreement_pairable": pa_pairable}
        fleiss = _chance_corrected(pa, (pi**2).sum(axis=1))
        out["fleiss_kappa"] = fleiss if n_coders >= 2 else nan
        out["scott_pi"] = fleiss if n_coders == 2 else nan
        out["gwet_ac1"] = _chance_corrected(pa, (pi * (1.0 - pi)).sum(axis=1) / (q - 1)) if q >= 2 else nan
        out["brennan_prediger"] = _chance_corrected(pa, np.full(n_batch, 1.0 / q)) if q >= 2 else nan
        # Krippendorff's alpha (nominal) from the coincidence matrix o_kl
        unit_coincidences = (
            c_pair[:, :, None] * c_pair[:, None, :] - np.eye(q)[None] * c_pair[:, :, None]
        ) / (r_pair - 1.0)[:, None, None]
        o = (w_pair @ unit_coincidences.reshape(-1, q * q)).reshape(n_batch, q, q)
        n_k = o.sum(axis=2)
        n = n_k.sum(axis=1)
        observed = n - np.trace(o, axis1=1, axis2=2)
        expected = (n**2 - (n_k**2).sum(axis=1)) / (n - 1.0)
        defined = (pairable_units > 0) & (expected > engine._UNDEFINED_TOL)
        out["krippendorff_alpha"] = np.where(defined, 1.0 - observed / expected, np.nan)
        # Conger: chance agreement from each coder's own category shares
        if n_coders >= 2:
            classif = np.stack(
                [weights @ (patterns[g][:, None] == np.arange(q)[None, :]).astype(float) for g in range(n_coders)], axis=1
            )  # B x coders x q
            per_coder = classif.sum(axis=2)
            p = classif / per_coder[:, :, None]
            p_mean = p.mean(axis=1)
            s2 = ((p**2).sum(axis=1) - n_coders * p_mean**2) / (n_coders - 1)
            conger = _chance_corrected(pa, (p_mean**2 - s2 / n_coders).sum(axis=1))
            out["conger_kappa"] = np.where((per_coder > 0).all(axis=1), conger, np.nan)
        else:
            out["conger_kappa"] = nan
        # Cohen: the 2 x 2 (q x q) table of the units both coders rated
        if n_coders == 2:
            both = (patterns[0] >= 0) & (patterns[1] >= 0)
            cell = patterns[0][both] * q + patterns[1][both]
            onehot = (cell[:, None] == np.arange(q * q)[None, :]).astype(float)
            table = (weights[:, both] @ onehot).reshape(n_batch, q, q)
            total = table.sum(axis=(1, 2))
            agree = np.trace(table, axis1=1, axis2=2) / total
            chance = (table.sum(axis=2) * table.sum(axis=1)).sum(axis=1) / total**2
            out["cohen_kappa"] = np.where(total > 0, _chance_corrected(agree, chance), np.nan)
        else:
            out["cohen_kappa"] = nan
    return {name: out[name] for name in COEFFICIENTS}


def bootstrap(codes: np.ndarray, n_categories: int, iterations: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Coefficients of ``iterations`` bootstrap replicates (units resampled with replacement)."""
    patterns, counts = rating_patterns(codes, n_categories)
    total = int(counts.sum())
    if total == 0 or iterations == 0:
        return {name: np.full(iterations, np.nan) for name in COEFFICIENTS}
    draws = rng.multinomial(total, counts / total, size=iterations)
    return pattern_coefficients(patterns, draws, n_categories)


def interval(samples: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    """Percentile interval over the replicates where the coefficient is defined."""
    defined = samples[np.isfinite(samples)]
    if samples.size == 0 or defined.size < MIN_DEFINED_SHARE * samples.size:
        return None, None
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(defined, [tail, 1.0 - tail])
    return float(low), float(high)


def stream(seed: int, *names: str) -> np.random.Generator:
    """A random generator for one comparison: the same seed and names give the same stream."""
    words = [int.from_bytes(hashlib.sha1(name.encode()).digest()[:4], "big") for name in names]
    return np.random.default_rng([seed, *words])


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
    raise ConfigurationError(None, f"unknown agreement unit '{grain}'", f"Use one of: {', '.join(GRAINS)}")


class Corpus:
    """Coded segments and every coder's codings as arrays, shared by all comparisons."""

    def __init__(self, checked: CheckedCodings, segments: Segments, codebook: Codebook, roles: Sequence[str], grain: str):
        self.checked = checked
        self.segments = segments
        self.codebook = codebook
        self.grain = grain
        self.n_codes = len(codebook.code_ids)
        roles = set(roles)
        self.in_role = np.array([i for i, row in enumerate(segments.rows) if row["role"] in roles], dtype=np.int64)
        self.transcript_number = {transcript: t for t, transcript in enumerate(sorted({row["transcript_id"] for row in segments.rows}))}
        self.transcript_of = np.array([self.transcript_number[row["transcript_id"]] for row in segments.rows], dtype=np.int64)
        self.keys = [unit_key(row, grain) for row in segments.rows]
        self.applied: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for coder, pairs in checked.applied.items():
            ordered = sorted(pairs)
            self.applied[coder] = (
                np.array([s for s, _ in ordered], dtype=np.int64), np.array([k for _, k in ordered], dtype=np.int64),
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
                presence[g] = np.logical_or.reduceat(self.segment_matrix(coder, selected), starts, axis=0)
        return Units(tuple(coders), [keys[i] for i in starts], presence, tuple(sorted(common)), int(selected.size), int(left_out))


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
        point = engine.coefficients(codes, 2, level="nominal", alpha_backend="numpy")
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
    "n_units", "n_present", "prevalence",
    *[f"{name}{suffix}" for name in COEFFICIENTS for suffix in ("", "_low", "_high")],
    "kappa", "kappa_ac1_gap", "prevalence_paradox", "below_minimum_alpha",
]
BY_CODE_COLUMNS = ["code_id", "theme_id", "code_label", "coders", "applied", *FIGURE_COLUMNS]
BY_PAIR_COLUMNS = ["coder_a", "coder_b", "code_id", "theme_id", *BY_CODE_COLUMNS[3:5], *FIGURE_COLUMNS]
SUMMARY_COLUMNS = [
    "comparison", "coders", "unit", "n_codes", "n_transcripts", "n_segments", "n_segments_left_out", "applied",
    *FIGURE_COLUMNS,
]
DISAGREEMENT_COLUMNS = [
    "code_id", "unit_id", "segment_id", "transcript_id", "turn", "context_before", "text", "context_after", "applied_by",
    "not_applied_by", "consensus",
]
COVERAGE_COLUMNS = ["coder", "transcripts_coded", "segments_coded", "codes_applied", "transcripts_not_coded"]


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
        pooled = figures(_codes_matrix(units, None), settings, stream(settings.seed, POOLED, names, settings.unit))
        pooled["below_minimum_alpha"] = _below(pooled["krippendorff_alpha"], minimum)
        summary.append({
            "comparison": label, "coders": names, "unit": settings.unit, "n_codes": corpus.n_codes,
            "n_transcripts": len(units.transcripts), "n_segments": units.n_segments,
            "n_segments_left_out": units.n_segments_left_out, "applied": _applied(units, None), **pooled,
        })
        for k, code in enumerate(codebook.codes):
            row = figures(_codes_matrix(units, k), settings, stream(settings.seed, code.id, names, settings.unit))
            row["below_minimum_alpha"] = _below(row["krippendorff_alpha"], per_code)
            row.update({"code_id": code.id, "theme_id": code.theme_id, "code_label": code.label, "coders": names,
                        "applied": _applied(units, k)})
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
        matrices = np.stack([corpus.segment_matrix(coder, selected) for coder in group])  # coders x segs x codes
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
                rows.append({
                    "code_id": code_id, "unit_id": keys[starts[unit]], "segment_id": segment["segment_id"],
                    "transcript_id": segment["transcript_id"], "turn": segment["turn"], "context_before": before,
                    "text": segment["text"], "context_after": after,
                    "applied_by": ",".join(by), "not_applied_by": ",".join(c for c in group if c not in by),
                    "consensus": verdict,
                })
    rows.sort(key=lambda row: (row["code_id"], row["unit_id"], row["segment_id"]))
    return rows


def coverage(corpus: Corpus) -> list[dict]:
    """Per coder (and the consensus): what they coded and which coded transcripts they did not."""
    checked = corpus.checked
    everyone = frozenset().union(*(checked.asked[coder] for coder in checked.coders))
    rows = []
    for coder in [*checked.coders, *([checked.consensus] if checked.consensus else [])]:
        asked = checked.asked[coder]
        rows.append({
            "coder": coder, "transcripts_coded": len(asked), "segments_coded": int(corpus.segments_of(asked).size),
            "codes_applied": len(checked.applied[coder]),
            "transcripts_not_coded": ",".join(sorted(everyone - asked)),
        })
    return rows


# ---------------------------------------------------------------------------------------------
# Quality gate
# ---------------------------------------------------------------------------------------------


def low_alpha(summary: Sequence[dict], by_code: Sequence[dict], minimum: float | None, per_code: float | None) -> list[tuple[str, float]]:
    """(what, alpha) below the minimum: 'pooled' (all coders) first, then codes, worst first.

    An undefined alpha (a code nobody or everybody applied) is not below the minimum.
    """
    low = []
    pooled = _float(summary[0].get("krippendorff_alpha")) if summary else None
    if minimum is not None and pooled is not None and pooled < minimum:
        low.append(("pooled", pooled))
    if per_code is not None:
        codes = [(row["code_id"], _float(row.get("krippendorff_alpha"))) for row in by_code]
        low.extend(sorted(((code, alpha) for code, alpha in codes if alpha is not None and alpha < per_code), key=lambda item: (item[1], item[0])))
    return low


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


GATE_COLUMNS = ["scope", "krippendorff_alpha", "minimum", "status"]


def quality_gate(summary: Sequence[dict], by_code: Sequence[dict], settings: Settings) -> tuple[list[dict], list[tuple[str, float]]]:
    """Rows of quality_gate.tsv (pooled, then every code) and the list of scopes below the minimum."""
    low = low_alpha(summary, by_code, settings.minimum_alpha, settings.minimum_alpha_per_code)
    below = dict(low)
    rows = []
    scopes = [("pooled", summary[0] if summary else {}, settings.minimum_alpha)]
    scopes += [(row["code_id"], row, settings.minimum_alpha_per_code) for row in by_code]
    for scope, row, minimum in scopes:
        alpha = _float(row.get("krippendorff_alpha"))
        status = "no minimum" if minimum is None else ("undefined" if alpha is None else ("below" if scope in below else "ok"))
        rows.append({"scope": scope, "krippendorff_alpha": alpha, "minimum": minimum, "status": status})
    return rows, low


def describe_low(low: Sequence[tuple[str, float]], settings: Settings) -> str:
    """One line naming every figure below the minimum, e.g. 'pooled (0.612), enacted_stigma (0.401)'."""
    parts = [f"{scope} ({alpha:.3f})" for scope, alpha in low]
    if settings.minimum_alpha == settings.minimum_alpha_per_code:
        thresholds = f"{settings.minimum_alpha}"
    else:
        thresholds = f"{settings.minimum_alpha} pooled, {settings.minimum_alpha_per_code} per code"
    return f"Krippendorff's alpha below the minimum ({thresholds}) for {len(low)} of the checked figures: {', '.join(parts)}"


# ---------------------------------------------------------------------------------------------
# The rule
# ---------------------------------------------------------------------------------------------


def compared_coders(coders: Sequence[str], coding: dict) -> list[str]:
    """Coders to compare: coding.coders if set, else every coder (a folder with coding files)
    but the consensus."""
    consensus = coding.get("consensus")
    wanted = coding.get("coders") or [coder for coder in coders if coder != consensus]
    if consensus in wanted:
        raise ConfigurationError(
            "config.yaml", f"coding.coders names {consensus}, the consensus coding",
            "Compare coders only; the consensus is checked, not compared",
        )
    missing = [coder for coder in wanted if coder not in coders]
    if missing:
        raise ConfigurationError(
            "config.yaml", f"coding.coders names {', '.join(missing)}, which has no coding files under the coding folder",
            "Add the coder's files or remove the coder from coding.coders",
        )
    return sorted(wanted)


def run(
    codebook_path: str, anchored: Sequence, coders: Sequence[str], segment_paths: Sequence[str], coding: dict,
    settings: Settings, corpus_transcripts: Sequence[str], log_hint: str,
) -> tuple[Tables, CheckedCodings, Codebook]:
    """Read the re-anchored codings (rule anchor_codings: codings, transcripts and problems
    tables), check them (raise on coding errors, after logging them all) and compare.
    ``coders``: the coder folders with files."""
    from scripts.anchor_codings import load_anchored

    if settings.unit not in GRAINS:
        raise ConfigurationError("config.yaml", f"agreement.unit must be one of {', '.join(GRAINS)}", "Fix config.yaml")
    codebook = load_codebook(codebook_path)
    compared = compared_coders(list(coders), coding)
    if len(compared) < 2:
        raise ConfigurationError(
            "config.yaml", f"agreement needs at least two coders, found {len(compared)}",
            "Add a second coder's folder under the coding folder (paths.coding)",
        )
    segments = coding_files.load_segments(segment_paths)
    consensus = coding.get("consensus")
    parsed = load_anchored(anchored, coders=[*compared, *([consensus] if consensus in coders else [])])
    checked = coding_files.check_codings(
        parsed, segments, codebook, coding["roles"], compared, consensus, corpus_transcripts,
    )
    for problem in checked.problems:
        (LOGGER.error if problem.severity == "error" else LOGGER.warning)("%s", problem.message())
    coding_files.raise_on_errors(checked, log_hint)
    corpus = Corpus(checked, segments, codebook, coding["roles"], settings.unit)
    return compare(corpus, settings), checked, codebook


def agreement_job(
    codebook_path: str, anchored: Sequence[Sequence[str]], coders: Sequence[str], segment_paths: Sequence[str],
    outputs: Any, coding: dict, agreement: dict, corpus_transcripts: Sequence[str], log: str,
) -> None:
    """The ``agreement`` rule: outputs by_code, by_pair, summary, disagreements, problems, report.
    ``anchored``: the codings, transcripts, problems and anchoring tables of rule anchor_codings
    (a list of each, one per coder; the anchoring tables list the codings followed to the text as
    it is now, and those to re-check)."""
    from scripts import agreement_html
    from scripts.jobs import job_log

    settings = Settings.from_config(agreement)
    with job_log(log) as logger:
        tables, checked, codebook = run(
            codebook_path, anchored, coders, segment_paths, coding, settings, corpus_transcripts, log,
        )
        write_tsv(Path(outputs["by_code"]), tables.by_code, BY_CODE_COLUMNS)
        write_tsv(Path(outputs["by_pair"]), tables.by_pair, BY_PAIR_COLUMNS)
        write_tsv(Path(outputs["summary"]), tables.summary, SUMMARY_COLUMNS)
        write_tsv(Path(outputs["disagreements"]), tables.disagreements, DISAGREEMENT_COLUMNS)
        write_tsv(Path(outputs["problems"]), [p.as_row() for p in checked.problems], coding_files.PROBLEM_COLUMNS)
        followed = [row for path in anchored[3] for row in read_tsv(Path(path))]
        page = agreement_html.render(tables, checked, codebook, settings, coding, followed)
        write_text(Path(outputs["report"]), page)
        pooled = tables.summary[0]
        logger.info(
            "%d coders, %d transcripts, %d units x %d codes; pooled alpha %s; %d disagreements; %d warnings",
            len(checked.coders), pooled["n_transcripts"], pooled["n_units"] // max(1, pooled["n_codes"]),
            pooled["n_codes"], pooled["krippendorff_alpha"], len(tables.disagreements), len(checked.warnings),
        )


def quality_gate_job(summary: str, by_code: str, output: str, agreement: dict, log: str) -> None:
    """The ``agreement_gate`` rule: warn about, or fail on, alpha below the configured minimum."""
    from scripts.jobs import job_log

    settings = Settings.from_config(agreement)
    with job_log(log) as logger:
        rows, low = quality_gate(read_tsv(Path(summary)), read_tsv(Path(by_code)), settings)
        if low:
            message = describe_low(low, settings)
            if settings.on_low_alpha == "fail":
                raise QualityGateError(
                    by_code, message,
                    "Reconcile these codes (see results/agreement/report.html), or change agreement.minimum_alpha "
                    "or agreement.on_low_alpha in config.yaml",
                )
            logger.warning("%s: %s. See results/agreement/report.html", by_code, message)
        write_tsv(Path(output), rows, GATE_COLUMNS)
        logger.info("%d figures checked, %d below the minimum", len(rows), len(low))
