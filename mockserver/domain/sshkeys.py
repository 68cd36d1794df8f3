"""The public keys allowed to SSH into a tenant's running jobs (issue 19): the tenant's own, standing in for the
"Job Settings" key of a Rescale user's profile (set through the control plane), plus server-wide ones
(`serve --ssh-authorized-keys FILE`, or the control call without a token) accepted for every tenant.

Keys are OpenSSH public key lines (`ssh-ed25519 AAAA... comment`), checked here without a crypto library: the
base64 blob must decode and name the same key type. Private keys and options are refused."""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from typing import Any

from .errors import InvalidInput
from .tenants import Tenant, Tenants

SETTING = "sshKeys"
MAX_KEYS = 100
_TYPE = re.compile(r"[a-z0-9][a-z0-9@.\-]{2,63}")


def parse_key(line: str) -> str:
    """One public key line, normalised to `type base64 [comment]`; ValueError says what is wrong."""
    if "PRIVATE KEY" in line:
        raise ValueError("this is a private key: register the public half (the .pub file)")
    parts = line.strip().split(None, 2)
    if len(parts) < 2 or not _TYPE.fullmatch(parts[0]):
        raise ValueError("not an OpenSSH public key (expected 'ssh-ed25519 AAAA... comment')")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        named = blob[4:4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        raise ValueError("its base64 part is not a public key blob") from None
    if named != parts[0]:
        raise ValueError(f"its key type {parts[0]!r} does not match the key's own ({named!r})")
    return " ".join(parts)


def fingerprint(key: str) -> str:
    """`SHA256:...` as `ssh-keygen -l` prints it."""
    digest = hashlib.sha256(base64.b64decode(key.split()[1])).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def parse_lines(text: str) -> list[str]:
    """An authorized_keys-like file: one key a line, `#` comments and blank lines skipped."""
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            keys.append(parse_key(line))
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from None
    return keys


class SshKeys:
    def __init__(self, tenants: Tenants, server_wide: tuple[str, ...] = ()) -> None:
        self.tenants = tenants
        self._started = list(server_wide)  # `serve --ssh-authorized-keys`; a control call's change is in the store

    @property
    def server_wide(self) -> list[str]:
        return list(self.tenants.server.get(SETTING, self._started))

    def of(self, tenant: Tenant | None) -> list[str]:
        if tenant is None:
            return list(self.server_wide)
        return list(tenant.settings.get(SETTING, []))

    def set(self, tenant: Tenant | None, lines: list[str]) -> list[str]:
        keys, errors = [], {}
        for index, line in enumerate(lines):
            try:
                keys.append(parse_key(line))
            except ValueError as error:
                errors[str(index)] = [str(error)]
        if errors:
            raise InvalidInput({"publicKeys": [errors]})
        keys = list(dict.fromkeys(keys))
        if tenant is None:
            self.tenants.server.set(SETTING, keys)
        else:
            self.tenants.save_settings(tenant, {**tenant.settings, SETTING: keys})
        return keys

    def accepted(self, tenant_id: str) -> list[str]:
        """What a session into one of this tenant's jobs may authenticate with, read at each attempt (a key
        registered while the job runs works at once)."""
        tenant = self.tenants.by_id(tenant_id)
        own = tenant.settings.get(SETTING, []) if tenant is not None else []
        return [*own, *self.server_wide]

    def view(self, tenant: Tenant | None, available: str) -> dict[str, Any]:
        keys = self.of(tenant)
        return {"publicKeys": keys, "fingerprints": [fingerprint(k) for k in keys], "ssh": available}


def instance_username(tenant_id: str) -> str:
    """The `username` of a tenant's instances (Rescale's look like `uprod_jvSjFc`), and the SSH login they take."""
    return f"uprod_{tenant_id}"
