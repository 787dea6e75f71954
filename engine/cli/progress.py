"""A tqdm progress bar as one more Trainer callback (the CLI's view of a run)."""

from __future__ import annotations

from engine.training.trainer import Callback


class TqdmProgress(Callback):
    """The bar (on stderr) and one line per epoch on `stream` (stdout unless given: `--json` keeps stdout for
    JSON)."""

    def __init__(self, stream=None, **kwargs):
        self.stream = stream
        self.kwargs = kwargs
        self.bar = None

    def on_epoch_start(self, trainer, state) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=state.batches_per_epoch or None, desc=f"epoch {state.epoch}/{state.max_epochs}",
                        leave=False, disable=None, **self.kwargs)  # on stderr

    def on_batch_end(self, trainer, state) -> None:
        if self.bar is not None:
            if not self.bar.total and state.batches_per_epoch:
                self.bar.total = state.batches_per_epoch
            self.bar.update(1)
            if state.step % 10 == 0:
                self.bar.set_postfix(loss=f"{state.batch_loss:.4f}")

    def on_epoch_end(self, trainer, state) -> None:
        self._close()
        m = state.metrics
        parts = [f"{k}={v:.4f}" for k, v in m.items() if k != "epoch_seconds"]
        print(f"epoch {state.epoch:3d}  " + "  ".join(parts) + f"  ({m.get('epoch_seconds', 0):.1f}s)", flush=True,
              file=self.stream)

    def on_fit_end(self, trainer, state) -> None:
        self._close()
        if state.message:
            print(state.message, file=self.stream)

    def on_exception(self, trainer, state, exc) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
