"""The Vega-Lite schema check of the report charts' specs, for tests only: the build never validates.

``charts`` writes plain Vega-Lite dicts (``perfcore.reporting.vegalite``), so nothing checks a spec as it is
made; these tests hold every builder's spec to the Vega-Lite v6 schema Altair bundles (the version vl-convert
draws)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _schema() -> dict[str, Any]:
    from altair.vegalite.v6.schema.core import load_schema

    return load_schema()


def validated(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec``, after checking it against the Vega-Lite schema (a ``jsonschema`` ValidationError if invalid)."""
    from altair.utils.schemapi import validate_jsonschema

    validate_jsonschema(spec, _schema())
    return spec
