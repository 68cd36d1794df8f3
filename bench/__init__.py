"""Benchmarks of rescale-mockkit, run as `python -m bench` (`make bench`, or `make bench-quick` for small sizes).

Each benchmark measures things side by side in one run and prints ratios plus PASS/GAP per goal. They are not
timed tests: a slow result never fails the run. Results go to bench/results/<name>.json, and a summary of all of
them to bench/results/summary.json and summary.md (the README table); bench/results/ is gitignored.

- requests_bench.py: GET /api/v2/jobs/{id}/ throughput and latency, fake (one process and `--workers 2`, per engine)
  vs bare Flask vs Prism
- lifecycle.py: create -> Completed -> outputs -> log, in-process and over HTTP
- scale.py: 100 000 jobs and files in one tenant, served, per engine
- transfers.py: 1 GiB up and down, the seed notebook's upload and download side by side
`--database postgresql://...` runs the engine benchmarks (requests, scale) on PostgreSQL too, beside SQLite.
Helpers: common.py (settings, results, a served fake), servers.py (the other servers, the npm set-up step that
installs Prism into bench/.node, wrk), loadgen.py (the Python load generator), hello_app.py (the ceiling app),
profile_request.py (where one request's time goes), upload_client.py and notebook_transfer.py (the notebook's code,
which the tests import too).
"""
