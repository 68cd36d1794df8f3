"""The walkthrough that `make run` shows, against the fake; the clock is in `poll` mode so it never waits."""
from __future__ import annotations

import pytest

from rescale_mock.demo import run_demo
from rescale_mock.testing import Fake


def test_demo_walks_through_upload_job_and_download(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    fake.control.set_clock(mode="poll")
    assert run_demo(fake.base_url, fake.api_key, timeout=30, interval=0)
    out = capsys.readouterr().out
    for step in ("POST /files/contents/ -> 201", "POST /jobs/ -> 201", "submit/ -> 200", "status: Executing",
                 "status: Completed (Completed successfully)", "process_output.log", "sha512 OK", "| estimating pi"):
        assert step in out
