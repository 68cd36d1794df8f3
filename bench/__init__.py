"""Benchmarks of rescale-mockkit, run as `python -m bench` (`make bench`, or `make bench-quick` for small sizes).

Each benchmark measures things side by side in one run and prints ratios plus PASS/GAP per goal. They are not
timed tests: a slow result never fails the run. Results also go to bench/results/<name>.json (gitignored).
"""
