"""Device placement: every tensor a run uses lives where its parameters live.

They run on the CPU everywhere; a move to an accelerator is simulated with PyTorch's "meta" device
(tensors with a device and a dtype but no data), so a tensor left behind on the CPU is caught without a GPU.
The same paths run on cuda and mps where present, skipped with the reason otherwise."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

import engine.models.generative
import engine.training.batching
import engine.training.run
from engine.cli import main
from engine.config.options import ConfigError
from engine.config.run_config import make_config
from engine.jobs.local import stop_supervisor
from engine.jobs.store import RunStore
from engine.models.generative import GaussianGenerative
from engine.training import checkpoint, threads
from engine.training.batching import make_batches, place, to_device
from engine.training.callbacks import NanGuard, StoreReporter
from engine.training.devices import available_devices, cap_threads, float64_ok, rng_state, set_rng_state
from engine.training.precision import Precision
from engine.training.run import execute
from engine.training.trainer import Callback, Trainer, TrainState

ACCELERATORS = [pytest.param(name, marks=pytest.mark.skipif(name not in available_devices(),
                                                            reason=f"no {name} device on this machine"))
                for name in ("cuda", "mps")]
TINY = {"dataset": "digits", "model": "mlp", "optimizer": "adam", "lr": 0.01, "batch_size": 256,
        "model_args": {"layers": 1, "width": 8, "batch_norm": False, "dropout": 0.0, "input_norm": False}}


class Abort(Exception):
    """Ends a run on the simulated device once its placement is recorded (meta tensors hold no data)."""


class Placement(Callback):
    """Records, when fitting starts, where the model's parameters and the optimizer's state tensors are."""

    def __init__(self, abort: bool = False):
        self.abort, self.params, self.state, self.same_params = abort, set(), [], False

    def on_fit_start(self, trainer, state) -> None:
        params = list(trainer.model.parameters())
        self.params = {(p.device.type, p.dtype) for p in params}
        for values in trainer.optimizer.state.values():
            for key, value in values.items():
                # Adam's `step` is a CPU scalar by PyTorch's design (unless capturable/fused); the rest follow the parameter
                if isinstance(value, torch.Tensor) and key != "step":
                    self.state.append((key, value.device.type, value.dtype))
        optimized = [p for group in trainer.optimizer.param_groups for p in group["params"]]
        self.same_params = {id(p) for p in optimized} <= {id(p) for p in params}
        if self.abort:
            raise Abort


class StopAfterFirstEpoch(Callback):
    def on_epoch_end(self, trainer, state) -> None:
        state.stop("cancelled", "stopped by the test")


def resume_on(home, monkeypatch, device: str, first_device: str = "cpu") -> Placement:
    """Train one epoch of two on `first_device` and stop, then resume the run on `device`."""
    store = RunStore(home)
    run_id = store.create_run(make_config(**TINY, device=first_device, epochs=2), status="running")
    assert execute(store, run_id, extra_callbacks=[StopAfterFirstEpoch()])["status"] == "stopped"
    store.update(run_id, resume=1)
    simulated = device == "meta"
    if simulated:  # the run asks for an accelerator; the trainer gets the meta device
        monkeypatch.setattr(engine.training.run, "resolve_device", lambda name: torch.device("meta"))
    placement = Placement(abort=simulated)
    summary = execute(store, run_id, extra_callbacks=[placement])
    if not simulated:
        assert summary["status"] == "done", summary
    return placement


@pytest.mark.parametrize("device", ["meta", *ACCELERATORS])
def test_resume_puts_the_optimizer_state_on_the_parameters_device(home, monkeypatch, device):
    placement = resume_on(home, monkeypatch, device)
    assert placement.params == {(device, torch.float32)}
    assert placement.state, "Adam has state after one epoch"
    wrong = [s for s in placement.state if s[1:] != (device, torch.float32)]
    assert not wrong, f"optimizer state not on the parameters' {device} float32 (key, device, dtype): {wrong}"
    assert placement.same_params, "the optimizer steps tensors that are not the model's parameters"


def table_data(n: int = 120, d: int = 5, k: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % k
    return torch.randn(n, d, generator=g) + y[:, None].float(), y


@pytest.mark.parametrize("covariance", ["shared", "separate"])
@pytest.mark.parametrize("device", ["meta", "cpu", *ACCELERATORS])
def test_generative_fits_every_tensor_on_the_parameters_device(device, covariance):
    model = GaussianGenerative(5, 2, covariance).to(device)
    x, y = table_data()
    model.fit_closed_form(x, y)  # inputs on the CPU, as the run hands them over
    dtype = torch.float64 if float64_ok(torch.device(device)) else torch.float32
    assert {(b.device.type, b.dtype) for b in model.buffers()} == {(device, dtype)}
    out = model(x.to(device))
    assert (out.device.type, out.dtype, tuple(out.shape)) == (device, torch.float32, (120, 2))
    assert model.configure_optimizers(None, 1) == (None, None, False)  # nothing to step, nothing to place


def test_generative_without_float64_computes_in_float32_close_to_float64(monkeypatch):
    x, y = table_data()
    double = GaussianGenerative(5, 2, "separate")
    double.fit_closed_form(x, y)
    monkeypatch.setattr(engine.models.generative, "float64_ok", lambda device: False)  # as on MPS
    single = GaussianGenerative(5, 2, "separate").to("cpu")
    assert {b.dtype for b in single.buffers()} == {torch.float32}
    single.fit_closed_form(x, y)
    assert torch.allclose(single(x), double(x), atol=1e-3)
    single.load_state_dict(double.state_dict())  # a float64 checkpoint loads into the float32 buffers
    assert {b.dtype for b in single.buffers()} == {torch.float32}


@pytest.mark.parametrize("device", ["cpu", *ACCELERATORS])
def test_checkpoints_hold_cpu_tensors(tmp_path, device):
    """A raw torch.load (no map_location), as a user's own script would do it, finds only CPU tensors."""
    payload = {"model": {"w": torch.ones(2, device=device)}, "config": {},
               "optimizer": {"state": {0: {"m": torch.zeros(1, device=device)}}},
               "rng": rng_state(torch.device(device)), "pair": (torch.ones(1, device=device), 3)}
    checkpoint.save(tmp_path / "c.pt", payload)
    raw = torch.load(tmp_path / "c.pt", weights_only=True)
    assert raw["model"]["w"].device.type == raw["optimizer"]["state"][0]["m"].device.type == "cpu"
    assert isinstance(raw["pair"], tuple) and raw["pair"][0].device.type == "cpu" and raw["pair"][1] == 3
    assert set(raw["rng"]) == {"torch"} | ({device} - {"cpu"})


@pytest.mark.parametrize("device", ACCELERATORS)
def test_accelerator_rng_state_is_saved_and_restored(device):
    dev = torch.device(device)
    state = rng_state(dev)
    assert device in state
    first = torch.rand(3, device=dev)
    set_rng_state(state, dev)
    assert torch.equal(torch.rand(3, device=dev), first)


def test_resume_on_another_device_from_the_cli(home, capsys):
    store = RunStore(home)
    run_id = store.create_run(make_config(**TINY, device="cpu", epochs=2), status="running")
    assert execute(store, run_id, extra_callbacks=[StopAfterFirstEpoch()])["status"] == "stopped"
    with pytest.raises(ConfigError, match="device"):
        store.set_device(run_id, "tpu")
    assert store.get_run(run_id)["config"]["device"] == "cpu"  # a refused change changes nothing
    store.set_device(run_id, "auto")
    assert store.get_run(run_id)["config"]["device"] == "auto"
    store.update(run_id, status="running")
    with pytest.raises(ValueError, match="only interrupted, stopped, failed"):
        store.set_device(run_id, "cpu")
    store.update(run_id, status="stopped")
    try:
        assert main(["resume", run_id, "--device", "cpu", "--wait", "--json"]) == 0
    finally:
        stop_supervisor(home)
    run = store.get_run(run_id)
    assert (run["status"], run["epoch"], run["device"], run["config"]["device"]) == ("done", 2, "cpu", "cpu")


# --- a Trainer that does not wait for the device every batch -------------------------------------------------
def problem(n: int = 96, seed: int = 0) -> tuple[nn.Module, DataLoader]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = (x[:, 0] > 0).long()
    torch.manual_seed(seed)
    return nn.Linear(3, 2), make_batches(x, y, 8, shuffle=True, generator=g)


@pytest.fixture
def loss_reads(monkeypatch) -> list[int]:
    """The steps at which anything read the batch loss as a number (each a wait for the GPU)."""
    steps: list[int] = []
    read = TrainState.batch_loss.fget

    def counted(state):
        steps.append(state.step)
        return read(state)

    monkeypatch.setattr(TrainState, "batch_loss", property(counted))
    return steps


def test_the_trainer_reads_the_loss_only_when_a_callback_asks(loss_reads):
    model, train = problem()  # 12 batches an epoch
    state = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1)).fit(train, None, 2)
    assert loss_reads == [] and isinstance(state.loss, torch.Tensor)
    assert state.history[-1]["train_loss"] > 0 and isinstance(state.history[-1]["train_acc"], float)
    store = FakeStore()
    callbacks = [NanGuard(every=5), StoreReporter(store, "r", every=5)]
    model, train = problem()
    Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), callbacks=callbacks).fit(train, None, 2)
    # the guard: the first step, every 5th and each epoch's last; the reporter: every 5th
    assert sorted(set(loss_reads)) == [1, 5, 10, 12, 15, 20, 24]
    assert [row[1] for row in store.rows if row[3] == "loss_smooth"] == [5, 10, 15, 20]


def test_the_nan_guard_reading_every_few_steps_still_stops_a_diverging_run():
    model, train = problem()
    state = Trainer(model, torch.optim.SGD(model.parameters(), lr=1e30), callbacks=[NanGuard(every=5)]).fit(
        train, None, 3)
    assert state.stop_reason == "diverged" and state.epoch == 1 and state.step <= 12


class FakeStore:
    def __init__(self):
        self.rows = []

    def log_metrics(self, run_id, rows):
        self.rows += list(rows)

    def update(self, run_id, **fields):
        pass


def test_placed_batches_index_on_the_device_and_keep_sequence_lengths_on_the_cpu():
    ids = torch.tensor([[1, 2, 0, 0], [3, 0, 0, 0], [4, 5, 6, 0], [7, 8, 9, 1]])
    lengths = torch.tensor([2, 1, 3, 4])
    xs, ys, pin = place({"train": (ids, lengths)}, {"train": torch.arange(4)}, torch.device("meta"))
    assert not pin and xs["train"][0].device.type == "meta" and xs["train"][1].device.type == "cpu"
    batches = make_batches(xs["train"], ys["train"], 2, shuffle=True, generator=torch.Generator().manual_seed(0))
    seen = 0
    for (bid, blen), yb in batches:
        assert (bid.device.type, blen.device.type, yb.device.type) == ("meta", "cpu", "meta")
        assert bid.shape[1] == int(blen.max())  # trimmed with the lengths on the host
        seen += len(blen)
    assert seen == 4
    assert to_device((ids, lengths), torch.device("meta"))[1].device.type == "cpu"


def test_data_for_a_cuda_run_that_does_not_fit_stays_on_the_cpu_in_pinned_batches(monkeypatch):
    x, y = torch.zeros(10, 3), torch.zeros(10, dtype=torch.long)
    monkeypatch.setattr(engine.training.batching, "free_memory", lambda device: 100)  # bytes
    xs, ys, pin = place({"train": x}, {"train": y}, torch.device("cuda"))
    assert pin and xs["train"] is x and ys["train"] is y
    monkeypatch.setattr(engine.training.batching, "free_memory", lambda device: 10**9)
    xs, ys, pin = place({"train": x}, {"train": y}, torch.device("meta"))
    assert not pin and xs["train"].device.type == "meta"


@pytest.mark.parametrize("device", ACCELERATORS[:1])
def test_pinned_batches_copy_to_cuda(device):
    x, y = torch.randn(20, 3), torch.arange(20)
    for xb, yb in make_batches(x, y, 8, pin_memory=True):
        assert xb.is_pinned() and yb.is_pinned()
        assert to_device(xb, torch.device(device), non_blocking=True).device.type == device


# --- precision ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("precision", ["bf16", "fp32"])
@pytest.mark.parametrize("device", ["cpu", *ACCELERATORS])
def test_mixed_precision_trains_and_keeps_fp32_weights(device, precision):
    model, train = problem()
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=0.05), device=device, precision=precision)
    state = trainer.fit(train, None, 4)
    assert state.history[-1]["train_loss"] < state.history[0]["train_loss"]
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert state.loss.dtype == torch.float32  # cross-entropy runs in fp32 under autocast


@pytest.mark.parametrize("device", ["cpu", *ACCELERATORS])
def test_fp16_scales_gradients_on_cuda_only(device):
    p = Precision("fp16", device)
    assert (p.scaler is not None) == (device == "cuda")
    with pytest.raises(ValueError, match="fp32, bf16, fp16"):
        Precision("fp8", device)
    cfg = make_config(**TINY, precision="bf16")
    assert cfg.precision == "bf16"
    with pytest.raises(ConfigError):
        make_config(**TINY, precision="fp64")


# --- threads ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("files, cores", [
    ({"cpu.max": "200000 100000\n"}, 2.0),
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1.5),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({}, None),
])
def test_the_containers_cpu_limit_is_read_from_cgroup_v2_or_v1(tmp_path, files, cores):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert threads.cgroup_cpus(tmp_path) == cores


def test_cores_are_physical_within_the_affinity_and_the_container_limit(monkeypatch):
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 16)  # 8 physical cores with two hyperthreads each
    monkeypatch.setattr(threads.psutil, "cpu_count", lambda logical=True: 16 if logical else 8)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    monkeypatch.setattr(threads, "cgroup_cpus", lambda: None)
    assert threads.cpu_cores() == 8 and threads.thread_share(3) == 2 and threads.thread_share(20) == 1
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert threads.cpu_cores() == 4  # 8 logical CPUs allowed: 4 cores' worth
    monkeypatch.setattr(threads, "cgroup_cpus", lambda: 2.5)
    assert threads.cpu_cores() == 2
    assert threads.thread_env(2) == {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def test_a_gpu_run_takes_a_few_cpu_threads_a_cpu_run_keeps_its_share():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(max(before, threads.GPU_RUN_THREADS + 1))
        cap_threads(torch.device("cpu"))
        assert torch.get_num_threads() == max(before, threads.GPU_RUN_THREADS + 1)
        cap_threads(torch.device("cuda"))  # only the device's kind is read: no GPU needed
        assert torch.get_num_threads() == threads.GPU_RUN_THREADS
    finally:
        torch.set_num_threads(before)


def test_the_supervisor_starts_each_worker_with_its_thread_share(home, monkeypatch):
    import engine.jobs.local as local

    started = []

    class FakePopen:
        pid = 999_999

        def __init__(self, argv, **kwargs):
            started.append(kwargs["env"])

    monkeypatch.setattr(local.subprocess, "Popen", FakePopen)
    monkeypatch.setattr(threads, "cpu_cores", lambda: 8)
    store = RunStore(home)
    run_id = store.create_run(make_config(**TINY, device="cpu", epochs=1))
    local.Supervisor(home)._start(run_id, 4)
    assert {k: started[0][k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")} == \
        {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}
    store.update(run_id, status="stopped", worker_pid=None)
