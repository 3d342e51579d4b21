"""qualflow: one module per stage of the workflow (ingest, deidentify, segment, ...)."""
