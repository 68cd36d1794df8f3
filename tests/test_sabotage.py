"""The suite catches a broken fake: each test breaks the fake in one way (a response field renamed, a delete that
keeps the file, a Range off by one), runs the suite's own file tests against it in a fresh pytest session, and
expects failures. The fake under test is the in-process one; the patch lives only in that child process."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
HERE = Path(__file__).parent

SABOTAGE = {
    "field renamed": '''
import rescale_mock.responses as responses
_original = responses.json_response

def _renamed(payload):
    if isinstance(payload, dict):
        return {("decrypted_size" if k == "decryptedSize" else k): _renamed(v) for k, v in payload.items()}
    if isinstance(payload, list):
        return [_renamed(v) for v in payload]
    return payload

responses.json_response = lambda status, payload, headers=None: _original(status, _renamed(payload), headers)
import rescale_mock.dispatch as dispatch
dispatch.json_response = responses.json_response
''',
    "delete keeps the file": '''
from rescale_mock.domain.files import Files
Files.delete = lambda self, tenant, file_id: self.get(tenant, file_id) and None
''',
    "range off by one": '''
import rescale_mock.ranges as ranges
_original = ranges.normalize

def _shifted(header, size):
    wanted = _original(header, size)
    if wanted and wanted.startswith("bytes=") and wanted[6:7].isdigit():
        first, _, last = wanted[6:].partition("-")
        return f"bytes={int(first) + 1}-{last}"
    return wanted

ranges.normalize = _shifted
''',
}


@pytest.mark.parametrize("name", list(SABOTAGE))
def test_the_suite_catches_a_broken_fake(pytester: pytest.Pytester, name: str) -> None:
    shutil.copy(HERE / "conftest.py", pytester.path / "conftest.py")
    with open(pytester.path / "conftest.py", "a", encoding="utf-8") as fh:
        fh.write("\n# sabotage: " + name + "\n" + SABOTAGE[name])
    shutil.copy(HERE / "test_files.py", pytester.path / "test_files.py")
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-m", "not served and not slow",
                                          "test_files.py")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) > 0, f"the suite missed: {name}"


def test_the_unbroken_fake_passes_the_same_run(pytester: pytest.Pytester) -> None:
    shutil.copy(HERE / "conftest.py", pytester.path / "conftest.py")
    shutil.copy(HERE / "test_files.py", pytester.path / "test_files.py")
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-m", "not served and not slow",
                                          "test_files.py")
    assert result.ret == 0
