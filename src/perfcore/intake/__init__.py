"""Intake: from a submitted file to rows in the warehouse, or a clear rejection.

hbpe      HBPE 1.0 described once: sections, attributes, columns, record rules; the one XML writer
extract   HBPE 1.0 extracts: hardened, streaming, validated against ``schema/hbpe-1.0.xsd``
manual    the manual-return CSV: header, exact number syntax, bounds, part <= whole
ingest    the pipeline for one file: keep it, classify, validate, load in one transaction
"""
