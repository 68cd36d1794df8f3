"""The walkthrough that `make run` shows, against the fake; the clock is in `poll` mode so it never waits."""
from __future__ import annotations

import re

import pytest
import requests

from rescale_mock.demo import run_demo
from rescale_mock.testing import Fake


def test_demo_walks_through_upload_job_and_download(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    fake.control.set_clock(mode="poll")
    assert run_demo(fake.base_url, fake.api_key, timeout=30, interval=0)
    out = capsys.readouterr().out
    for step in ("POST /files/contents/ -> 201", "POST /jobs/ -> 201", "submit/ -> 200", "status: Executing",
                 "status: Completed (Completed successfully)", "process_output.log", "sha512 OK", "| estimating pi",
                 f"API docs: {fake.base_url}/docs", f"in the portal (sign in with the key above): {fake.base_url}/portal/jobs/"):
        assert step in out
    assert out.rstrip().splitlines()[-1].startswith("[demo] see job "), "the demo ends with the portal's URL"


def test_the_demos_job_is_visible_in_the_portal(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    fake.control.set_clock(mode="poll")
    assert run_demo(fake.base_url, fake.api_key, timeout=30, interval=0)
    job_id = re.search(r"see job (\w+) in the portal", capsys.readouterr().out)[1]  # type: ignore[index]
    browser = requests.Session()
    token = re.search(r'name="csrf" value="([^"]+)"', browser.get(fake.url("/portal/sign-in")).text)[1]  # type: ignore[index]
    signed_in = browser.post(fake.url("/portal/sign-in"), data={"csrf": token, "key": fake.api_key})
    assert signed_in.url == fake.url("/portal/jobs") and job_id in signed_in.text
    page = browser.get(fake.url(f"/portal/jobs/{job_id}"))
    assert "rescale-mockkit demo" in page.text and 'data-status="Completed"' in page.text
    assert fake.api_key not in page.text
