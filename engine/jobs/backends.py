"""JobRunner backends, chosen by `settings(home)["backend"]` (NNLAB_BACKEND or <home>/settings.json):

- `local` (default): engine/jobs/local.py, a supervisor starting one worker process per run on this machine;
- `ray`: engine/jobs/ray/backend.py, each run a Ray task on an existing cluster (`ray_address`).

Both keep the JobRunner interface (`submit`, `cancel`, `status`, `resume`, `wait`). Ray is imported
only when the Ray backend is chosen.
"""

from __future__ import annotations

from engine.config.options import ConfigError
from engine.jobs.local import JobRunner
from engine.jobs.settings import settings

BACKENDS = ("local", "ray")


def make_runner(home=None) -> JobRunner:
    backend = settings(home)["backend"]
    if backend == "local":
        return JobRunner(home)
    if backend == "ray":
        from engine.jobs.ray.backend import RayJobRunner

        return RayJobRunner(home)
    raise ConfigError(f"unknown backend {backend!r}. Fix: NNLAB_BACKEND (or \"backend\" in settings.json) = "
                      f"{' or '.join(BACKENDS)}")
