"""tests/test_files.py and tests/test_v3_files.py (uploads, 20 MB streamed round trip, whole and ranged downloads,
If-Range, 304, HEAD, getFileLines, deletes) against the S3 blob store: same tests, this folder's `fake`."""
from tests.test_files import *  # noqa: F401,F403
from tests.test_v3_files import *  # noqa: F401,F403
