"""Linear regression y = b + w·x by gradient descent (the course's first lab): the descent path over
(w, b) for a learning rate, with or without AdaGrad, with an L2 penalty lambda·w², and the loss
surface to draw it on. Pure numpy, float64.

The loss and its gradient depend on the data only through five means (x, y, x², xy, y²), so one
step costs the same for 10 points or 10,000, and 100,000 steps take well under a second."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def loss(x: np.ndarray, y: np.ndarray, w, b, l2: float = 0.0):
    """Mean squared error + l2·w² (broadcasts over arrays of w and b)."""
    w, b = np.asarray(w, dtype=float), np.asarray(b, dtype=float)
    pred = b[..., None] + w[..., None] * x
    return np.mean((y - pred) ** 2, axis=-1) + l2 * w ** 2


def gradient(x, y, w: float, b: float, l2: float = 0.0) -> tuple[float, float]:
    """(∂L/∂w, ∂L/∂b) of `loss`: −2·mean((y − b − w·x)·x) + 2·l2·w and −2·mean(y − b − w·x)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    err = y - (b + w * x)
    return float(-2.0 * np.mean(err * x) + 2.0 * l2 * w), float(-2.0 * np.mean(err))


def closed_form(x: np.ndarray, y: np.ndarray, l2: float = 0.0) -> tuple[float, float]:
    """The minimiser (w, b) of `loss`: ridge on w only, b unpenalised."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    xc, yc = x - x.mean(), y - y.mean()
    w = float((xc @ yc) / (xc @ xc + l2 * len(x)))
    return w, float(y.mean() - w * x.mean())


def stable_lr(x, l2: float = 0.0) -> float:
    """2 / (largest eigenvalue of the loss's Hessian): plain gradient descent with a larger learning rate
    diverges. The Hessian is 2·[[mean x² + l2, mean x], [mean x, 1]], the same at every (w, b)."""
    x = np.asarray(x, float)
    hess = 2.0 * np.array([[np.mean(x * x) + l2, np.mean(x)], [np.mean(x), 1.0]])
    return float(2.0 / np.linalg.eigvalsh(hess)[-1])


@dataclass
class Path:
    w: np.ndarray  # (steps + 1,)
    b: np.ndarray
    loss: np.ndarray

    @property
    def diverged(self) -> bool:
        return not np.isfinite(self.loss[-1]) or self.loss[-1] > self.loss[0]


def _moments(x, y) -> tuple[float, float, float, float, float]:
    x, y = np.asarray(x, float), np.asarray(y, float)
    return float(x.mean()), float(y.mean()), float(np.mean(x * x)), float(np.mean(x * y)), float(np.mean(y * y))


def _path_loss(m, w: np.ndarray, b: np.ndarray, l2: float) -> np.ndarray:
    mx, my, mxx, mxy, myy = m
    with np.errstate(over="ignore", invalid="ignore"):
        return myy - 2 * b * my - 2 * w * mxy + b * b + 2 * b * w * mx + w * w * mxx + l2 * w * w


def gradient_descent(x, y, lr: float, steps: int = 1000, w0: float = 0.0, b0: float = 0.0,
                     adagrad: bool = False, l2: float = 0.0, eps: float = 1e-8) -> Path:
    """Full-batch gradient descent on `loss`; AdaGrad divides each step by the root of the summed squared
    gradients of that parameter. Stops early (path shorter) once the loss would overflow (divergence)."""
    m = mx, my, mxx, mxy, _ = _moments(x, y)
    w, b = float(w0), float(b0)
    gw2 = gb2 = 0.0
    ws, bs = [w], [b]
    limit = 1e100  # far beyond any fit; the squared error still fits in float64
    for _ in range(steps):
        gw = -2.0 * (mxy - b * mx - w * mxx) + 2.0 * l2 * w
        gb = -2.0 * (my - b - w * mx)
        if adagrad:
            gw2, gb2 = gw2 + gw * gw, gb2 + gb * gb
            w, b = w - lr * gw / (gw2 ** 0.5 + eps), b - lr * gb / (gb2 ** 0.5 + eps)
        else:
            w, b = w - lr * gw, b - lr * gb
        if not (abs(w) < limit and abs(b) < limit):  # also catches nan
            break
        ws.append(w)
        bs.append(b)
    ws_a, bs_a = np.array(ws), np.array(bs)
    path_loss = _path_loss(m, ws_a, bs_a, l2)
    if len(ws_a) < steps + 1 or not np.isfinite(path_loss[-1]):
        keep = np.isfinite(path_loss)
        ws_a, bs_a, path_loss = ws_a[keep], bs_a[keep], path_loss[keep]
    # the expanded form cancels badly near the minimum: recompute the points people read exactly
    with np.errstate(over="ignore", invalid="ignore"):
        path_loss[[0, -1]] = loss(np.asarray(x, float), np.asarray(y, float), ws_a[[0, -1]], bs_a[[0, -1]], l2)
    return Path(ws_a, bs_a, path_loss)


def loss_grid(x, y, w_range, b_range, n: int = 80, l2: float = 0.0):
    """(ws, bs, Z) with Z[i, j] = loss at (w=ws[j], b=bs[i]) — the layout plotly's contour expects."""
    ws, bs = np.linspace(*w_range, n), np.linspace(*b_range, n)
    W, B = np.meshgrid(ws, bs)
    return ws, bs, loss(np.asarray(x, float), np.asarray(y, float), W, B, l2)


def view_range(points: list[tuple[float, float]], paths: list[Path], pad: float = 0.15,
               max_zoom_out: float = 4.0) -> tuple[tuple[float, float], tuple[float, float]]:
    """((w_lo, w_hi), (b_lo, b_hi)) holding `points` (start, minimum) and the paths, padded; a diverging
    path may widen the box to at most `max_zoom_out` times the box of the points, so the minimum stays
    visible."""
    pw = np.array([p[0] for p in points], float)
    pb = np.array([p[1] for p in points], float)
    core = [(pw.min(), pw.max()), (pb.min(), pb.max())]
    ranges = []
    for axis, (lo, hi) in enumerate(core):
        span = max(hi - lo, 1e-3 * max(abs(lo), abs(hi), 1.0))
        vals = [lo, hi] + [float(f((p.w, p.b)[axis])) for p in paths for f in (np.min, np.max)]
        mid = (lo + hi) / 2
        cap_lo, cap_hi = mid - max_zoom_out * span / 2, mid + max_zoom_out * span / 2
        a, z = max(min(vals), cap_lo), min(max(vals), cap_hi)
        extra = pad * max(z - a, span)
        ranges.append((a - extra, z + extra))
    return ranges[0], ranges[1]


LR_OPTIONS = tuple(float(f"{m}e{e}") for e in range(-7, 3) for m in (1, 2, 5))  # 1e-7, 2e-7, 5e-7 ... 200, 500


def suggested_lr(x, y, adagrad: bool, l2: float = 0.0, options=LR_OPTIONS) -> float:
    """A learning rate from `options` to start from: plain descent takes the largest below 80 % of
    `stable_lr`; AdaGrad (whose first step moves each parameter by lr) about 1/20 of the larger of |w*|, |b*|."""
    if adagrad:
        w, b = closed_form(x, y, l2)
        target = max(abs(w), abs(b), 1e-6) / 20
        return min(options, key=lambda v: abs(np.log10(v) - np.log10(target)))
    limit = 0.8 * stable_lr(x, l2)
    below = [v for v in options if v <= limit]
    return max(below) if below else min(options)
