"""Settings: `Option` declarations (options.py) and the frozen, validated `RunConfig` (run_config.py)."""
