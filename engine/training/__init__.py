"""Training: the one Trainer loop and its callbacks, batching, the pipeline from a RunConfig to data, model
and optimizer, the body of one run (run.py), checkpoints, test metrics and devices."""
