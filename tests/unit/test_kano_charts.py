"""Point labels of the Kano diagrams stay clear of the bubbles and of each other.

The check works in the pixels of a plot of ``LABEL_AREA_PX``, from the figure itself: labels drawn
as trace text (``textposition``) or as annotations are turned into boxes the same way.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analytics.charts import kano as kano_charts

#: Plot area the check assumes (pixels), and a label's size: width per character and height at 12 px.
AREA = (800.0, 500.0)
CHAR_PX, LINE_PX = 0.5 * 12, 14.0

#: The demo survey (5,000 customers, seed 7): "Live chat support", "Free returns", "Secure payment
#: options" and "Personal account manager" crowded their neighbours' labels and bubbles.
DEMO = pd.DataFrame(
    [
        ("Eco-friendly packaging", 0.675, -0.265, 5.610, "A", 2.645, 1.398),
        ("Free returns", 0.295, -0.771, 6.592, "M", 1.540, 3.032),
        ("Live chat support", 0.675, -0.578, 6.102, "O", 2.682, 2.458),
        ("Loyalty points", 0.706, -0.454, 5.922, "O", 2.847, 2.045),
        ("Order tracking", 0.307, -0.781, 6.547, "M", 1.575, 3.083),
        ("Personal account manager", 0.613, -0.313, 5.412, "A", 2.335, 1.563),
        ("Product recommendations", 0.442, -0.193, 4.722, "I", 1.425, 0.943),
        ("Same-day delivery", 0.685, -0.380, 5.662, "A", 2.695, 1.725),
        ("Secure payment options", 0.235, -0.791, 6.657, "M", 1.387, 3.152),
        ("Sign-in with social media account", 0.177, -0.074, 3.592, "I", -0.080, -0.027),
        ("Video product demos", 0.345, -0.105, 4.430, "I", 1.222, 0.807),
        ("Weekly promotional newsletter", 0.189, -0.124, 3.418, "R", -0.393, -0.298),
    ],
    columns=["feature", "better", "worse", "importance", "category", "mean_functional", "mean_dysfunctional"],
).assign(n=600, sd_functional=2.0, sd_dysfunctional=1.9)

#: A tight knot: four features within a few hundredths of each other.
KNOT = pd.DataFrame(
    {
        "feature": ["Live chat support", "Free returns", "Secure payment options", "Personal account manager"],
        "better": [0.62, 0.63, 0.60, 0.61],
        "worse": [-0.55, -0.57, -0.56, -0.54],
        "importance": [6.0, 6.5, 6.6, 5.4],
        "category": ["O"] * 4,
        "mean_functional": [2.5, 2.55, 2.45, 2.5],
        "mean_dysfunctional": [2.4, 2.45, 2.5, 2.35],
    }
).assign(n=100, sd_functional=1.0, sd_dysfunctional=1.0)


def _pixels(value: float, low: float, high: float, size: float) -> float:
    return (value - low) / (high - low) * size


def _label_size(text: str) -> tuple[float, float]:
    return CHAR_PX * len(re.sub(r"<[^>]+>", "", text)) + 4, LINE_PX


def drawn_labels_and_bubbles(fig, *, low: float, high: float):
    """Figure -> (label boxes {text: (x0, y0, x1, y1)}, bubbles [(x, y, radius)]) in pixels, y up."""
    boxes, bubbles = {}, []
    for trace in fig.data:
        if trace.mode is None or "markers" not in trace.mode:
            continue
        sizes = np.broadcast_to(np.asarray(trace.marker.size, dtype=float), (len(trace.x),))
        positions = trace.textposition if trace.textposition is not None else "middle center"
        for k, (x, y, size) in enumerate(zip(trace.x, trace.y, sizes, strict=True)):
            px, py, radius = _pixels(x, low, high, AREA[0]), _pixels(y, low, high, AREA[1]), size / 2
            bubbles.append((px, py, radius))
            if "text" not in trace.mode or not trace.text[k]:
                continue
            # Plotly puts trace text next to the marker on the side its position names.
            position = positions if isinstance(positions, str) else positions[k]
            width, height = _label_size(trace.text[k])
            vertical, horizontal = position.split(" ")
            cx = px + {"left": -(radius + width / 2), "center": 0, "right": radius + width / 2}[horizontal]
            cy = py + {"top": radius + height / 2, "middle": 0, "bottom": -(radius + height / 2)}[vertical]
            boxes[trace.text[k]] = (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
    for note in fig.layout.annotations:
        if note.name != "point label":
            continue
        width, height = _label_size(note.text)
        px, py = _pixels(note.x, low, high, AREA[0]), _pixels(note.y, low, high, AREA[1])
        if note.showarrow:
            cx, cy = px + note.ax, py - note.ay
        else:
            cx, cy = px + (note.xshift or 0), py + (note.yshift or 0)
        boxes[note.text] = (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
    return boxes, bubbles


def collisions(boxes, bubbles) -> list[str]:
    """Label boxes that overlap another label or reach into a bubble (by more than a pixel)."""
    found = []
    names = list(boxes)
    for i, a in enumerate(names):
        box = boxes[a]
        for b in names[i + 1 :]:
            other = boxes[b]
            if min(box[2], other[2]) - max(box[0], other[0]) > 1 and min(box[3], other[3]) - max(box[1], other[1]) > 1:
                found.append(f"{a} / {b}")
        for cx, cy, radius in bubbles:
            nearest = (min(max(cx, box[0]), box[2]), min(max(cy, box[1]), box[3]))
            if radius - np.hypot(cx - nearest[0], cy - nearest[1]) > 1:
                found.append(f"{a} / bubble at ({cx:.0f}, {cy:.0f})")
    return found


@pytest.mark.parametrize("summary", [DEMO, KNOT], ids=["demo", "knot"])
def test_better_worse_labels_touch_no_bubble_and_no_other_label(summary):
    """Guards the review nit: labels sat on the neighbouring bubbles and on each other."""
    fig = kano_charts.better_worse(summary)
    boxes, bubbles = drawn_labels_and_bubbles(fig, low=0.0, high=1.0)
    assert set(boxes) == set(summary["feature"])  # every feature is labelled
    assert collisions(boxes, bubbles) == []


@pytest.mark.parametrize("summary", [DEMO, KNOT], ids=["demo", "knot"])
def test_continuous_labels_touch_no_bubble_and_no_other_label(summary):
    fig = kano_charts.continuous(summary)
    boxes, bubbles = drawn_labels_and_bubbles(fig, low=-2.0, high=4.0)
    assert set(boxes) == set(summary["feature"])
    assert collisions(boxes, bubbles) == []


def test_close_points_get_labels_at_different_offsets_and_far_ones_a_leader_line():
    layout = kano_charts.label_layout(
        KNOT["worse"].abs(), KNOT["better"], KNOT["feature"], sizes=np.full(4, 30.0), x_range=(0, 1), y_range=(0, 1)
    )
    offsets = set(zip(layout["dx"].round(1), layout["dy"].round(1), strict=True))
    assert len(offsets) == 4  # no two labels share a place
    assert layout["leader"].any()  # four labels do not all fit next to a knot of large bubbles


def test_a_crowd_of_eight_gets_leader_lines_and_still_no_collision():
    crowd = pd.concat([KNOT, KNOT.assign(feature=KNOT["feature"] + " (B2B)", better=KNOT["better"] - 0.02)])
    fig = kano_charts.better_worse(crowd)
    notes = [a for a in fig.layout.annotations if a.name == "point label"]
    assert any(a.showarrow for a in notes)  # labels further out are joined to their bubble by a line
    assert all(a.standoff > 0 for a in notes if a.showarrow)  # which stops at the bubble's edge
    assert all(a.font.size >= 11 for a in notes)
    boxes, bubbles = drawn_labels_and_bubbles(fig, low=0.0, high=1.0)
    assert len(boxes) == 8 and collisions(boxes, bubbles) == []


def test_label_layout_is_deterministic_and_keeps_labels_inside_the_plot():
    args = (DEMO["worse"].abs(), DEMO["better"], DEMO["feature"])
    first = kano_charts.label_layout(*args, x_range=(0, 1), y_range=(0, 1))
    assert first.equals(kano_charts.label_layout(*args, x_range=(0, 1), y_range=(0, 1)))
    width, height = kano_charts.LABEL_AREA_PX
    centre_x = first["x"] * width + first["dx"]
    centre_y = first["y"] * height + first["dy"]
    assert (centre_x - first["width"] / 2 >= 0).all() and (centre_x + first["width"] / 2 <= width).all()
    assert (centre_y - first["height"] / 2 >= 0).all() and (centre_y + first["height"] / 2 <= height).all()


def test_comparison_labels_only_the_later_group_and_clear_of_every_marker():
    comparison = pd.DataFrame(
        {
            "feature": ["Free returns", "Live chat support", "Order tracking"],
            "better_a": [0.30, 0.66, 0.31],
            "worse_a": [-0.77, -0.58, -0.78],
            "category_a": ["M", "O", "M"],
            "better_b": [0.32, 0.55, 0.30],
            "worse_b": [-0.75, -0.60, -0.80],
            "category_b": ["M", "O", "M"],
            "moved": [False, True, False],
        }
    )
    comparison.attrs["groups"] = ("2025", "2026")
    fig = kano_charts.comparison(comparison)
    boxes, bubbles = drawn_labels_and_bubbles(fig, low=0.0, high=1.0)
    assert set(boxes) == {"Free returns", "<b>Live chat support</b> (moved category)", "Order tracking"}
    assert len(bubbles) == 6
    assert collisions(boxes, bubbles) == []
