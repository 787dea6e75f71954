"""The optimizer and learning-rate schedule a run's settings describe, over given parameter groups."""

from __future__ import annotations

import torch


def configured_optimizer(groups: list[dict], cfg, steps_per_epoch: int):
    """cfg.optimizer over `groups` (torch param-group dicts), with cfg.schedule.
    Returns (optimizer, scheduler or None, scheduler_per_batch)."""
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "adam":
        opt = torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.schedule == "onecycle":  # short runs: warm up to lr over the first 25 % of steps, then anneal to ~0
        total = max(1, cfg.epochs * steps_per_epoch)
        return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.25,
                                                        cycle_momentum=cfg.optimizer == "sgd"), True
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs) if cfg.schedule == "cosine" else None
    return opt, sched, False
