"""The Ray backend: each run a Ray task on an existing cluster; the Hub actor on the head writes the store."""
