"""Where the base URL and the API key come from, each looked up in this order:

1. the arguments (`RescaleClient(base_url=..., api_key=...)`);
2. the profile named by `profile=`, in the Rescale CLI's `apiconfig` file;
3. the environment: `RESCALE_API_BASE_URL`, `RESCALE_API_KEY`;
4. the `[default]` profile of the `apiconfig` file.

The `apiconfig` file is an INI file with one section per profile and the keys `apibaseurl` and `apikey`, at
`$HOME/.config/rescale/apiconfig` on Linux and macOS and `%USERPROFILE%\\config\\rescale\\apiconfig` on Windows.
"""
from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

ENV_BASE_URL = "RESCALE_API_BASE_URL"
ENV_API_KEY = "RESCALE_API_KEY"
DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Settings:
    """A resolved configuration; `source` says where each value came from (never the key itself)."""

    base_url: str
    api_key: str
    source: str

    def __repr__(self) -> str:
        return f"Settings(base_url={self.base_url!r}, api_key='***', source={self.source!r})"


def apiconfig_path(env: Mapping[str, str] | None = None, os_name: str | None = None) -> Path:
    """The Rescale CLI's `apiconfig` location on this platform."""
    env = os.environ if env is None else env
    if (os_name or os.name) == "nt":
        home = env.get("USERPROFILE") or str(Path.home())
        return Path(home) / "config" / "rescale" / "apiconfig"
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".config" / "rescale" / "apiconfig"


def read_profiles(path: Path) -> dict[str, dict[str, str]]:
    """Every profile of an `apiconfig` file (empty when the file does not exist)."""
    if not path.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None, default_section="\x00none")
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as err:
        raise ConfigError(f"{path} is not a valid apiconfig file: {err}") from err
    return {name: {k.lower(): _unquote(v) for k, v in parser[name].items()} for name in parser.sections()}


def normalize_base_url(url: str) -> str:
    """`https://host/` and `https://host/api/v2/` both become `https://host`: the client adds the version."""
    url = url.strip().rstrip("/")
    for suffix in ("/api/v2", "/api/v3", "/api"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
            break
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"the base URL must start with http:// or https://, not {url!r}")
    return url


def resolve(base_url: str | None = None, api_key: str | None = None, profile: str | None = None, *,
            config_file: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Find the base URL and the key (see the module's docstring); `ConfigError` says where it looked."""
    env = os.environ if env is None else env
    path = Path(config_file) if config_file is not None else apiconfig_path(env)
    profiles = read_profiles(path)
    if profile is not None and profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"profile [{profile}] not found in {path} (profiles: {known})")
    chosen = profiles.get(profile or "", {})
    default = profiles.get(DEFAULT_PROFILE, {})
    candidates = {
        "base_url": [(base_url, "argument"), (chosen.get("apibaseurl"), f"{path} [{profile}]"),
                     (env.get(ENV_BASE_URL), ENV_BASE_URL),
                     (default.get("apibaseurl"), f"{path} [{DEFAULT_PROFILE}]")],
        "api_key": [(api_key, "argument"), (chosen.get("apikey"), f"{path} [{profile}]"),
                    (env.get(ENV_API_KEY), ENV_API_KEY), (default.get("apikey"), f"{path} [{DEFAULT_PROFILE}]")],
    }
    found: dict[str, tuple[str, str]] = {}
    for name, options in candidates.items():
        for value, where in options:
            if value and value.strip():
                found[name] = (value.strip(), where)
                break
    missing = [label for name, label in (("base_url", "API base URL"), ("api_key", "API key")) if name not in found]
    if missing:
        raise ConfigError(
            f"no Rescale {' or '.join(missing)} found. Pass base_url= and api_key=, "
            f"set {ENV_BASE_URL} and {ENV_API_KEY}, or write them as apibaseurl and apikey in the "
            f"[{profile or DEFAULT_PROFILE}] profile of {path}")
    url, url_from = found["base_url"]
    key, key_from = found["api_key"]
    source = url_from if url_from == key_from else f"base URL from {url_from}, key from {key_from}"
    return Settings(normalize_base_url(url), key, source)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
