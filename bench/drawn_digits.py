"""How well a trained digit run reads digits drawn with a brush on the 280x280 canvas.

The digits here are drawn by this program, not by the tests: a second set of handwriting styles
(a 1 with a flag and a base, a crossed 7, a closed 4, a looped 2, single-stroke 8s, straight- and
curved-tailed 9s, ...) with a wobbly hand (random smooth jitter along each stroke), random size,
aspect, position, slant and brush width, in the three canvas conventions (light on dark, dark on
light, transparent RGBA). Each picture goes through the same preprocessing as the canvas
(`Predictor.predict_images`). Prints the accuracy per convention and per digit, and the confusions.

    python bench/drawn_digits.py RUN_ID [--per-style 8] [--seed 0] [--home DIR]
"""

from __future__ import annotations

import argparse
import math
from collections import Counter

import _common  # noqa: F401 (puts the repository on sys.path)
import numpy as np
from PIL import Image, ImageDraw


def arc(cx, cy, rx, ry, start, stop, n=28):
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, stop, n)]


# each digit: styles; each style: strokes; each stroke: a polyline in a unit box (x right, y down)
STYLES = {
    0: [[arc(0.5, 0.5, 0.3, 0.47, -80, 290)], [arc(0.5, 0.5, 0.4, 0.45, 90, 460)]],
    1: [[[(0.5, 0.0), (0.5, 1.0)]], [[(0.3, 0.18), (0.55, 0.0), (0.55, 1.0)], [(0.3, 1.0), (0.8, 1.0)]]],
    2: [[arc(0.5, 0.28, 0.33, 0.28, 190, 400) + [(0.1, 1.0), (0.9, 0.98)]],
        [arc(0.45, 0.3, 0.35, 0.3, 200, 370) + [(0.2, 0.9)] + arc(0.3, 0.88, 0.12, 0.1, 0, 360, 12)
         + [(0.95, 1.0)]]],
    3: [[[(0.15, 0.0), (0.8, 0.0), (0.4, 0.42)] + arc(0.45, 0.7, 0.38, 0.3, 270, 500)],
        [arc(0.45, 0.25, 0.35, 0.25, 200, 440), arc(0.45, 0.75, 0.4, 0.25, 280, 500)]],
    4: [[[(0.55, 0.0), (0.1, 0.68), (0.95, 0.68)], [(0.7, 0.3), (0.7, 1.0)]],
        [[(0.2, 0.0), (0.15, 0.55), (0.85, 0.55)], [(0.75, 0.0), (0.75, 1.0)]]],
    5: [[[(0.8, 0.0), (0.3, 0.0), (0.25, 0.42)] + arc(0.5, 0.68, 0.35, 0.32, 220, 500)],
        [[(0.3, 0.02), (0.22, 0.45)] + arc(0.5, 0.7, 0.33, 0.3, 230, 480), [(0.3, 0.02), (0.85, 0.0)]]],
    6: [[[(0.7, 0.0), (0.3, 0.45)] + arc(0.5, 0.72, 0.3, 0.28, 180, 540)],
        [arc(0.75, 0.55, 0.55, 0.55, 200, 250, 10) + arc(0.5, 0.73, 0.32, 0.27, 160, 520)]],
    7: [[[(0.1, 0.0), (0.9, 0.0), (0.35, 1.0)]],
        [[(0.1, 0.05), (0.9, 0.0), (0.45, 1.0)], [(0.35, 0.5), (0.85, 0.5)]]],
    8: [[arc(0.5, 0.26, 0.28, 0.25, 90, 450), arc(0.5, 0.73, 0.34, 0.26, -90, 270)],
        [[(0.75, 0.1)] + arc(0.5, 0.25, 0.27, 0.24, -30, 180) + [(0.75, 0.8)] + arc(0.5, 0.75, 0.28, 0.24, 0, 180)
         + [(0.75, 0.1)]]],
    9: [[arc(0.45, 0.28, 0.32, 0.27, 0, 360), [(0.77, 0.28), (0.77, 1.0)]],
        [arc(0.5, 0.3, 0.3, 0.28, -10, 360), [(0.8, 0.25)] + arc(0.4, 0.6, 0.42, 0.45, 0, 100, 12)]],
}
CONVENTIONS = {"light_on_dark": ((255, 255, 255, 255), (0, 0, 0, 255)),
               "dark_on_light": ((20, 20, 20, 255), (255, 255, 255, 255)),
               "transparent": ((0, 0, 200, 255), (0, 0, 0, 0))}


def wobble(points, rng, amount):
    """Smooth random jitter along a polyline (a hand is not a ruler)."""
    pts = np.asarray(points, dtype=float)
    dense = np.concatenate([np.linspace(a, b, 6, endpoint=False) for a, b in zip(pts[:-1], pts[1:], strict=True)]
                           + [pts[-1:]])
    noise = rng.normal(0, amount, size=dense.shape)
    kernel = np.ones(min(9, len(dense))) / min(9, len(dense))
    smooth = np.stack([np.convolve(noise[:, i], kernel, mode="same") for i in range(2)], axis=1)
    return dense + smooth * 3


def draw(digit: int, style: int, convention: str, rng) -> Image.Image:
    ink, paper = CONVENTIONS[convention]
    img = Image.new("RGBA", (280, 280), paper)
    pen = ImageDraw.Draw(img)
    height = rng.uniform(110, 240)
    width = height * rng.uniform(0.5, 0.85)
    left, top = rng.uniform(5, 275 - width), rng.uniform(5, 275 - height)
    slant, brush = rng.uniform(-0.35, 0.25), int(rng.uniform(9, 28))
    for stroke in STYLES[digit][style]:
        pts = wobble(stroke, rng, 0.012)
        xy = [(left + (x + slant * (0.5 - y)) * width, top + y * height) for x, y in pts]
        pen.line(xy, fill=ink, width=brush, joint="curve")
        for x, y in (xy[0], xy[-1]):
            pen.ellipse((x - brush / 2, y - brush / 2, x + brush / 2, y + brush / 2), fill=ink)
    return img


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_id")
    parser.add_argument("--per-style", type=int, default=8, help="drawings per style, digit and convention")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    from engine.jobs.store import RunStore
    from engine.predict.predictor import Predictor

    predictor = Predictor.from_run(RunStore(args.home), args.run_id)
    rng = np.random.default_rng(args.seed)
    right, total, confusions = Counter(), Counter(), Counter()
    for convention in CONVENTIONS:
        for digit, styles in STYLES.items():
            for style in range(len(styles)):
                images = [draw(digit, style, convention, rng) for _ in range(args.per_style)]
                for item in predictor.predict_images(images):
                    for key in (convention, digit, "all"):
                        total[key] += 1
                        right[key] += item["label"] == digit
                    if item["label"] != digit:
                        confusions[(digit, style, item["label"])] += 1
    print(f"run {args.run_id} ({predictor.model_name}, {predictor.config.dataset}): {total['all']} drawings")
    for key in [*CONVENTIONS, *STYLES]:
        print(f"  {str(key):>14}: {right[key] / total[key]:.3f}  ({right[key]}/{total[key]})")
    print(f"  {'all':>14}: {right['all'] / total['all']:.3f}")
    if confusions:
        print("  mistakes (digit, style -> read as: count):",
              ", ".join(f"{d}.{s}->{p}: {n}" for (d, s, p), n in confusions.most_common(12)))


if __name__ == "__main__":
    main()
