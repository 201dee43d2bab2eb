"""Intake: from a submitted file to rows in the warehouse, or a clear rejection.

    extract   HBPE 1.0 extracts: hardened, streaming, validated against ``schema/hbpe-1.0.xsd``
    manual    the manual-return CSV: header, exact number syntax, bounds, part <= whole
    ingest    the pipeline for one file: keep it, classify, validate, load in one transaction
"""
