"""`serve --ssh-authorized-keys FILE`: public keys that may SSH into every tenant's running jobs (issue 19),
standing in for the profile's "Job Settings" key; a tenant's own come from `PUT /_fake/ssh-keys/`."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .domain.sshkeys import parse_lines


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--ssh-authorized-keys", type=_key_file, action="append", default=[], metavar="FILE",
                       help="public keys (authorized_keys lines, e.g. a .pub file) accepted by SSH into every "
                            "tenant's running jobs (with --execute)")


def _key_file(name: str) -> tuple[str, ...]:
    """Read at start-up: an unreadable file or a line that is not a public key stops the server (status 2)."""
    try:
        return tuple(parse_lines(Path(name).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError) as err:
        raise argparse.ArgumentTypeError(f"cannot read SSH public keys from {name}: "
                                         f"{getattr(err, 'strerror', None) or err}") from None
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"SSH public keys in {name}: {err}") from None


def config_options(args: argparse.Namespace) -> dict[str, Any]:
    keys = [key for found in args.ssh_authorized_keys for key in found]
    return {"ssh_authorized_keys": tuple(dict.fromkeys(keys))}
