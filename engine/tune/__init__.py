"""Hyperparameter tuning with Optuna: a study whose every trial is one normal run, queued through the JobRunner.

- `space.py`: what a study searches (lr, batch size, and the width/hidden size, dropout and layers a model
  declares) and a trial's RunConfig;
- `study.py`: `tune`, which queues each trial's run (the owner's quota and `max_concurrent` apply, local or
  Ray), reports the run's stored valid metric after each epoch and stops a run the pruner gives up on;
- `studies.py`: the studies of a data home (`<home>/tuning.db`, SQLite in WAL mode, so the Tuning page reads
  them while a study runs in another process): list, load, trials table, best configuration, summary, stop.

Runs carry their study and trial in their name and results (`result["tuning"]`).
"""

from engine.tune.space import search_space, searchable, trial_config
from engine.tune.studies import (
    best_config,
    load_study,
    new_study_name,
    request_stop,
    storage,
    study_names,
    study_summary,
    trial_row,
    trials_frame,
)
from engine.tune.study import TrialFailed, tune

__all__ = ["TrialFailed", "best_config", "load_study", "new_study_name", "request_stop", "search_space", "searchable",
           "storage", "study_names", "study_summary", "trial_config", "trial_row", "trials_frame", "tune"]
