"""`python -m rescale_mock.cli serve`: what a user starts by hand (ready line, demo key, tenants, persistence)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

from rescale_mock import DEMO_KEY
from rescale_mock.testing import ServedProcess

Serve = Callable[..., ServedProcess]


def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}


def get(server: ServedProcess, path: str, key: str) -> requests.Response:
    return requests.get(f"{server.base_url}{path}", headers=headers(key), timeout=30)


def upload(server: ServedProcess, key: str, name: str, data: bytes) -> dict:
    response = requests.post(f"{server.base_url}/api/v2/files/contents/", headers=headers(key),
                             files={"file": (name, data)}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def file_names(server: ServedProcess, key: str) -> list[str]:
    response = get(server, "/api/v2/files/", key)
    assert response.status_code == 200
    return [f["name"] for f in response.json()["results"]]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start `rescale-mock serve` processes (default data dir: a fresh folder); all are stopped afterwards."""
    started: list[ServedProcess] = []

    def start(*api_keys: str, data_dir: Path | None = None, extra: tuple[str, ...] = ()) -> ServedProcess:
        server = ServedProcess(data_dir or tmp_path / "data", api_keys, *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def test_serve_prints_a_ready_line(serve: Serve, tmp_path: Path) -> None:
    server = serve()
    ready = [line for line in server.output if line.startswith("ready: ")]
    assert len(ready) == 1
    match = re.fullmatch(r"ready: http://127\.0\.0\.1:(\d+)\n", ready[0])
    assert match and int(match[1]) > 0
    assert server.base_url == f"http://127.0.0.1:{match[1]}"
    assert (tmp_path / "data").is_dir()


def test_without_api_key_the_demo_key_is_printed_and_works(serve: Serve) -> None:
    server = serve()
    assert f"demo API key: {DEMO_KEY}\n" in server.output
    response = get(server, "/api/v2/users/me/", DEMO_KEY)
    assert response.status_code == 200
    assert response.json()["id"]


def test_unknown_key_is_rejected(serve: Serve) -> None:
    response = get(serve(), "/api/v2/users/me/", "some-other-key-1234")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_given_keys_replace_the_demo_key(serve: Serve) -> None:
    server = serve("alpha-key-0001")
    assert not any(line.startswith("demo API key") for line in server.output)
    assert get(server, "/api/v2/users/me/", "alpha-key-0001").status_code == 200
    assert get(server, "/api/v2/users/me/", DEMO_KEY).status_code == 401


def test_two_api_keys_are_two_isolated_tenants(serve: Serve) -> None:
    server = serve("alpha-key-0001", "bravo-key-0002")
    alpha = get(server, "/api/v2/users/me/", "alpha-key-0001").json()
    bravo = get(server, "/api/v2/users/me/", "bravo-key-0002").json()
    assert alpha["id"] != bravo["id"]
    created = upload(server, "alpha-key-0001", "alpha.txt", b"a\n")
    assert file_names(server, "alpha-key-0001") == ["alpha.txt"]
    assert file_names(server, "bravo-key-0002") == []
    response = get(server, f"/api/v2/files/{created['id']}/", "bravo-key-0002")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


def test_state_survives_a_restart(serve: Serve, tmp_path: Path) -> None:
    data_dir = tmp_path / "persist"
    first = serve("persist-key-0001", data_dir=data_dir)
    created = upload(first, "persist-key-0001", "kept.bin", bytes(range(256)) * 10)
    user = get(first, "/api/v2/users/me/", "persist-key-0001").json()
    first.close()

    second = serve("persist-key-0001", data_dir=data_dir)
    response = get(second, f"/api/v2/files/{created['id']}/", "persist-key-0001")
    assert response.status_code == 200
    assert {k: v for k, v in response.json().items() if k != "downloadUrl"} == \
        {k: v for k, v in created.items() if k != "downloadUrl"}
    assert response.json()["downloadUrl"] == f"{second.base_url}/api/v2/files/{created['id']}/contents/"
    assert get(second, f"/api/v2/files/{created['id']}/contents/", "persist-key-0001").content == \
        bytes(range(256)) * 10
    assert get(second, "/api/v2/users/me/", "persist-key-0001").json() == user


def test_fresh_data_dir_starts_empty(serve: Serve, tmp_path: Path) -> None:
    first = serve("fresh-key-0001", data_dir=tmp_path / "one")
    upload(first, "fresh-key-0001", "one.txt", b"1")
    second = serve("fresh-key-0001", data_dir=tmp_path / "two")
    assert file_names(second, "fresh-key-0001") == []


def test_accept_any_key_makes_tenants_on_first_use(serve: Serve) -> None:
    server = serve(extra=("--accept-any-key",))
    first = get(server, "/api/v2/users/me/", "brand-new-key-1")
    second = get(server, "/api/v2/users/me/", "brand-new-key-2")
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] != second.json()["id"]
    assert get(server, "/api/v2/users/me/", "brand-new-key-1").json() == first.json()


@pytest.mark.parametrize("argv, expected", [
    (["--help"], "serve"),
    (["serve", "--help"], "--data-dir"),
])
def test_help(argv: list[str], expected: str) -> None:
    result = subprocess.run([sys.executable, "-m", "rescale_mock.cli", *argv], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: rescale-mock")
    assert expected in result.stdout


def test_serve_help_lists_the_options() -> None:
    result = subprocess.run([sys.executable, "-m", "rescale_mock.cli", "serve", "--help"], capture_output=True,
                            text=True, timeout=60)
    for option in ("--port", "--data-dir", "--api-key", "--clock-mode", "--validate-responses"):
        assert option in result.stdout


def test_bad_option_exits_2() -> None:
    result = subprocess.run([sys.executable, "-m", "rescale_mock.cli", "serve", "--clock-mode", "warp"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
