"""Turn a drawing or a photo of one digit into the input a digit model was trained on.

One function, `prepare_digit`, serves the drawing canvas, uploaded PNG/JPEG files and the CLI
(`predict RUN --input-file LIST`), so all three see exactly the same preprocessing:

1. ink: how much paint each pixel holds, in [0, 1]. A transparent RGBA image (the drawing canvas)
   is read by its alpha channel; an opaque one by its brightness, light-on-dark or dark-on-light
   decided by the background (the median of the border pixels).
2. crop to the bounding box of the ink; for MNIST, even out the stroke width (MNIST's strokes are
   ~2.2 px wide in the 20 px box: bold fonts and wide brushes are thinned, hairlines thickened);
3. MNIST (28x28): scale the longer side to 20 px keeping the aspect ratio (area-averaged, so
   strokes get grey edges as in MNIST), then place it so its centre of mass sits at the centre of
   the 28x28 field (index 13.5, 13.5) — how LeCun et al. made MNIST;
   scikit-learn digits (8x8): scale the longer side to 32 px, centre the box in a 32x32 field and
   count the ink in 4x4 blocks (how the UCI optdigits were made), values 0..1.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

INK_THRESHOLD = 0.2  # share of the strongest ink that counts as part of the digit's box
MNIST_BOX = 20
STROKE_TARGET = 2.3  # MNIST's median stroke width is 2.2 px (2 x area / outline of pixels > 0.5)
DIGITS_FIELD = 32
MAX_SIDE = 512  # a bigger picture is shrunk first: the digit needs no more, every later step costs per pixel
MAX_PIXELS = 50_000_000  # larger pictures are refused before they are decoded


class BlankImageError(ValueError):
    """The image holds no ink: nothing to predict."""


def load_image(source) -> np.ndarray:
    """A path, bytes, file object, PIL image or array -> uint8/float array (H, W), (H, W, 3) or (H, W, 4)."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, np.ndarray):
        if max(source.shape[:2], default=0) <= MAX_SIDE or source.ndim not in (2, 3):
            return source
        source = Image.fromarray(np.asarray(source if source.dtype == np.uint8
                                            else np.clip(source * (255 if source.max() <= 1 else 1), 0, 255),
                                            dtype=np.uint8))
    if isinstance(source, str | os.PathLike):
        source = Path(source).expanduser()
        if not source.is_file():
            raise ValueError(f"{source} is not an image file")
    elif isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    try:
        img = source if isinstance(source, Image.Image) else Image.open(source)
        if img.width * img.height > MAX_PIXELS:
            raise ValueError(f"the image is {img.width}x{img.height} pixels; at most {MAX_PIXELS // 1_000_000} million "
                             f"are read. Fix: give a smaller picture (a digit needs about {MAX_SIDE}x{MAX_SIDE})")
        has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
        img.draft("RGBA" if has_alpha else "L", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a fraction of the size
        img.load()
        img = img.convert("RGBA" if has_alpha else "L")
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)  # before any processing (keeps the aspect)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise ValueError("cannot read the image (not a PNG or JPEG, or damaged). Fix: give a PNG or JPEG file") \
            from None
    return np.asarray(img)


def ink_map(image, paper: float | None = None) -> np.ndarray:
    """Ink in [0, 1] per pixel (1 = full paint), whatever the background convention.

    `paper`: the grey level of the background when the caller knows it (the canvas: 0.0, black), so
    that a canvas painted all over is all ink rather than a blank sheet of the other colour. Without
    it the background is guessed from the border (or the alpha channel of a transparent image)."""
    a = np.asarray(image)
    if a.ndim not in (2, 3) or a.size == 0:
        raise ValueError(f"expected an image array (H, W[, C]); got shape {a.shape}")
    a = a.astype(np.float32) / (255.0 if a.dtype == np.uint8 or a.max() > 1.0 else 1.0)
    if a.ndim == 3 and a.shape[2] in (2, 4):
        alpha = a[..., -1:]
        if paper is not None:  # lay the picture on its known paper
            a = a[..., :-1] * alpha + paper * (1.0 - alpha)
        elif alpha.min() < 0.9:  # a transparent background: the paint is where the alpha is
            return np.clip(alpha[..., 0], 0.0, 1.0)
        else:
            a = a[..., :-1]
    if a.ndim == 3:
        gray = a[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32) if a.shape[2] >= 3 else a[..., 0]
    else:
        gray = a
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    bg = float(np.median(border)) if paper is None else float(paper)
    ink = (bg - gray) / max(bg, 1e-3) if bg > 0.5 else (gray - bg) / max(1.0 - bg, 1e-3)
    return np.clip(ink, 0.0, 1.0).astype(np.float32)


def _resize(a: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    downscale = width < a.shape[1] or height < a.shape[0]
    method = Image.Resampling.BOX if downscale else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(a.astype(np.float32), mode="F").resize((width, height), method))


def _crop(ink: np.ndarray) -> np.ndarray:
    peak = float(ink.max())
    if peak < 0.1:
        raise BlankImageError("the image is blank: draw a digit (or upload a picture of one)")
    ink = ink / peak
    rows = np.flatnonzero((ink >= INK_THRESHOLD).any(1))
    cols = np.flatnonzero((ink >= INK_THRESHOLD).any(0))
    return ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]


def _scaled(crop: np.ndarray, longest: int) -> np.ndarray:
    h, w = crop.shape
    scale = longest / max(h, w)
    out = _resize(crop, max(1, round(w * scale)), max(1, round(h * scale)))
    return np.clip(out / max(float(out.max()), 1e-6), 0.0, 1.0)


def _paste(field: np.ndarray, patch: np.ndarray, top: int, left: int) -> np.ndarray:
    """Place `patch` at (top, left), dropping whatever falls outside the field."""
    h, w = patch.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, field.shape[0]), min(left + w, field.shape[1])
    field[y0:y1, x0:x1] = patch[y0 - top: y1 - top, x0 - left: x1 - left]
    return field


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary drawing in pixels: 2 x area / outline length."""
    from PIL import Image, ImageFilter

    mask = np.pad(mask, 1)  # ink at the picture's edge has an outline there too (a canvas painted all over)
    inner = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MinFilter(3))) > 0
    outline = int((mask & ~inner).sum())
    return 2.0 * float(mask.sum()) / max(outline, 1)


def _morph(crop: np.ndarray, steps: int, grow: bool) -> np.ndarray:
    from PIL import Image, ImageFilter

    pad = steps if grow else 0
    img = Image.fromarray((np.pad(crop, pad) * 255).astype(np.uint8))
    for _ in range(steps):  # k 3x3 passes = one (2k+1)-square structuring element, much faster
        img = img.filter(ImageFilter.MaxFilter(3) if grow else ImageFilter.MinFilter(3))
    return np.asarray(img, dtype=np.float32) / 255.0


def normalise_stroke(crop: np.ndarray, longest: int) -> np.ndarray:
    """Thin bold strokes (fonts, a wide brush on a small digit) and thicken hairlines towards MNIST's
    ~2.2 px per 20 px box, so the brush width changes the prediction less."""
    mask = crop >= 0.5
    if mask.sum() < 10:
        return crop
    scale = longest / max(crop.shape)
    width = stroke_width(mask) * scale  # in output pixels
    target = STROKE_TARGET * longest / MNIST_BOX
    if target / 1.5 <= width <= target * 1.35:
        return crop
    # full-resolution pixels on each side; a few percent of the box is all a real stroke ever needs
    steps = min(round(abs(width - target) / scale / 2), max(1, max(crop.shape) // 10))
    if steps < 1:
        return crop
    out = _morph(crop, steps, grow=width < target)
    return out if (out >= 0.5).sum() >= 10 else crop


def mnist_style(ink: np.ndarray, size: int = 28) -> np.ndarray:
    """Crop, even out the stroke width, longer side to 20/28 of `size`, centre of mass at the centre of
    a size x size field."""
    from scipy.ndimage import center_of_mass  # here, not at the top: ~0.5 s of start-up the text runs skip

    longest = max(1, round(size * MNIST_BOX / 28))
    small = _scaled(_crop(normalise_stroke(_crop(ink), longest)), longest)
    cy, cx = center_of_mass(small)
    centre = (size - 1) / 2
    return _paste(np.zeros((size, size), np.float32), small, round(centre - cy), round(centre - cx))


def digits_style(ink: np.ndarray, size: int = 8) -> np.ndarray:
    """Crop, longer side to a 32-pixel field, centre the box, ink per 4x4 block (0..1)."""
    field_size = size * DIGITS_FIELD // 8
    small = _scaled(_crop(ink), field_size)
    h, w = small.shape
    field = _paste(np.zeros((field_size, field_size), np.float32), small, (field_size - h) // 2,
                   (field_size - w) // 2)
    block = field_size // size
    return field.reshape(size, block, size, block).mean(axis=(1, 3)).astype(np.float32)


def prepare_digit(image, shape=(28, 28), paper: float | None = None) -> np.ndarray:
    """Any picture of one digit -> float32 (H, W) in [0, 1], light ink on black, as the run's data.

    `shape` (8, 8) gives scikit-learn's digits convention, anything else MNIST's; `paper` the known
    background grey (see `ink_map`). Raises BlankImageError when there is no ink, ValueError when the
    input is not an image."""
    ink = ink_map(load_image(image), paper)
    h, w = (int(s) for s in shape)
    if (h, w) == (8, 8):
        return digits_style(ink, 8)
    if h != w:
        raise ValueError(f"digit images must be square; this run takes {h}x{w}")
    return mnist_style(ink, h)
