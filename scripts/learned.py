"""Learned code suggestions and the measured quality of the coding assistance.

* The **final coding** (``coding.final``): the consensus folder, one coder's folder, or ``union``
  (a code applies where any compared coder applied it). Its coded segments are the segments of
  coded roles (``coding.roles``) in the transcripts it was asked to code.
* **Learned suggestions** (rule ``learned_candidates``): TF-IDF of the de-identified segment text
  (words and word pairs) and one logistic regression per code (one-vs-rest, seeded,
  class-balanced) trained on the final coding; for every segment of a coded role that the final
  coding did not code, the codes whose probability reaches ``candidates.learned.threshold``.
* **Quality** (rule ``candidate_quality``): per code and pooled (micro), precision, recall, F1 and
  support against the final coding on its coded segments, for keyword candidates alone (rows of
  ``results/candidates/{transcript}.tsv`` not flagged negated), learned suggestions alone
  (cross-validated with GroupKFold over transcripts: no transcript is in both the training and
  the test folds) and both together (union).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from scripts import coding_records
from scripts import codings as coding_files
from scripts.codebook import Codebook, load_codebook
from scripts.contracts import read_tsv, write_tsv
from scripts.errors import ConfigurationError
from scripts.rule_jobs import job_log, rule_job

LOGGER = logging.getLogger("qualflow")
LEARNED_COLUMNS = ["segment_id", "code_id", "source", "score"]
QUALITY_COLUMNS = [
    "code_id",
    "method",
    "precision",
    "recall",
    "f1",
    "support",
    "predicted",
    "true_positives",
]
METHODS = ("keyword", "learned", "both")
ALL_CODES = "(micro)"


@dataclass(frozen=True)
class LearnedSettings:
    threshold: float = 0.5
    folds: int = 5
    seed: int = 20240601
    min_positives: int = 2

    @classmethod
    def from_config(cls, section: dict) -> "LearnedSettings":
        learned = section.get("learned", {})
        return cls(
            threshold=float(learned.get("threshold", 0.5)),
            folds=int(learned.get("folds", 5)),
            seed=int(learned.get("seed", 20240601)),
            min_positives=int(learned.get("min_positives", 2)),
        )


@dataclass
class FinalCoding:
    """The final coding on the loaded segments: which rows are coded and the codes applied."""

    segments: coding_records.Segments
    coded: np.ndarray  # indices of coded segments (coded role, asked transcript), corpus order
    labels: np.ndarray  # len(coded) x n_codes, 0/1
    code_ids: tuple[str, ...]


def final_coders(coding: dict, coders: Sequence[str]) -> list[str]:
    """The coder folders making the final coding (``coding.final``)."""
    final = coding.get("final", "consensus")
    if final == "union":
        return [coder for coder in coders if coder != coding.get("consensus", "consensus")]
    return [final]


def load_final_coding(
    files: Sequence[str],
    segments: coding_records.Segments,
    codebook: Codebook,
    coding: dict,
    parsed: dict[str, coding_records.CoderFiles] | None = None,
) -> FinalCoding:
    """Read (unless ``parsed`` is given) and check the final coding's files; stop on an error
    (file and row named)."""
    if parsed is None:
        grouped = coding_files.group_by_coder(files)
        qdpx = coding_files.QdpxContext.from_config(segments, codebook, coding)
        parsed = {
            coder: coding_files.read_coder(coder, paths, qdpx) for coder, paths in grouped.items()
        }
    roles = coding.get("roles", ["participant"])
    final = coding.get("final", "consensus")
    if final == "union":
        compared, consensus = sorted(parsed), None
    else:
        compared, consensus = [], final
    checked = coding_files.check_codings(
        parsed, segments, codebook, roles, compared, consensus, segments.transcripts
    )
    for problem in checked.problems:
        (LOGGER.error if problem.severity == "error" else LOGGER.warning)("%s", problem.message())
    coding_files.raise_on_errors(checked, "the job's log")
    asked = set().union(*checked.asked.values()) if checked.asked else set()
    applied = set().union(*checked.applied.values()) if checked.applied else set()
    roles = set(roles)
    coded = np.array(
        [
            i
            for i, row in enumerate(segments.rows)
            if row["transcript_id"] in asked and row["role"] in roles
        ],
        dtype=int,
    )
    position = {int(i): k for k, i in enumerate(coded)}
    labels = np.zeros((len(coded), len(codebook.code_ids)), dtype=int)
    for segment, code in applied:
        if segment in position:
            labels[position[segment], code] = 1
    return FinalCoding(segments, coded, labels, codebook.code_ids)


def _model(settings: LearnedSettings):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=4.0, class_weight="balanced", max_iter=1000, random_state=settings.seed
    )


def _vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        lowercase=True, ngram_range=(1, 2), min_df=1, sublinear_tf=True, strip_accents="unicode"
    )


def fit_predict(
    train_texts: Sequence[str],
    train_labels: np.ndarray,
    test_texts: Sequence[str],
    settings: LearnedSettings,
) -> np.ndarray:
    """Probabilities (test x codes): one-vs-rest logistic regressions on TF-IDF.

    A code with fewer than ``min_positives`` positive (or negative) training segments gets
    probability 0 (nothing to learn from).
    """
    probabilities = np.zeros((len(test_texts), train_labels.shape[1]))
    if not len(test_texts) or not len(train_texts):
        return probabilities
    vectorizer = _vectorizer()
    train = vectorizer.fit_transform(train_texts)
    test = vectorizer.transform(test_texts)
    for code in range(train_labels.shape[1]):
        y = train_labels[:, code]
        if y.sum() < settings.min_positives or (len(y) - y.sum()) < settings.min_positives:
            continue
        probabilities[:, code] = _model(settings).fit(train, y).predict_proba(test)[:, 1]
    return probabilities


def cross_validated(final: FinalCoding, settings: LearnedSettings) -> np.ndarray:
    """Out-of-fold probabilities for the coded segments, folds grouped by transcript."""
    from sklearn.model_selection import GroupKFold

    rows = final.segments.rows
    texts = [rows[i]["text"] for i in final.coded]
    groups = np.array([rows[i]["transcript_id"] for i in final.coded])
    probabilities = np.zeros(final.labels.shape)
    n_groups = len(set(groups.tolist()))
    if n_groups < 2:
        LOGGER.warning(
            "learned: the final coding covers %d transcript(s); cross-validation needs 2", n_groups
        )
        return probabilities
    for train, test in GroupKFold(n_splits=min(settings.folds, n_groups)).split(
        texts, groups=groups
    ):
        probabilities[test] = fit_predict(
            [texts[i] for i in train], final.labels[train], [texts[i] for i in test], settings
        )
    return probabilities


def suggest(final: FinalCoding, roles: Sequence[str], settings: LearnedSettings) -> list[dict]:
    """Learned suggestions for the segments of coded roles that the final coding did not code."""
    rows = final.segments.rows
    coded = set(final.coded.tolist())
    roles = set(roles)
    uncoded = [i for i, row in enumerate(rows) if row["role"] in roles and i not in coded]
    probabilities = fit_predict(
        [rows[i]["text"] for i in final.coded],
        final.labels,
        [rows[i]["text"] for i in uncoded],
        settings,
    )
    out = []
    for k, i in enumerate(uncoded):
        for code, code_id in enumerate(final.code_ids):
            if probabilities[k, code] >= settings.threshold:
                out.append(
                    {
                        "segment_id": rows[i]["segment_id"],
                        "code_id": code_id,
                        "source": "learned",
                        "score": round(float(probabilities[k, code]), 4),
                    }
                )
    return out


def keyword_predictions(candidate_files: Sequence[str], final: FinalCoding) -> np.ndarray:
    """0/1 matrix (coded segments x codes): a non-negated keyword or pattern candidate."""
    position = {final.segments.rows[i]["segment_id"]: k for k, i in enumerate(final.coded)}
    code_index = {code_id: k for k, code_id in enumerate(final.code_ids)}
    predicted = np.zeros(final.labels.shape, dtype=int)
    for path in candidate_files:
        for row in read_tsv(Path(path)):
            k = position.get(row["segment_id"])
            if k is not None and row["negated"] == "0" and row["code_id"] in code_index:
                predicted[k, code_index[row["code_id"]]] = 1
    return predicted


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def quality_rows(
    truth: np.ndarray, predictions: dict[str, np.ndarray], code_ids: Sequence[str]
) -> list[dict]:
    """Precision, recall, F1 per code and pooled (micro) for each method; None where undefined."""
    out = []
    for code, code_id in [*enumerate(code_ids), (None, ALL_CODES)]:
        for method, predicted in predictions.items():
            t = truth if code is None else truth[:, code]
            p = predicted if code is None else predicted[:, code]
            tp, n_pred, support = int((t & p).sum()), int(p.sum()), int(t.sum())
            precision, recall = _ratio(tp, n_pred), _ratio(tp, support)
            f1 = round(2 * tp / (n_pred + support), 4) if n_pred + support else None
            out.append(
                {
                    "code_id": code_id,
                    "method": method,
                    "precision": precision,
                    "recall": recall,
                    "f1": f1,
                    "support": support,
                    "predicted": n_pred,
                    "true_positives": tp,
                }
            )
    return out


def quality(
    final: FinalCoding, candidate_files: Sequence[str], settings: LearnedSettings
) -> list[dict]:
    keyword = keyword_predictions(candidate_files, final)
    learned = (cross_validated(final, settings) >= settings.threshold).astype(int)
    return quality_rows(
        final.labels,
        {"keyword": keyword, "learned": learned, "both": keyword | learned},
        final.code_ids,
    )


def _final(
    codebook: str,
    segments: Sequence[str],
    coding: dict,
    anchored: Sequence[str] = (),
    coders: Sequence[str] = (),
    files: Sequence[str] = (),
) -> FinalCoding:
    """The final coding: from rule anchor_codings's tables (``anchored``, for the final
    ``coders``), or read from coders' ``files`` as they are (the command line)."""
    from scripts.anchored_tables import load_anchored

    book = load_codebook(codebook)
    loaded = coding_records.load_segments(segments)
    if not coders and not files:
        raise ConfigurationError(
            "config.yaml",
            f"no files for the final coding ({coding.get('final', 'consensus')})",
            "Set coding.final to a coder folder with codings, or to union",
        )
    parsed = load_anchored(anchored, coders=coders) if anchored else None
    return load_final_coding(files, loaded, book, coding, parsed=parsed)


#: The tables of rule anchor_codings that :func:`scripts.anchored_tables.load_anchored` reads, as
#: named inputs of the rules that count the final coding (a list of paths each, one per coder).
ANCHORED_TABLES = ("codings", "transcripts", "problems")


def anchored_tables(input: dict) -> list[list[str]]:
    """A job's anchored tables (inputs named :data:`ANCHORED_TABLES`), in the order they are read."""
    return [list(input[table]) for table in ANCHORED_TABLES]


@rule_job
def learned_candidates(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule learned_candidates -> results/candidates/learned.tsv (output ``learned``). Inputs: the
    anchored tables of the final ``coders`` (params), the ``codebook`` and every transcript's
    ``segments``; params ``coding`` and ``candidates``: config.yaml's sections."""
    with job_log(log) as logger:
        coding = params["coding"]
        settings = LearnedSettings.from_config(params["candidates"])
        final = _final(
            input["codebook"], input["segments"], coding, anchored_tables(input), params["coders"]
        )
        rows = suggest(final, coding.get("roles", ["participant"]), settings)
        write_tsv(Path(output["learned"]), rows, LEARNED_COLUMNS, "candidate.schema.yaml")
        logger.info(
            "learned: trained on %d coded segment(s); %d suggestion(s) for uncoded segments",
            len(final.coded),
            len(rows),
        )


def quality_of_candidates(
    codebook: str,
    anchored: Sequence[Sequence[str]],
    coders: Sequence[str],
    segments: Sequence[str],
    candidate_files: Sequence[str],
    output: str,
    coding: dict,
    candidates: dict,
    log: str,
    files: Sequence[str] = (),
) -> None:
    """results/candidates/quality.tsv, from the final coding: ``anchored`` (rule anchor_codings's
    tables) of ``coders``, or ``files``: coders' files read as they are (the command line)."""
    with job_log(log) as logger:
        settings = LearnedSettings.from_config(candidates)
        final = _final(codebook, segments, coding, anchored, coders, files)
        rows = quality(final, candidate_files, settings)
        write_tsv(Path(output), rows, QUALITY_COLUMNS)
        for row in rows:
            if row["code_id"] == ALL_CODES:
                logger.info(
                    "quality %s: precision %s recall %s F1 %s",
                    row["method"],
                    row["precision"],
                    row["recall"],
                    row["f1"],
                )


@rule_job
def candidate_quality(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule candidate_quality -> results/candidates/quality.tsv (output ``quality``): the keyword
    ``candidates`` of the final coding's transcripts against its anchored tables (inputs, as for
    :func:`learned_candidates`)."""
    quality_of_candidates(
        input["codebook"],
        anchored_tables(input),
        params["coders"],
        input["segments"],
        input["candidates"],
        output["quality"],
        params["coding"],
        params["candidates"],
        log,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Quality of candidate coding against a final coding."
    )
    parser.add_argument("--codebook", default="data/codebook.yaml")
    parser.add_argument(
        "--codings",
        nargs="+",
        required=True,
        help="files of the final coding (data/coding/{coder}/...)",
    )
    parser.add_argument("--segments", nargs="+", required=True)
    parser.add_argument("--candidates", nargs="+", required=True)
    parser.add_argument("--final", default="consensus")
    parser.add_argument("--output", default="results/candidates/quality.tsv")
    parser.add_argument("--log", default="/dev/stderr")
    args = parser.parse_args(argv)
    quality_of_candidates(
        args.codebook,
        (),
        (),
        args.segments,
        args.candidates,
        args.output,
        {"final": args.final, "consensus": args.final, "roles": ["participant"]},
        {},
        args.log,
        files=args.codings,
    )


if __name__ == "__main__":
    main()
