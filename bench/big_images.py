"""Preprocessing a digit picture as its size grows: the same thick-stroked 7 at 280x280 and at 4000x4000,
through `prepare_digit` (the canvas, uploads and the CLI share it), timed side by side in one run, and the
ratio big/small. Huge pictures are shrunk first (engine.predict.images.MAX_SIDE), so the ratio stays small.

    python bench/big_images.py [--rounds 3] [--stroke 0.04]
"""

from __future__ import annotations

import argparse
import io
import time

import _common  # noqa: F401 (puts the repository on sys.path)
from PIL import Image, ImageDraw


def picture(side: int, stroke: float) -> bytes:
    img = Image.new("L", (side, side), 255)
    ImageDraw.Draw(img).line([(side * 0.25, side * 0.2), (side * 0.75, side * 0.2), (side * 0.45, side * 0.85)],
                             fill=0, width=max(1, round(side * stroke)))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def main() -> None:
    from engine.predict.images import prepare_digit

    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--stroke", type=float, default=0.04, help="stroke width as a share of the side")
    args = p.parse_args()
    pictures = {side: picture(side, args.stroke) for side in (280, 4000)}
    best = {side: float("inf") for side in pictures}
    for _ in range(args.rounds):  # paired rounds: both sizes under the same machine load
        for side, data in pictures.items():
            t0 = time.perf_counter()
            prepare_digit(data, (28, 28))
            best[side] = min(best[side], time.perf_counter() - t0)
    for side, seconds in best.items():
        print(f"{side}x{side}: {seconds * 1000:.1f} ms (best of {args.rounds})")
    print(f"ratio 4000/280: {best[4000] / best[280]:.1f}x")


if __name__ == "__main__":
    main()
