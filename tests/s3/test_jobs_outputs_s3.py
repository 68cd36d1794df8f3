"""tests/test_jobs_outputs.py (simulated jobs' outputs written, listed, downloaded, deleted) against the S3 store."""
from tests.test_jobs_outputs import *  # noqa: F401,F403
