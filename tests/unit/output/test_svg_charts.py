"""Our two chart shapes: valid SVG, labelled for screen readers, numbers as text, lengths in proportion."""

import xml.etree.ElementTree as ET

from smsdrop.output.svg_charts import Bar, bar_chart, column_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_are_as_long_as_their_values_and_carry_their_label_and_text():
    root = ET.fromstring(bar_chart("c", "By status", [Bar("A", 10, "10 (50%)"), Bar("B<&>", 5, "5"), Bar("C", 0, "0")]))
    widths = [float(rect.get("width")) for rect in root.iter(f"{SVG}rect")]
    assert widths[0] == 2 * widths[1]
    assert widths[2] == 0
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["A", "10 (50%)", "B<&>", "5", "C", "0"]


def test_a_chart_is_an_image_named_by_its_title_and_description():
    root = ET.fromstring(bar_chart("counts", "Numbers by status", [Bar("A", 1, "1")]))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "counts-title counts-desc"
    assert root.find(f"{SVG}title").text == "Numbers by status"
    assert "table" in root.find(f"{SVG}desc").text


def test_bars_that_are_all_zero_draw_nothing_but_still_say_so():
    root = ET.fromstring(bar_chart("c", "t", [Bar("A", 0, "0"), Bar("B", 0, "0")]))
    assert [float(rect.get("width")) for rect in root.iter(f"{SVG}rect")] == [0, 0]


def test_columns_scale_to_the_peak_and_label_at_most_about_eight_of_them():
    points = [(f"10:{m:02d}", m) for m in range(40)]
    root = ET.fromstring(column_chart("t", "Rows per minute", points))
    heights = [float(rect.get("height")) for rect in root.iter(f"{SVG}rect")]
    assert heights[0] == 0
    assert max(heights) == heights[-1]
    assert abs(heights[20] - heights[-1] * 20 / 39) < 0.1
    labels = [t.text for t in root.iter(f"{SVG}text") if t.text.startswith("10:")]
    assert 1 < len(labels) <= 8
    assert [t.text for t in root.iter(f"{SVG}text")][:2] == ["39", "0"]
    assert [r.find(f"{SVG}title").text for r in root.iter(f"{SVG}rect")][:2] == ["10:00: 0", "10:01: 1"]
