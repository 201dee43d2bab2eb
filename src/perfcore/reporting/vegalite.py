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
    return {"config": chart_config(), **body, **_sorted({**rest, **properties}), "$schema": SCHEMA_URL}


_BODY = ("data", "mark", "encoding", "layer")  # a chart's own keys, before its size, resolve and the like


def _sorted(properties: dict[str, Any]) -> dict[str, Any]:
    """Keys in Altair's order (sorted, at every level), so the spec is the JSON Altair wrote."""
    return {k: _sorted(v) if isinstance(v, dict) else v for k, v in sorted(properties.items())}
