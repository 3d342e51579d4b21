"""Theme tables (rule ``themes``): who voiced each theme and code, by participant group, with
exemplar quotes, under disclosure control.

The stage reads the final coding (scripts/coded_corpus.py), counts it (scripts/theme_counts.py),
chooses and attributes exemplar quotes (scripts/exemplar_quotes.py), decides what to hide over the
whole release (scripts/disclosure.py) and writes the tables as TSV, Markdown and Word
(scripts/publication_tables.py).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

from scripts import coding_records, disclosure, learned
from scripts.codebook import load_codebook
from scripts.coded_corpus import (
    ThemeSettings,
    check_settings,
    coded_corpus,
    participants_by_transcript,
)
from scripts.contracts import write_text, write_tsv
from scripts.errors import ConfigurationError, QualflowError
from scripts.exemplar_quotes import (
    EXEMPLAR_COLUMNS,
    attribution,
    choose_exemplars,
    quotes_of,
)
from scripts.publication_tables import (
    markdown,
    publication_tables,
    save_word_document,
    uncoded_participants,
    word_document,
)
from scripts.rule_jobs import job_log, rule_job
from scripts.settings import load_participants
from scripts.theme_counts import (
    PREVALENCE_COLUMNS,
    SATURATION_COLUMNS,
    code_by_participant,
    cooccurrence,
    prevalence,
    release_counts,
    saturation,
)


class DisclosureControlError(QualflowError):
    """A hidden count the released tables give away, whatever else is hidden."""


def check_config(themes: dict, attributes: Sequence[str], participants_path: str | Path) -> None:
    """The themes settings against participants.csv, when the workflow starts (not at the end)."""
    rows = load_participants(Path(participants_path))
    columns = [
        column
        for column in (rows[0] if rows else {})
        if column not in ("transcript_id", "participant_id")
    ]
    check_settings(ThemeSettings.from_config(themes, attributes), columns, participants_path)


def build(
    codebook_path: str,
    anchored: Sequence[str],
    coders: Sequence[str],
    segment_paths: Sequence[str],
    participants_path: str,
    coding: dict,
    settings: ThemeSettings,
    corpus_transcripts: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything the ``themes`` rule writes, as plain data. ``anchored``: rule anchor_codings's
    codings, transcripts and problems tables; ``coders``: the final coding's folders;
    ``corpus_transcripts``: every transcript of the study (those not coded are named in a note)."""
    from scripts.anchored_tables import load_anchored

    codebook = load_codebook(codebook_path)
    participant_rows = load_participants(Path(participants_path))
    columns = [
        column
        for column in (participant_rows[0] if participant_rows else {})
        if column not in ("transcript_id", "participant_id")
    ]
    check_settings(settings, columns, participants_path)
    if not coders:
        raise ConfigurationError(
            "config.yaml",
            f"no files for the final coding ({coding.get('final', 'consensus')})",
            "Set coding.final to a coder folder with codings, or to union",
        )
    segments = coding_records.load_segments(segment_paths)
    parsed = load_anchored(anchored, coders=coders)
    final = learned.load_final_coding((), segments, codebook, coding, parsed=parsed)
    participants = participants_by_transcript(participant_rows, segments.transcripts, [*columns])
    corpus = coded_corpus(final, codebook, participants, parsed)
    exemplar_rows = choose_exemplars(corpus, settings)
    # Disclosure control over the whole release (tables, figures, attributions): what to hide,
    # proved by an audit of every hidden count (scripts/disclosure.py)
    counts, _ = release_counts(corpus, settings)
    try:
        marks, audit = disclosure.protect(
            counts, quotes_of(exemplar_rows, corpus, settings), settings.suppress_below
        )
    except disclosure.DisclosureError as error:
        raise DisclosureControlError(
            participants_path,
            str(error),
            "Merge small groups of that attribute in participants.csv, leave the attribute out of "
            "participants.attributes, or raise themes.suppress_below",
        ) from None
    prevalence_rows = prevalence(corpus, settings, marks)
    withheld: dict[str, set[str]] = defaultdict(set)
    for participant, attribute in marks.withheld:
        withheld[participant].add(attribute)
    by_id = {participant.id: participant for participant in corpus.participants.values()}
    for row in exemplar_rows:
        participant = by_id[row["participant_id"]]
        transcript = row["segment_id"].rsplit("-", 2)[0]
        row["attribution"] = attribution(
            participant, transcript, settings.attribution, withheld.get(participant.id, ())
        )
    matrix, matrix_columns = code_by_participant(corpus)
    not_coded = uncoded_participants(participant_rows, corpus_transcripts, corpus.participant_ids)
    tables = publication_tables(
        prevalence_rows, settings, len(corpus.participant_ids), codebook.version, not_coded
    )
    return {
        "codebook": codebook,
        "corpus": corpus,
        "prevalence": prevalence_rows,
        "exemplars": exemplar_rows,
        "disclosure_audit": disclosure.audit_rows(audit),
        "code_by_participant": (matrix, matrix_columns),
        "cooccurrence_segments": cooccurrence(corpus, "segments"),
        "cooccurrence_participants": cooccurrence(corpus, "participants"),
        "saturation": saturation(corpus, participant_rows, settings.order_by),
        "tables": tables,
    }


@rule_job
def themes(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule ``themes`` → results/themes/ (TSV, Markdown and Word tables, exemplar quotes). Inputs:
    the anchored tables of the final ``coders`` (params), the ``codebook``, the ``segments`` of the
    transcripts it coded and ``participants``; params ``coding``, ``themes`` and ``attributes``
    (config.yaml) and ``transcripts``: every transcript of the study (those not coded yet are named)."""
    with job_log(log) as logger:
        settings = ThemeSettings.from_config(params["themes"], params["attributes"])
        result = build(
            input["codebook"],
            learned.anchored_tables(input),
            params["coders"],
            input["segments"],
            input["participants"],
            params["coding"],
            settings,
            params["transcripts"],
        )
        codebook, corpus = result["codebook"], result["corpus"]
        write_tsv(Path(output["prevalence"]), result["prevalence"], PREVALENCE_COLUMNS)
        matrix, matrix_columns = result["code_by_participant"]
        write_tsv(Path(output["code_by_participant"]), matrix, matrix_columns)
        code_columns = ["code_id", *codebook.code_ids]
        write_tsv(
            Path(output["cooccurrence_segments"]), result["cooccurrence_segments"], code_columns
        )
        write_tsv(
            Path(output["cooccurrence_participants"]),
            result["cooccurrence_participants"],
            code_columns,
        )
        write_tsv(Path(output["saturation"]), result["saturation"], SATURATION_COLUMNS)
        write_tsv(Path(output["exemplars"]), result["exemplars"], EXEMPLAR_COLUMNS)
        write_tsv(
            Path(output["disclosure_audit"]), result["disclosure_audit"], disclosure.AUDIT_COLUMNS
        )
        write_text(
            Path(output["markdown"]), markdown(result["tables"], result["exemplars"], codebook)
        )
        save_word_document(
            word_document(result["tables"], result["exemplars"], codebook), output["word"]
        )
        logger.info(
            "themes: %d coded segments of %d participants, %d codes applied %d times; %d exemplar quotes",
            len(corpus.segments),
            len(corpus.participant_ids),
            int((corpus.labels.sum(axis=0) > 0).sum()) if len(corpus.segments) else 0,
            int(corpus.labels.sum()),
            len(result["exemplars"]),
        )
