"""One torch.export.export of a run's model (eval mode, dynamic batch and sequence length): the .pt2 export saves it
and the ONNX export converts it, so both formats are the same graph. Models whose PyTorch code does not export as
it is get an export formulation here that computes the same logits from the same weights."""

from __future__ import annotations

import contextlib
import math
import warnings

import torch
from torch import nn

from engine.predict.export import inputs as model_inputs
from engine.predict.export.source import ExportError, ExportSource


class ClosedFormGaussian(nn.Module):
    """GaussianGenerative's log P(x|c) + log P(c) from precomputed inverse Cholesky factors and log-determinants
    (MultivariateNormal's argument checks are data-dependent and ONNX has no Cholesky)."""

    def __init__(self, model):
        super().__init__()
        chol = torch.linalg.cholesky(model.covs)  # (C, D, D) float64
        eye = torch.eye(chol.shape[-1], dtype=chol.dtype).expand_as(chol)
        self.register_buffer("inv_chol_t", torch.linalg.solve_triangular(chol, eye, upper=False).transpose(1, 2))
        half_logdet = chol.diagonal(dim1=1, dim2=2).log().sum(-1)
        self.register_buffer("means", model.means.clone())
        self.register_buffer("const", model.log_priors - half_logdet - 0.5 * chol.shape[-1] * math.log(2 * math.pi))

    def forward(self, x):
        diff = x.to(torch.float64)[:, None, None, :] - self.means[None, :, None, :]
        z = (diff @ self.inv_chol_t).squeeze(2)
        return (self.const - 0.5 * (z * z).sum(-1)).float()


def _rnn_call(model, x):
    from engine.predict.export.rnn_padded import padded_head

    return padded_head(model, model.embed(x), x)


def quiet_exporter_warnings() -> None:
    """Inside catch_warnings(): torch's own deprecation notes from its decompositions, and the ONNX converter's note
    that axes sharing a constraint share a name, are nothing a learner can act on."""
    warnings.simplefilter("ignore", FutureWarning)
    warnings.filterwarnings("ignore", message="# The axis name", category=UserWarning)


def exportable(src: ExportSource, names: list[str]) -> tuple[nn.Module, contextlib.AbstractContextManager]:
    """(a module taking the named inputs as positional tensors, the context to export it in)."""
    model = src.model.eval()
    if src.config.model == "generative":
        return model_inputs.FlatInputs(ClosedFormGaussian(model).eval(), names), contextlib.nullcontext()
    if src.config.model == "rnn":
        from engine.predict.export.rnn_ops import rnn_decomps

        return model_inputs.FlatInputs(model, names, call=_rnn_call), rnn_decomps()
    return model_inputs.FlatInputs(model, names), contextlib.nullcontext()


def export_program(src: ExportSource, example: dict) -> tuple[torch.export.ExportedProgram, list[str]]:
    """The run's model as an ExportedProgram traced on `example` (named tensors), with its input names."""
    names = [k for k in example if k != model_inputs.EXPECTED]
    traced = model_inputs.traceable({k: torch.as_tensor(example[k]) for k in names})
    module, ctx = exportable(src, names)
    try:
        with ctx, torch.no_grad(), warnings.catch_warnings():
            quiet_exporter_warnings()
            program = torch.export.export(module, tuple(traced.values()),
                                          dynamic_shapes=(model_inputs.dynamic_shapes(traced),))  # forward(*tensors)
    except Exception as exc:  # torch.export raises many kinds; the learner gets one clear message
        raise ExportError(f"torch.export could not trace this {src.config.model} ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:200]}). Use the checkpoint or script export") from None
    return program, names


def check_close(got, expected, what: str, atol: float = 1e-4) -> float:
    """The largest difference between an export's logits and the PyTorch model's; ExportError past `atol`."""
    diff = float(abs(torch.as_tensor(got).float() - torch.as_tensor(expected).float()).max())
    if not diff <= atol:
        raise ExportError(f"the {what} gives logits up to {diff:.2g} away from the PyTorch model's (allowed "
                          f"{atol:g}); nothing usable was written. Use the checkpoint export")
    return diff
