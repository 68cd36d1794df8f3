"""Tried as a new user would: the client's quick-start script, copied from the README, runs a job end to end against
`rescale-mock serve` started as the README says (default demo key), configured only by the environment variables
the README shows. The clock runs a million times faster, so the job is over before the script's first poll and
nothing waits."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from rescale_mock.testing import ServedProcess

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- client-quickstart"
DEMO_KEY = "demo-key-0123456789abcdef0123456789abcdef"


def quickstart() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert MARKER in text, "the client's quick start is not in README.md"
    block = re.search(r"```python\n(.*?)```", text[text.index(MARKER):], re.DOTALL)
    assert block, "no python block after the quick-start marker in README.md"
    return block[1]


def test_readme_quickstart_runs_a_job_end_to_end(tmp_path: Path) -> None:
    script = tmp_path / "quickstart.py"
    script.write_text(quickstart(), encoding="utf-8")
    assert "rescale_client" in script.read_text() and "api_key" not in script.read_text()
    server = ServedProcess(tmp_path / "data", (), "--clock-factor", "1000000")  # the demo key
    try:
        env = {**os.environ, "RESCALE_API_BASE_URL": server.base_url, "RESCALE_API_KEY": DEMO_KEY,
               "HOME": str(tmp_path)}
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=180, check=False)
    finally:
        server.close()
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Hello, Demo User" in out
    assert "| estimating pi" in out and "Command exited with status 0" in out
    assert "finished: Pending > Waiting for Queue > Queued > Started > Validated > Executing > Completed" in out
    assert "(Completed successfully)" in out
    assert re.search(r"downloaded outputs/result.bin 1000000 bytes, sha512 checked", out)
    assert (tmp_path / "outputs" / "result.bin").stat().st_size == 1000000
    assert done.stderr == ""  # no progress bars or warnings off a terminal
