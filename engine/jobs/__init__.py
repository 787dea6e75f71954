"""Jobs: the RunStore (store.py), the local process backend (local.py: JobRunner and its supervisor), the Ray
backend (ray/) and `make_runner` (backends.py), which picks one from the settings (settings.py)."""
