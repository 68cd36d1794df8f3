"""A few DOE tests of tests/test_sweeps.py against the S3 store: parameter files and templates are read back from
the bucket, and each run's outputs go to it."""
from tests.test_sweeps import (  # noqa: F401
    test_a_csv_that_does_not_match_the_variables_is_400,
    test_a_parameter_file_that_cannot_make_runs_is_400,
    test_a_sweep_is_stored_and_echoed,
    test_each_run_has_its_processed_templates_and_outputs,
    test_the_nominal_run_comes_last,
)
