"""Vega-Lite v6 specs as plain dicts: what ``charts`` builds every report chart with.

Altair made the same specs, but a page's nine charts spent about 0.4 s of CPU in it (its objects, their
copies, ``to_dict``, sanitising each DataFrame through a generic path). These few functions write the JSON
Altair wrote, key for key (channels' and marks' properties in its sorted order, data shared by every layer
moved up to the layer, as ``alt.layer`` does), so vl-convert draws the same SVG, byte for byte.

Data is inline (``{"values": [...]}``), sanitised as Altair does it (``altair.utils.core.
sanitize_pandas_dataframe``): a missing value is null, numbers are Python numbers, timestamps ISO text.
Nothing here validates a spec: the tests validate every builder's spec against the Vega-Lite schema.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_URL = "https://vega.github.io/schema/vega-lite/v6.4.1.json"  # Altair 6.0's, the version vl-convert draws


def data(frame: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame as inline data: one record per row (the index left out)."""
    return {"values": records(frame)}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts. ``to_dict`` already gives Python numbers; what is left to fix is done
    only for the columns whose kind needs it: NaN and infinities in floats, missing values in text, categories
    and nullable numbers (null), timestamps (ISO text, a missing one empty, as Altair writes them)."""
    rows = frame.to_dict("records")
    fixes = [(name, fix) for name, dtype in frame.dtypes.items() if (fix := _fix(dtype))]
    if fixes:
        for row in rows:
            for name, fix in fixes:
                row[name] = fix(row[name])
    return rows


def _fix(dtype: Any) -> Callable[[Any], Any] | None:
    """What a column of ``dtype`` needs done to each of its values, if anything."""
    import numpy as np

    if dtype.kind == "M":
        return _timestamp
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":  # numpy's integers and booleans: nothing missing
        return None
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _finite
    return _missing  # objects, text, categories, pandas' nullable numbers


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _timestamp(value: Any) -> str:
    return "" if type(value).__name__ == "NaTType" else value.isoformat()


def _missing(value: Any) -> Any:
    """None, NaN, NaT and pd.NA become null; a date becomes ISO text."""
    if value is None or type(value).__name__ in ("NAType", "NaTType") or (isinstance(value, float) and value != value):
        return None
    return value.isoformat() if isinstance(value, date) else value


def field(name: str, type: str, **properties: Any) -> dict[str, Any]:
    """An encoding channel on a data field: ``field("v", "quantitative", title="days")``."""
    return _sorted({"field": name, "type": type, **properties})


def value(constant: Any) -> dict[str, Any]:
    """An encoding channel set to one value (a colour, a size, ``"width"`` for the plot's right edge)."""
    return {"value": constant}


def condition(test: str, if_true: Any, otherwise: Any) -> dict[str, Any]:
    """A channel that takes ``if_true`` where the Vega expression ``test`` holds, else ``otherwise``."""
    return {"condition": {"test": test, "value": if_true}, "value": otherwise}


def mark(type: str, **properties: Any) -> dict[str, Any]:
    return {"type": type, **_sorted(properties)}


def unit(rows: dict[str, Any] | None, mark: dict[str, Any], **encoding: Any) -> dict[str, Any]:
    """One mark over ``rows`` (``data(frame)``; None: the layer's data) with its encoding channels."""
    spec = {} if rows is None else {"data": rows}
    return {**spec, "mark": mark, "encoding": _sorted(encoding)}


def layer(*layers: dict[str, Any], **properties: Any) -> dict[str, Any]:
    """Layers drawn in order over one set of axes. Data every layer shares (the same dict) moves up to the
    layer, as Altair's ``alt.layer`` moves it: Vega-Lite then reads it once."""
    shared = layers[0].get("data")
    if shared is not None and all(part.get("data") is shared for part in layers):
        layers = tuple({k: v for k, v in part.items() if k != "data"} for part in layers)
        return {"layer": list(layers), "data": shared, **_sorted(properties)}
    return {"layer": list(layers), **_sorted(properties)}


def chart(spec: dict[str, Any], **properties: Any) -> dict[str, Any]:
    """A complete chart: ``spec`` (a ``unit`` or ``layer``) with its size and the perfcore theme's config."""
    from perfcore.reporting.display import chart_config

    body = {k: v for k, v in spec.items() if k in _BODY}
    rest = {k: v for k, v in spec.items() if k not in _BODY}
    config = chart_config()
    _unlimited_labels(config, spec)
    return {"config": config, **body, **_sorted({**rest, **properties}), "$schema": SCHEMA_URL}


_BODY = ("data", "mark", "encoding", "layer")  # a chart's own keys, before its size, resolve and the like

# -- labels that cannot be too long -------------------------------------------------------------------------
# vl-convert measures every label Vega checks against its ``labelLimit`` (to shorten it with "…"), each
# measurement a small SVG laid out in Rust: about a third of a council page's chart time. Where every label of
# an axis or of the legends is known and cannot reach its limit, the limit is lifted (``labelLimit: 0``), which
# draws the same chart, byte for byte, without measuring for it.
AXIS_LABEL_LIMIT = 180  # Vega-Lite's default for an axis
LEGEND_LABEL_LIMIT = 160  # and for a legend
# No character from U+0020 to U+00FF, nor the typographic punctuation below, is wider than this many ems in
# DejaVu Sans (1.0) or its bold (1.11), the charts' font (their advance widths, read from the font files).
WIDEST_LATIN1_EM = 1.2
_PUNCTUATION = frozenset("–—…‘’“”€•")
_LEGEND_CHANNELS = ("color", "fill", "stroke", "strokeDash", "shape", "opacity", "size", "strokeWidth")


def _unlimited_labels(config: dict[str, Any], spec: dict[str, Any]) -> None:
    units = list(_units(spec, None))
    for channel, key in (("x", "axisX"), ("y", "axisY")):
        axis = config.get("axis", {})
        size, limit = axis.get("labelFontSize", 10), axis.get("labelLimit", AXIS_LABEL_LIMIT)
        labels = [
            _known_labels(u, rows, channel, "axis", limit)
            for u, rows in units
            if _has_guide(u["encoding"].get(channel), "axis")
        ]
        if labels and all(found is not None and _fit(found[0], size, found[1]) for found in labels):
            config[key] = {**config.get(key, {}), "labelLimit": 0}
    legend = config.get("legend", {})
    size, limit = legend.get("labelFontSize", 10), legend.get("labelLimit", LEGEND_LABEL_LIMIT)
    labels = [
        _known_labels(u, rows, channel, "legend", limit)
        for u, rows in units
        for channel in _LEGEND_CHANNELS
        if _has_guide(u["encoding"].get(channel), "legend")
    ]
    if labels and all(found is not None and _fit(found[0], size, found[1]) for found in labels):
        config["legend"] = {**legend, "labelLimit": 0}


def _units(spec: dict[str, Any], rows: Any):
    """(unit, the data it draws: its own or its layer's) for every unit of the spec."""
    rows = spec.get("data", rows)
    if "encoding" in spec:
        yield spec, rows
    for part in spec.get("layer", ()):
        yield from _units(part, rows)


def _has_guide(channel: Any, guide: str) -> bool:
    """Whether the channel draws an axis or legend (``guide``): a field not told ``axis: null``; a channel set
    to a value draws none."""
    return isinstance(channel, dict) and "field" in channel and channel.get(guide, {}) is not None


def _known_labels(
    unit: dict[str, Any], rows: Any, channel: str, guide: str, default_limit: float
) -> tuple[list[Any], float] | None:
    """The labels of the unit's ``channel`` and the limit its guide shortens them at; None when they are not
    known here (a number axis, a field without a domain). A nominal field's labels are its scale's ``domain``
    (what the guide shows, whatever the data), else its data's values, all in its ``sort`` list."""
    encoding = unit["encoding"].get(channel)
    if not isinstance(encoding, dict) or "field" not in encoding or encoding.get("type") not in ("nominal", "ordinal"):
        return None
    properties = encoding.get(guide) or {}
    if any(key in properties for key in ("labelExpr", "format", "formatType")):
        return None
    limit = properties.get("labelLimit", default_limit)
    domain = (encoding.get("scale") or {}).get("domain")
    if isinstance(domain, list):
        return domain, limit
    order, values = encoding.get("sort"), rows.get("values") if isinstance(rows, dict) else None
    if not isinstance(order, list) or not isinstance(values, list):
        return None
    shown = {row.get(encoding["field"]) for row in values}
    return (order, limit) if shown <= set(order) else None


def _fit(labels: list[Any], font_size: float, limit: float) -> bool:
    """Whether every label is text that no font size ``font_size`` could make wider than ``limit`` pixels."""
    return all(
        isinstance(label, str)
        and all(" " <= c <= "\xff" or c in _PUNCTUATION for c in label)
        and len(label) * font_size * WIDEST_LATIN1_EM <= limit
        for label in labels
    )


def _sorted(properties: dict[str, Any]) -> dict[str, Any]:
    """Keys in Altair's order (sorted, at every level), so the spec is the JSON Altair wrote."""
    return {k: _sorted(v) if isinstance(v, dict) else v for k, v in sorted(properties.items())}
