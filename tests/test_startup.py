"""Start-up mistakes give one clear line and exit status 2, never a traceback; one server per data dir; keys from a
file or the environment; a private data dir; `--version`."""
from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from rescale_mock import DEMO_KEY, Config, __version__, create_app
from rescale_mock.store.datadir import DataDirError
from rescale_mock.testing import ServedProcess


def serve(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rescale_mock.cli", "serve", *argv], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert "ready:" not in result.stdout
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]


def test_version() -> None:
    result = subprocess.run([sys.executable, "-m", "rescale_mock.cli", "--version"], capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode, result.stdout.strip()) == (0, f"rescale-mock {__version__}")


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_refused(serve("--port", str(port), "--data-dir", str(tmp_path / "d")), f"port {port}", "in use")


@pytest.mark.parametrize("argv, words", [
    (["--port", "70000"], ["--port", "out of range"]),
    (["--port", "-1"], ["--port", "out of range"]),
    (["--port", "http"], ["--port", "not a whole number"]),
    (["--threads", "0"], ["--threads", "out of range"]),
    (["--host", "no-such-host.invalid", "--port", "0"], ["unknown host", "no-such-host.invalid"]),
])
def test_bad_options(tmp_path: Path, argv: list[str], words: list[str]) -> None:
    assert_refused(serve(*argv, "--data-dir", str(tmp_path / "d")), *words)


def test_data_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    assert_refused(serve("--port", "0", "--data-dir", str(tmp_path / "file")), "not a directory")


def test_data_dir_that_cannot_be_created() -> None:
    assert_refused(serve("--port", "0", "--data-dir", "/proc/no-such-process/rescale-mock"), "not usable")


def test_data_dir_that_cannot_be_written(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes through permission bits; a read-only mount is what stops root
        folder = Path("/sys/rescale-mock")  # sysfs: exists for everyone, writable by no one
    else:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o500)
    assert_refused(serve("--port", "0", "--data-dir", str(folder)), "not usable")


def test_missing_data_dir_is_created_private(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "data"
    server = ServedProcess(folder, ())
    try:
        assert requests.get(f"{server.base_url}/api/v2/users/me/", headers={"Authorization": f"Token {DEMO_KEY}"},
                            timeout=30).status_code == 200
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "rescale-mock.sqlite3").stat().st_mode) == 0o600
    finally:
        server.close()


def test_one_server_per_data_dir(tmp_path: Path) -> None:
    first = ServedProcess(tmp_path / "data", ())
    try:
        second = serve("--port", "0", "--data-dir", str(tmp_path / "data"))
        assert_refused(second, "in use by another rescale-mock server", f"pid {first.process.pid}")
        assert requests.get(f"{first.base_url}/_fake/health/", timeout=30).status_code == 200  # the first is unharmed
    finally:
        first.close()
    again = ServedProcess(tmp_path / "data", ())  # the lock goes with its holder
    again.close()


def test_a_killed_server_leaves_no_lock(tmp_path: Path) -> None:
    first = ServedProcess(tmp_path / "data", ())
    first.process.kill()
    first.process.wait(timeout=30)
    again = ServedProcess(tmp_path / "data", ())
    again.close()


def test_one_app_per_data_dir_in_process(tmp_path: Path) -> None:
    app = create_app(Config(data_dir=tmp_path))
    try:
        with pytest.raises(DataDirError, match="in use"):
            create_app(Config(data_dir=tmp_path))
    finally:
        app.extensions["rescale_mock"].close()
    create_app(Config(data_dir=tmp_path)).extensions["rescale_mock"].close()


def test_keys_from_a_file_and_the_environment(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# our CI tenants\nfile-key-0000000001\n\n  file-key-0000000002  \n")
    server = ServedProcess(tmp_path / "data", (), "--api-key-file", str(keys),
                           env={"RESCALE_MOCK_API_KEYS": "env-key-000000000001,env-key-000000000002"})
    try:
        for key in ("file-key-0000000001", "file-key-0000000002", "env-key-000000000001", "env-key-000000000002"):
            response = requests.get(f"{server.base_url}/api/v2/users/me/", headers={"Authorization": f"Token {key}"},
                                    timeout=30)
            assert response.status_code == 200, key
        assert requests.get(f"{server.base_url}/api/v2/users/me/", headers={"Authorization": f"Token {DEMO_KEY}"},
                            timeout=30).status_code == 401  # keys given: no demo key
        assert not any(DEMO_KEY in line for line in server.output)
    finally:
        server.close()


def test_unreadable_key_file(tmp_path: Path) -> None:
    assert_refused(serve("--port", "0", "--data-dir", str(tmp_path / "d"), "--api-key-file", str(tmp_path / "nope")),
                   "cannot read API keys", "nope")


def test_a_public_address_warns_that_the_control_plane_is_open(tmp_path: Path) -> None:
    server = ServedProcess(tmp_path / "data", (), "--host", "0.0.0.0")
    try:
        assert any("warning" in line and "control plane" in line for line in server.output)
    finally:
        server.close()


def test_sigterm_stops_the_server_cleanly(tmp_path: Path) -> None:
    """How a supervisor, a container or CI stops it: exit 0, and its clean-up ran (the data dir's holder is gone)."""
    server = ServedProcess(tmp_path / "data", ())
    server.process.terminate()
    assert server.process.wait(timeout=30) == 0
    assert not (tmp_path / "data" / "server.pid").exists()
