"""Pokémon Water vs Normal, the course's generative-vs-discriminative lab: a Gaussian per class (the
engine's GaussianGenerative, separate or shared covariance) beside logistic regression trained by
full-batch gradient descent, on the course split. Also what the page draws in 2-D: the Gaussians as
k-sigma ellipses and the boundary as the zero line of the log posterior ratio on a grid.

z(x) = ln P(x|Water)P(Water) − ln P(x|Normal)P(Normal), P(Water|x) = σ(z). With a shared Σ it is
linear, z = w·x + b with w = Σ⁻¹(μ_W − μ_N), b = −½μ_WᵀΣ⁻¹μ_W + ½μ_NᵀΣ⁻¹μ_N + ln(N_W/N_N): the same
form logistic regression fits directly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.data import pokemon
from engine.models.generative import GaussianGenerative

CLASSES = pokemon.CLASSES  # label 0 = Water, 1 = Normal
COURSE_TEST_ACC = {"separate": 0.54, "shared": 0.73}  # the course's figures, all seven stats


@dataclass
class SplitArrays:
    features: list[str]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def pokemon_split(home=None, stats: str = "defense_spdef") -> SplitArrays:
    """The course split (# < 400 train) as float64 arrays. Raises DataMissingError naming the fix."""
    ds = pokemon.load(home, stats=stats)
    return SplitArrays(list(ds.train.x.columns), ds.train.x.to_numpy(float), ds.train.y,
                       ds.test.x.to_numpy(float), ds.test.y)


def fit_generative(x: np.ndarray, y: np.ndarray, covariance: str) -> GaussianGenerative:
    model = GaussianGenerative(x.shape[1], len(CLASSES), covariance)
    model.fit_closed_form(torch.as_tensor(x), torch.as_tensor(y))
    return model


def log_ratio(model: GaussianGenerative, x: np.ndarray) -> np.ndarray:
    """z(x) = ln P(x|Water)P(Water) − ln P(x|Normal)P(Normal), in float64 (> 0: Water)."""
    x = torch.as_tensor(np.asarray(x, float))
    dist = torch.distributions.MultivariateNormal(model.means, covariance_matrix=model.covs)
    logits = dist.log_prob(x[:, None, :]) + model.log_priors
    return (logits[:, 0] - logits[:, 1]).numpy()


def predict_generative(model: GaussianGenerative, x: np.ndarray) -> np.ndarray:
    return model(torch.as_tensor(np.asarray(x, float))).argmax(1).numpy()


def shared_linear(model: GaussianGenerative) -> tuple[np.ndarray, float]:
    """(w, b) with z(x) = w·x + b, from the means, the shared Σ and the priors (the course's derivation)."""
    mu_w, mu_n = model.means.numpy()
    inv = np.linalg.inv(model.covs[0].numpy())
    lw, ln = model.log_priors.numpy()
    return inv @ (mu_w - mu_n), float(-0.5 * mu_w @ inv @ mu_w + 0.5 * mu_n @ inv @ mu_n + lw - ln)


def ratio_grid(model: GaussianGenerative, x_range, y_range, n: int = 120):
    """(xs, ys, Z) with Z[i, j] = z at (xs[j], ys[i]) over two features; the boundary is Z = 0."""
    xs, ys = np.linspace(*x_range, n), np.linspace(*y_range, n)
    X, Y = np.meshgrid(xs, ys)
    return xs, ys, log_ratio(model, np.c_[X.ravel(), Y.ravel()]).reshape(n, n)


def ellipse(mean, cov, k: float = 1.0, n: int = 100) -> np.ndarray:
    """(n, 2) points where the Mahalanobis distance from `mean` under `cov` is k (the k-sigma contour)."""
    vals, vecs = np.linalg.eigh(np.asarray(cov, float))
    t = np.linspace(0, 2 * np.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)])
    return (np.asarray(mean, float)[:, None] + k * vecs @ (np.sqrt(vals)[:, None] * circle)).T


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def loss_and_gradient(w, b, x, t) -> tuple[float, np.ndarray, float]:
    """The mean cross-entropy −[t ln f + (1 − t) ln(1 − f)], f = σ(w·x + b) (t = 1 for Water), and its
    gradient (∂L/∂w, ∂L/∂b) = (−mean((t − f)·x), −mean(t − f))."""
    z = x @ w + b
    loss = float(np.mean(np.logaddexp(0.0, -z) * t + np.logaddexp(0.0, z) * (1 - t)))
    err = t - sigmoid(z)
    return loss, -(err @ x) / len(t), float(-err.mean())


@dataclass
class Logistic:
    w: np.ndarray  # on standardised features
    b: float
    mean: np.ndarray  # the training split's, used to standardise
    std: np.ndarray
    loss: np.ndarray  # training cross-entropy per step

    def z(self, x) -> np.ndarray:
        return ((np.asarray(x, float) - self.mean) / self.std) @ self.w + self.b

    def predict(self, x) -> np.ndarray:
        return np.where(self.z(x) > 0, 0, 1)  # z > 0: Water (label 0)

    def raw_linear(self) -> tuple[np.ndarray, float]:
        """(w, b) over the raw stats: z = w·x + b."""
        w = self.w / self.std
        return w, float(self.b - w @ self.mean)


def logistic_gd(x: np.ndarray, y: np.ndarray, lr: float = 0.5, steps: int = 2000) -> Logistic:
    """Logistic regression P(Water|x) = σ(w·x + b) by full-batch gradient descent on the mean cross-entropy,
    features standardised with the training mean and standard deviation, starting from zero."""
    mean, std = x.mean(0), x.std(0)
    std = np.where(std > 0, std, 1.0)
    xs, t = (x - mean) / std, (np.asarray(y) == 0).astype(float)
    w, b = np.zeros(x.shape[1]), 0.0
    losses = []
    for _ in range(steps):
        loss, gw, gb = loss_and_gradient(w, b, xs, t)
        losses.append(loss)
        w, b = w - lr * gw, b - lr * gb
    losses.append(loss_and_gradient(w, b, xs, t)[0])
    return Logistic(w, b, mean, std, np.array(losses))


def accuracy(pred, y) -> float:
    return float(np.mean(np.asarray(pred) == np.asarray(y)))


def compare(data: SplitArrays, covariance: str, lr: float = 0.5, steps: int = 2000) -> dict:
    """Fitted models and their train/test accuracies on one split."""
    gen = fit_generative(data.x_train, data.y_train, covariance)
    log = logistic_gd(data.x_train, data.y_train, lr, steps)
    rows = []
    for name, predict in ((f"generative, {covariance} Σ", lambda x: predict_generative(gen, x)),
                          ("logistic regression", log.predict)):
        rows.append({"model": name, "train_acc": accuracy(predict(data.x_train), data.y_train),
                     "test_acc": accuracy(predict(data.x_test), data.y_test)})
    return {"generative": gen, "logistic": log, "rows": rows}
