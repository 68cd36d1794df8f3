"""The package as users install it: a wheel built from this tree, installed (not editable) into a fresh venv with the
oldest Flask and Werkzeug the project allows, then used by a small pytest project of its own: both fixtures, the
client, `rescale-mock --version` and `rescale-mock serve`. The rest of the suite runs from an editable install, which
reads the source tree and cannot see a file the wheel forgets."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

from rescale_mock import __version__

ROOT = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".rescale-mock",
                              ".pytest_cache", ".hypothesis", ".mypy_cache", "bench", "tests", "node_modules")
OLDEST = ["flask==3.0.*", "werkzeug==3.0.*"]  # the floor of pyproject's ranges

USER_TESTS = '''
import io

from rescale_client import RescaleClient


def _run_job(fake):
    client = RescaleClient(fake.base_url, fake.api_key, sleep=lambda seconds: fake.control.advance(seconds))
    upload = client.files.upload_file(fields={"file": ("range.inp", io.BytesIO(b"1000000\\n"), "text/plain")})
    job = client.jobs.create_job(body={"name": "from the wheel", "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"}, "command": "echo hello from the wheel",
        "hardware": {"coreType": "emerald", "coresPerSlot": 1, "walltime": 1}, "inputFiles": [{"id": upload["id"]}]}]})
    client.jobs.submit_job(job_id=job["id"])
    assert client.wait_for_job(job["id"]).succeeded
    log = client.jobs.iter_job_files(job_id=job["id"], search="process_output.log").first()
    assert b"hello from the wheel" in client.files.download_file(file_id=log["id"]).content
    fake.control.assert_called("submitJob", times=1)


def test_in_process(rescale_mock):
    _run_job(rescale_mock)


def test_served(rescale_mock_served):
    _run_job(rescale_mock_served)


def test_pages_and_their_files_are_shipped(rescale_mock_served):
    import requests

    for path in ("/docs", "/docs/assets/swagger-ui-bundle.js", "/openapi.yaml", "/portal/static/portal.css",
                 "/portal/"):
        assert requests.get(rescale_mock_served.base_url + path, timeout=30).status_code == 200, path
'''


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the built wheel in it; returns its bin folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=SKIP)
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(work / "dist"), str(source)])
    warnings = [line for line in (built.stdout + built.stderr).splitlines() if re.search(r"warn", line, re.I)]
    assert not warnings, "building the wheel printed warnings:\n" + "\n".join(warnings)
    wheel = next((work / "dist").glob("rescale_mockkit-*.whl"))
    venv.create(work / "venv", with_pip=True)
    bin_dir = work / "venv" / ("Scripts" if os.name == "nt" else "bin")
    _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel), *OLDEST, "pytest"])
    return bin_dir


def test_the_wheel_ships_what_users_run(installed: Path, tmp_path: Path) -> None:
    shown = _run([str(installed / "rescale-mock"), "--version"]).stdout
    assert shown.strip() == f"rescale-mock {__version__}"
    versions = _run([str(installed / "python"), "-c", "import flask, werkzeug, rescale_mock; "
                     "from importlib.metadata import version; print(version('flask'), version('werkzeug'), "
                     "rescale_mock.__file__)"], cwd=tmp_path).stdout.split()
    assert versions[0].startswith("3.0.") and versions[1].startswith("3.0."), versions
    assert "site-packages" in versions[2], "the test must import the installed package, not the source tree"


def test_a_user_project_runs_both_fixtures_and_the_client(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS), encoding="utf-8")
    result = _run([str(installed / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
                  cwd=tmp_path)
    assert "3 passed" in result.stdout, result.stdout
