"""A job's platform events (v3 `jobs/{id}/logs/`), derived from its status histories: what the python-sdk reads to
find how to reach the cluster (`Command: ssh -i </path/to/key> user@host;`)."""
from __future__ import annotations

from typing import Any


def event_messages(snap: Any, username: str, ssh_ports: list[int] | None = None) -> list[str]:
    """Oldest first: one message per job and cluster status, plus the SSH line once the cluster has started. While
    a real run (`--execute`) answers SSH, the line is the command that reaches it (runner/ssh.py, one port per
    instance: the first is the master's)."""
    timed: list[tuple[float, int, str]] = []
    for _, event in snap.statuses():
        reason = f" ({event.reason})" if event.reason else ""
        timed.append((event.at, 0, f"Job status: {event.status}{reason}"))
    for _, event in snap.cluster_statuses():
        timed.append((event.at, 1, f"Cluster {snap.cluster_id} status: {event.status}"))
        if event.status == "Started":
            target = (f"-p {ssh_ports[0]} {username}@127.0.0.1" if ssh_ports
                      else f"{username}@{snap.cluster_id.lower()}-0.cluster.localhost")
            timed.append((event.at, 1, f"Cluster {snap.cluster_id} is ready. "
                                       f"Command: ssh -i </path/to/key> {target};"))
    return [message for _, _, message in sorted(timed, key=lambda item: (item[0], item[1]))]
