"""One widget per file; each takes already-derived data in `show(...)` and renders nothing else."""
