#!/usr/bin/env bash
# GPU check (issue 31): the device paths end to end on a machine with a CUDA GPU, in under 10 minutes.
# Usage: bench/gpu_check.sh            (from the repository root; data from $NNLAB_SHARED_DATA or ../shared/data)
# Prints a markdown table to paste into the README's "GPU" section. Exit status: 0 all passed, 1 a check failed,
# 2 no GPU on this machine (it stops before the first GPU step and says so).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export HF_HUB_OFFLINE=1
exec timeout 600 "$PY" bench/gpu_check.py "$@"
