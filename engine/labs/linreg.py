"""Linear regression y = b + w·x by gradient descent (the course's first lab): the descent path over
(w, b) for a learning rate, with or without AdaGrad, with an L2 penalty lambda·w², and the loss
surface to draw it on. Pure numpy, float64."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def loss(x: np.ndarray, y: np.ndarray, w, b, l2: float = 0.0):
    """Mean squared error + l2·w² (broadcasts over arrays of w and b)."""
    w, b = np.asarray(w, dtype=float), np.asarray(b, dtype=float)
    pred = b[..., None] + w[..., None] * x
    return np.mean((y - pred) ** 2, axis=-1) + l2 * w ** 2


def closed_form(x: np.ndarray, y: np.ndarray, l2: float = 0.0) -> tuple[float, float]:
    """The minimiser (w, b) of `loss`: ridge on w only, b unpenalised."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    xc, yc = x - x.mean(), y - y.mean()
    w = float((xc @ yc) / (xc @ xc + l2 * len(x)))
    return w, float(y.mean() - w * x.mean())


@dataclass
class Path:
    w: np.ndarray  # (steps + 1,)
    b: np.ndarray
    loss: np.ndarray


def gradient_descent(x, y, lr: float, steps: int = 1000, w0: float = 0.0, b0: float = 0.0,
                     adagrad: bool = False, l2: float = 0.0, eps: float = 1e-8) -> Path:
    """Full-batch gradient descent on `loss`; AdaGrad divides each step by the root of the summed squared
    gradients of that parameter. Stops early (path shorter) once the loss would overflow (divergence)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    w, b = float(w0), float(b0)
    gw2 = gb2 = 0.0
    ws, bs = [w], [b]
    for _ in range(steps):
        err = y - (b + w * x)
        gw = -2.0 * np.mean(err * x) + 2.0 * l2 * w
        gb = -2.0 * np.mean(err)
        if adagrad:
            gw2, gb2 = gw2 + gw * gw, gb2 + gb * gb
            w, b = w - lr * gw / (np.sqrt(gw2) + eps), b - lr * gb / (np.sqrt(gb2) + eps)
        else:
            w, b = w - lr * gw, b - lr * gb
        with np.errstate(over="ignore", invalid="ignore"):
            if not (np.isfinite(w) and np.isfinite(b) and np.isfinite(loss(x, y, w, b, l2))):
                break
        ws.append(w)
        bs.append(b)
    ws_a, bs_a = np.array(ws), np.array(bs)
    return Path(ws_a, bs_a, loss(x, y, ws_a, bs_a, l2))


def loss_grid(x, y, w_range, b_range, n: int = 80, l2: float = 0.0):
    """(ws, bs, Z) with Z[i, j] = loss at (w=ws[j], b=bs[i]) — the layout plotly's contour expects."""
    ws, bs = np.linspace(*w_range, n), np.linspace(*b_range, n)
    W, B = np.meshgrid(ws, bs)
    return ws, bs, loss(np.asarray(x, float), np.asarray(y, float), W, B, l2)
