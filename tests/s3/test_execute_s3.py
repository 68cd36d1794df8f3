"""Real runs with their inputs in the S3 store: each input is downloaded into the work folder, archives unpacked
(zip, tar.gz) or kept (`decompress: false`), and the outputs go back to S3 (a few tests of tests/test_execute.py)."""
import pytest

from tests.test_execute import (  # noqa: F401
    inputs,
    test_decompress_false_keeps_the_archive_and_tar_gz_is_unpacked,
    test_the_job_without_its_inputs_fails_with_pythons_error_in_the_log,
    test_the_notebooks_pi_job_leaves_its_outputs_with_checksums,
    test_the_zipped_folder_runs_after_cd,
)

pytestmark = pytest.mark.rescale_mock_execute
