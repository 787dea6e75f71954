"""Digits drawn with a round brush by PIL on a 280x280 canvas, the way a mouse draws them, in the
three conventions the canvas and uploads produce: light on dark, dark on light, transparent RGBA."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw


def _arc(cx, cy, rx, ry, start, stop, n=24):
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, stop, n)]


# strokes in a unit box (x right, y down), each a polyline
STROKES = {
    0: [_arc(0.5, 0.5, 0.32, 0.48, 0, 360, 40)],
    1: [[(0.35, 0.2), (0.55, 0.0), (0.55, 1.0)]],
    2: [_arc(0.5, 0.3, 0.35, 0.3, 200, 380) + [(0.15, 1.0), (0.9, 1.0)]],
    3: [_arc(0.45, 0.26, 0.33, 0.26, 210, 450), _arc(0.45, 0.74, 0.38, 0.26, 270, 510)],
    4: [[(0.65, 1.0), (0.65, 0.0), (0.1, 0.7), (0.9, 0.7)]],
    5: [[(0.85, 0.0), (0.25, 0.0), (0.2, 0.45)] + _arc(0.5, 0.7, 0.35, 0.3, 230, 490)],
    6: [[(0.75, 0.0)] + _arc(0.5, 0.7, 0.32, 0.3, 200, 560)],
    7: [[(0.1, 0.0), (0.9, 0.0), (0.4, 1.0)]],
    8: [_arc(0.5, 0.25, 0.27, 0.25, 90, 450), _arc(0.5, 0.74, 0.33, 0.26, -90, 270)],
    9: [_arc(0.5, 0.3, 0.32, 0.3, 0, 360), [(0.82, 0.3), (0.75, 1.0)]],
}


def draw_digit(digit: int, convention: str = "light_on_dark", size: int = 280, box=(70, 40, 140, 200),
               brush: int = 18, slant: float = 0.0) -> Image.Image:
    """`box` = (left, top, width, height) of the digit on the canvas; `slant` shears x by -slant*y."""
    left, top, width, height = box
    ink, paper = {"light_on_dark": ((255, 255, 255, 255), (0, 0, 0, 255)),
                  "dark_on_light": ((0, 0, 0, 255), (255, 255, 255, 255)),
                  "transparent": ((30, 30, 30, 255), (0, 0, 0, 0))}[convention]
    img = Image.new("RGBA", (size, size), paper)
    pen = ImageDraw.Draw(img)
    r = brush / 2
    for stroke in STROKES[digit]:
        pts = [(left + (x + slant * (0.5 - y)) * width, top + y * height) for x, y in stroke]
        pen.line(pts, fill=ink, width=brush, joint="curve")
        for x, y in (pts[0], pts[-1]):  # round caps
            pen.ellipse((x - r, y - r, x + r, y + r), fill=ink)
    return img
