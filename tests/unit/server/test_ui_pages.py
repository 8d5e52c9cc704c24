"""What the admin UI's pages show of configuration and export to spreadsheets, and its charts'
geometry."""

from __future__ import annotations

from switchgear.server.ui_pages import _csv_cell, _without_credentials
from switchgear.server.ui_render import _compact, bar_chart


def test_a_base_url_is_shown_without_credentials() -> None:
    assert _without_credentials("https://user:secret@llm.internal:8443/v1") == "https://llm.internal:8443/v1"
    assert _without_credentials("http://127.0.0.1:9/v1") == "http://127.0.0.1:9/v1"
    assert _without_credentials(None) is None


def test_csv_cells_never_run_as_formulas() -> None:
    assert _csv_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [_csv_cell(v) for v in ("+1", "-1", "@SUM(A1)", "gpt-4o", 12)] == [
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "gpt-4o",
        12,
    ]


def test_bars_scale_to_the_largest_value() -> None:
    chart = bar_chart(
        [("2026-12-01", 10, 0), ("2026-12-02", 5, 5), ("2026-12-03", 0, 0)], width=300, height=120
    )
    plot = 120 - 20 - 14  # the labels below, the scale above
    assert [b.height for b in chart.bars] == [plot, plot / 2, 0]
    assert chart.bars[1].part == plot / 2 and chart.bars[0].part == 0
    assert [b.y + b.height for b in chart.bars] == [120 - 20] * 3  # every bar stands on the axis
    assert chart.top == "10" and chart.bars[1].title == "2026-12-02: 5 (5 failed)"
    assert bar_chart([("a", 0, 0)]).top == "0"


def test_big_counts_are_shown_compact() -> None:
    assert [_compact(n) for n in (999_999, 1_722_848_571, 416_635_505, 3 * 10**12)] == [
        "999,999",
        "1.72 B",
        "416.64 M",
        "3.00 T",
    ]
