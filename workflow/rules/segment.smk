for part, transcripts in TRANSCRIPTS_BY_PART.items():

    rule:
        """Cut de-identified turns into sentence segments with stable IDs and text fingerprints,
        and keep each version of them with the earlier ones (for codings to follow the text).
        """
        name:
            f"segment_{part}"
        input:
            deidentified=part_record("deidentify", part),
            identifiers=ancient(IDENTIFIERS),
        output:
            record=part_record("segment", part),
        params:
            part=part,
            transcripts=transcripts,
            transcript_inputs=transcript_files(transcripts, deidentified=DEIDENTIFIED),
            transcript_outputs=transcript_files(
                transcripts,
                segments=SEGMENTS,
                versions=SEGMENT_VERSIONS,
            ),
            identifiers=part_relevance(transcripts, "deidentify"),
            config=config_sections("deidentify.name_parts"),
            code=job_code("segment"),
        log:
            f"results/logs/segment/{part}.log",
        resources:
            runtime=part_minutes(transcripts, 0.05),
            mem_mb=1000,
        priority: SEGMENTS_FIRST
        group:
            f"part_{part}"
        run:
            run_job(rule, input, output, params, log)
