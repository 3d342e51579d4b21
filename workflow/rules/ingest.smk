# The per-transcript stages run a part of the corpus per job (scripts/parts.py says why): a rule
# per part, named {stage}_{part}; inside a part's job only the transcripts whose inputs changed
# are worked on.
for part, transcripts in TRANSCRIPTS_BY_PART.items():

    rule:
        """Read raw transcripts (.txt, .docx, .vtt, .srt) into normalized turns (private: raw
        text). Named speakers get their role from the identifier list: a transcript is read again
        when a listed person whose words it has is added, removed or changed (params:
        identifiers)."""
        name:
            f"ingest_{part}"
        input:
            raw=[TRANSCRIPTS[transcript] for transcript in transcripts],
            identifiers=ancient(IDENTIFIERS),
        output:
            record=part_record("ingest", part),
        params:
            part=part,
            transcripts=transcripts,
            transcript_outputs=transcript_files(transcripts, ingested=INGESTED),
            identifiers=part_relevance(transcripts, "ingest"),
            config=config_sections("speakers", "deidentify.name_parts"),
            code=job_code("ingest"),
        log:
            f"results/logs/ingest/{part}.log",
        resources:
            runtime=part_minutes(transcripts, 0.05),
            mem_mb=1000,
        priority: SEGMENTS_FIRST
        group:
            f"part_{part}"
        run:
            run_job(rule, input, output, params, log)
