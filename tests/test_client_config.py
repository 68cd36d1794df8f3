"""Configuration: arguments, a named apiconfig profile, RESCALE_API_BASE_URL/RESCALE_API_KEY, the [default] profile;
the Rescale CLI's apiconfig locations on Linux and Windows (seed notebook, cell 2); a clear error when nothing is
found. Ends with a client configured each way calling the fake."""
from __future__ import annotations

from pathlib import Path

import pytest
from rescale_client import ConfigError, RescaleClient
from rescale_client.config import (
    apiconfig_path,
    normalize_base_url,
    read_profiles,
    resolve,
)
from rescale_mock.testing import Fake

APICONFIG = """\
[default]
apibaseurl = https://eu.rescale.com
apikey = 79a49b3132335a44742e86c9126e5cfaa1ea2489

[us]
apibaseurl = https://platform.rescale.com/
apikey = us-key

[fake]
apibaseurl = http://127.0.0.1:8123/api/v2/
apikey = "demo-key"
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home directory with the CLI's apiconfig, and no Rescale variables in the environment."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    monkeypatch.delenv("RESCALE_API_BASE_URL", raising=False)
    monkeypatch.delenv("RESCALE_API_KEY", raising=False)
    path = tmp_path / ".config" / "rescale" / "apiconfig"
    path.parent.mkdir(parents=True)
    path.write_text(APICONFIG)
    return tmp_path


def test_apiconfig_locations_from_the_notebook() -> None:
    linux = apiconfig_path({"HOME": "/home/ada"}, os_name="posix")
    windows = apiconfig_path({"USERPROFILE": "C:\\Users\\ada"}, os_name="nt")
    assert linux.as_posix() == "/home/ada/.config/rescale/apiconfig"
    assert str(windows).replace("\\", "/").endswith("C:/Users/ada/config/rescale/apiconfig")  # no dot on Windows


def test_default_profile_from_the_file(home: Path) -> None:
    settings = resolve()
    assert (settings.base_url, settings.api_key) == ("https://eu.rescale.com", "79a49b3132335a44742e86c9126e5cfaa1ea2489")
    assert "[default]" in settings.source
    assert "79a49b" not in repr(settings)


def test_named_profile(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESCALE_API_KEY", "from-env")
    settings = resolve(profile="us")  # an explicit profile wins over the environment
    assert (settings.base_url, settings.api_key) == ("https://platform.rescale.com", "us-key")
    fake = resolve(profile="fake")
    assert (fake.base_url, fake.api_key) == ("http://127.0.0.1:8123", "demo-key")  # /api/v2 and quotes stripped


def test_environment_wins_over_the_default_profile(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESCALE_API_BASE_URL", "http://localhost:9000/")
    monkeypatch.setenv("RESCALE_API_KEY", "env-key")
    settings = resolve()
    assert (settings.base_url, settings.api_key) == ("http://localhost:9000", "env-key")
    assert "RESCALE_API_BASE_URL" in settings.source and "RESCALE_API_KEY" in settings.source


def test_arguments_win_and_mix_with_other_sources(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESCALE_API_KEY", "env-key")
    settings = resolve(base_url="https://kr.rescale.com")
    assert (settings.base_url, settings.api_key) == ("https://kr.rescale.com", "env-key")
    assert resolve("https://a.example", "arg-key", profile="us").api_key == "arg-key"


def test_windows_location_is_read(tmp_path: Path) -> None:
    path = apiconfig_path({"USERPROFILE": str(tmp_path)}, os_name="nt")
    assert path == tmp_path / "config" / "rescale" / "apiconfig"
    path.parent.mkdir(parents=True)
    path.write_text(APICONFIG)
    assert resolve(config_file=path, env={}).base_url == "https://eu.rescale.com"


def test_explicit_config_file(tmp_path: Path) -> None:
    path = tmp_path / "my.ini"
    path.write_text("[work]\napibaseurl = https://itar.rescale.com\napikey = k\n")
    assert resolve(profile="work", config_file=path, env={}).base_url == "https://itar.rescale.com"
    assert read_profiles(tmp_path / "missing") == {}


def test_clear_error_when_nothing_is_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(env={"HOME": str(tmp_path)})
    message = str(caught.value)
    for hint in ("API base URL or API key", "base_url=", "RESCALE_API_BASE_URL", "RESCALE_API_KEY", "apibaseurl",
                 "[default]", str(tmp_path / ".config" / "rescale" / "apiconfig")):
        assert hint in message


def test_clear_error_for_a_missing_key_or_profile(home: Path) -> None:
    with pytest.raises(ConfigError, match="no Rescale API key found"):
        resolve(base_url="https://x.example", config_file=home / "nothing-here", env={})
    with pytest.raises(ConfigError, match=r"profile \[eu\] not found .*profiles: default, fake, us"):
        resolve(profile="eu")


def test_bad_base_url(home: Path) -> None:
    with pytest.raises(ConfigError, match="http:// or https://"):
        resolve(base_url="platform.rescale.com")
    assert normalize_base_url("https://platform.rescale.com/api/v3/") == "https://platform.rescale.com"


def test_client_from_environment_and_profile(fake: Fake, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESCALE_API_BASE_URL", fake.base_url)
    monkeypatch.setenv("RESCALE_API_KEY", fake.api_key)
    with RescaleClient() as client:
        assert client.users.get_current_user()["email"]
        assert client.session.http.headers["Authorization"] == f"Token {fake.api_key}"
    (home / ".config" / "rescale" / "apiconfig").write_text(
        f"{APICONFIG}\n[mock]\napibaseurl = {fake.base_url}\napikey = {fake.api_key}\n")
    monkeypatch.delenv("RESCALE_API_BASE_URL")
    monkeypatch.delenv("RESCALE_API_KEY")
    with RescaleClient(profile="mock") as client:
        assert client.base_url == fake.base_url
        assert client.meta.get_api_root()["jobs"].endswith("/api/v2/jobs/")
