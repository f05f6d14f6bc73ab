"""The scope evaluation's parts: projects fetched from registries, mutations, full-suite runs, the synthetic repo.

`benchmarks/scope.py` drives them and prints the table; see the "Scope evaluation" section of
benchmarks/README.md.
"""
