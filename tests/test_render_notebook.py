"""perfcore.render.notebook: which outputs of an executed notebook reach the page."""

from __future__ import annotations

import base64

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from perfcore.render.notebook import cell_options, notebook_to_markdown
from render_notebooks import report_notebook


def _convert(notebook):
    return notebook_to_markdown(notebook, assets_prefix="summary_files")


def test_code_streams_and_hidden_outputs_never_reach_the_page(snapshot):
    result = _convert(report_notebook(with_error=True))
    text = result.markdown
    assert "import secret_code_should_not_show" not in text
    assert "council = 'S12000042'" not in text  # the papermill parameters cell
    assert "debug: loaded" not in text and "something noisy" not in text
    assert "This must not appear." not in text  # #| output: false
    assert "0  1  2" not in text  # plain-text repr of a DataFrame
    assert "ZeroDivisionError" not in text
    assert "```" not in text  # no code block of any kind
    snapshot("render/notebook.md", text)


def test_errors_are_reported_not_shown():
    result = _convert(report_notebook(with_error=True))
    assert result.errors == ("cell 11: ZeroDivisionError: division by zero",)
    assert any("plain-text output dropped" in w for w in result.warnings)
    assert _convert(report_notebook()).errors == ()


def test_chart_becomes_a_figure_with_alt_an_svg_file_and_its_data():
    result = _convert(report_notebook())
    assert [a.name for a in result.assets] == ["table-01-headline.csv", "chart-01.svg", "chart-01.csv"]
    assert result.assets[1].content.startswith(b"<svg")
    assert '](summary_files/chart-01.svg){#fig-claims alt="Line chart: average days' in result.markdown
    assert '::: {.chart-data data-chart="fig-claims"' in result.markdown
    assert 'data-csv="summary_files/chart-01.csv"' in result.markdown


def test_markdown_cells_and_display_markdown_are_inlined():
    result = _convert(report_notebook())
    assert "# Monthly summary: Dundee City, October 2026" in result.markdown
    assert "| Claims over 50 days \\| backlog | 7 | 11 |" in result.markdown
    assert "::::: {.tiles}" in result.markdown


def test_quarto_cell_options_and_tags_hide_outputs():
    shown = new_output("display_data", data={"text/markdown": "SHOWN"})
    hidden = new_output("display_data", data={"text/markdown": "HIDDEN"})
    cells = [
        new_code_cell("#| include: false\nx", outputs=[hidden]),
        new_code_cell("#| echo: false\n#| output: false\nx", outputs=[hidden]),
        new_code_cell("x", outputs=[hidden], metadata={"tags": ["remove-output"]}),
        new_code_cell("#| echo: true\nx", outputs=[shown]),
    ]
    text = _convert(new_notebook(cells=cells)).markdown
    assert "SHOWN" in text and "HIDDEN" not in text
    assert cell_options("#| output: false\n#| label: fig-x\nprint()") == {"output": "false", "label": "fig-x"}


def test_other_output_types_fall_back_sensibly():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    html_table = (
        "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>"
    )
    cells = [
        new_code_cell("x", outputs=[new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})]),
        new_code_cell(
            "df",
            outputs=[
                new_output("execute_result", data={"text/html": html_table, "text/plain": "df"}, execution_count=1)
            ],
        ),
        new_raw_cell("<b>raw html</b>", metadata={"format": "text/html"}),
        new_raw_cell("ignored", metadata={}),
    ]
    result = _convert(new_notebook(cells=cells))
    assert result.assets[0].name == "figure-01.png"
    assert any("without a text alternative" in w for w in result.warnings)
    assert any("HTML output converted" in w for w in result.warnings)
    assert "  a   b\n  --- ---\n  1   2" in result.markdown  # a pandoc simple table: a real table again
    assert "```{=html}\n<b>raw html</b>\n```" in result.markdown
    assert "ignored" not in result.markdown


def test_vegalite_output_is_drawn_as_svg():
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": "Bars of two values",
        "data": {"values": [{"a": "x", "b": 1}, {"a": "y", "b": 2}]},
        "mark": "bar",
        "encoding": {"x": {"field": "a", "type": "nominal"}, "y": {"field": "b", "type": "quantitative"}},
    }
    cells = [
        new_code_cell("chart", outputs=[new_output("display_data", data={"application/vnd.vegalite.v5+json": spec})])
    ]
    result = _convert(new_notebook(cells=cells))
    assert result.assets[0].name == "chart-01.svg" and result.assets[0].content.startswith(b"<svg")
    assert 'alt="Bars of two values"' in result.markdown


def test_markdown_cell_text_is_kept_verbatim():
    cells = [new_markdown_cell("## Heading\n\nSome *prose* with a [link](https://example.org).")]
    assert (
        _convert(new_notebook(cells=cells)).markdown
        == "## Heading\n\nSome *prose* with a [link](https://example.org).\n"
    )
