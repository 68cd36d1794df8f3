"""What every verb needs: the console, and a client made once from the global flags (`-X`, `-p`, `--profile`)."""
from __future__ import annotations

import argparse
import os
import time
from ..client import RescaleClient
from ..config import DEFAULT_PROFILE, ENV_API_KEY, Settings, apiconfig_path, resolve
from ..errors import ConfigError
from ..retry import RetryPolicy
from .output import Console

DEFAULT_PLATFORM = "https://platform.rescale.com"  # the Rescale CLI's default when nothing names a platform
POLL_ENV = "RESCALE_CLI_POLL_SECONDS"  # our addition: how often `submit -E` polls (the CLI's 60 s by default)


class CliError(Exception):
    """A failure with a message for the user; the CLI prints it and exits 33."""


class Context:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.console = Console(quiet=bool(getattr(args, "quiet", False)))
        self._client: RescaleClient | None = None
        self.base_url = ""

    def client(self) -> RescaleClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> RescaleClient:
        url, key, profile = (getattr(self.args, name, None) for name in ("api_base_url", "api_token", "profile"))
        if url and "://" not in url:  # `-X platform.rescale.jp`: the CLI assumes https
            url = "https://" + url
        settings = self._settings(url, key, profile)
        self.base_url = settings.base_url
        client = RescaleClient(settings.base_url, settings.api_key, progress=False if self.console.quiet else None,
                               retries=RetryPolicy(retries=3, backoff=0.2))
        if not self.console.quiet:  # the Rescale CLI checks the key first and says whose it is
            user = client.users.get_current_user()
            self.console.info(f"Authenticated as {user.get('email')}")
        return client

    @staticmethod
    def _settings(url: str | None, key: str | None, profile: str | None) -> Settings:
        try:
            return resolve(url, key, profile)
        except ConfigError as error:
            message = str(error)
            if "profile [" in message:
                raise
            if "no Rescale API base URL found" in message:  # only the platform is missing: the CLI's default
                return resolve(DEFAULT_PLATFORM, key, profile)
            raise CliError(f"no API key: pass -p API-TOKEN, set {ENV_API_KEY}, or write apikey in the "
                           f"[{profile or DEFAULT_PROFILE}] profile of {apiconfig_path()}") from None

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def poll_seconds(self, default: float = 60.0) -> float:
        value = os.environ.get(POLL_ENV)
        try:
            return max(0.0, float(value)) if value else default
        except ValueError:
            raise CliError(f"{POLL_ENV} must be a number of seconds, not {value!r}") from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
