"""PyTorch versions of the Kiln workloads: one module per workload, each with setup(params)."""
