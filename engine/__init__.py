"""NN Lab engine: data, features, models, training, runs and jobs.

Pure Python + PyTorch. Never imports streamlit: everything the dashboard does also runs
headless through ``python -m engine``.
"""

__version__ = "0.1.0"
