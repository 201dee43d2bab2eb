"""Reporting: what the notebooks compose. This is the surface the notebooks import.

    report    the report data (``load``) and every table, sentence and figure a page shows
    charts    Altair figures with titles, text alternatives and data tables
    display   what a notebook cell emits: tables, charts, tiles, callouts, as the renderer reads them
"""
