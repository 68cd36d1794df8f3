"""SSH into a job that really runs (issue 19): while a job's command runs, each of its instances answers SSH on a
loopback port, served by asyncssh (an optional dependency, imported only here and only when a real run starts)
from one event-loop thread that the runner owns.

- Public keys only, read at each attempt: the tenant's registered keys plus the server-wide ones
  (`domain/sshkeys.py`), and the instance's `username`. No passwords, no keyboard-interactive.
- Commands (`exec`) and shells run like the job's command: `runner/sandbox.py`'s confinement, limits and clean
  environment (with the run's token, so a crash's clean-up finds them too), from the job's home folder, which
  holds `work/` as on a Rescale node. A shell with a terminal gets a pty.
- SFTP and SCP work on files under the home folder only: paths are mapped there and every path is resolved
  (symlinks included) before use, so a link pointing outside is refused.
- When the job ends or is stopped, its listeners close, its connections drop and their processes are killed.
"""
from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import sandbox

log = logging.getLogger("rescale_mock.runner.ssh")

MISSING = ("SSH into running jobs needs asyncssh, which this server lacks: pip install 'rescale-mockkit[ssh]' "
           "(or asyncssh) and restart it")


def available() -> bool:
    try:
        import asyncssh  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Target:
    """What sessions into one running job need."""

    tenant_id: str
    job_id: str
    username: str
    home: Path
    env: dict[str, str]  # the job's environment (sandbox.environment), token included
    limits: dict[str, int]
    shim: Path | None
    listeners: list[Any] = field(default_factory=list)
    connections: set[Any] = field(default_factory=set)
    pgids: set[int] = field(default_factory=set)


class SshGate:
    """Listeners for running jobs, on one asyncio loop in a thread of its own. Every public method is called from
    other threads (the runner's) and waits for the loop to have done it."""

    def __init__(self, host_key_path: Path, accepted_keys: Callable[[str], list[str]]) -> None:
        import asyncssh

        self._asyncssh = asyncssh
        self._accepted_keys = accepted_keys
        self._host_key = _host_key(asyncssh, host_key_path)
        self._targets: dict[str, Target] = {}
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), name="rescale-mock-ssh", daemon=True)
        self._thread.start()
        started.wait(10)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(started.set)
        self._loop.run_forever()

    def _call(self, coro: Any, timeout: float = 15) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- what the runner asks --------------------------------------------------------------------------------
    def open(self, target: Target, instances: int) -> list[int]:
        """Listen for the job's instances (one port each) on loopback; returns the ports."""
        return self._call(self._open(target, instances))

    def ports(self, job_id: str) -> list[int]:
        target = self._targets.get(job_id)
        return [listener.get_port() for listener in target.listeners] if target else []

    def close(self, job_id: str) -> None:
        if job_id in self._targets:
            self._call(self._close(job_id))

    def shutdown(self) -> None:
        try:
            self._call(self._close_all(), timeout=20)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            if not self._thread.is_alive():
                self._loop.close()

    # -- on the loop -----------------------------------------------------------------------------------------
    async def _open(self, target: Target, instances: int) -> list[int]:
        self._targets[target.job_id] = target
        for _ in range(instances):
            listener = await self._asyncssh.listen(
                "127.0.0.1", 0, server_host_keys=[self._host_key], server_factory=lambda: _Server(self, target),
                process_factory=lambda process: self._session(target, process),
                sftp_factory=lambda chan: _sftp_server(self._asyncssh, chan, target.home), allow_scp=True,
                encoding=None, password_auth=False, kbdint_auth=False, x11_forwarding=False,
                agent_forwarding=False, allow_pty=True, line_editor=False, keepalive_interval=30)
            target.listeners.append(listener)
        return [listener.get_port() for listener in target.listeners]

    async def _close(self, job_id: str) -> None:
        target = self._targets.pop(job_id, None)
        if target is None:
            return
        for listener in target.listeners:
            listener.close()
        for conn in list(target.connections):
            conn.close()
        for pgid in list(target.pgids):
            sandbox.kill(pgid)
        for listener in target.listeners:
            await listener.wait_closed()

    async def _close_all(self) -> None:
        for job_id in list(self._targets):
            await self._close(job_id)

    def authorized(self, target: Target, username: str) -> Any:
        if username != target.username:
            return self._asyncssh.import_authorized_keys("")
        return self._asyncssh.import_authorized_keys("\n".join(self._accepted_keys(target.tenant_id)))

    async def _session(self, target: Target, process: Any) -> None:
        """A command or a shell, run as the job's command is, from its home folder."""
        command = process.command
        terminal = process.get_terminal_type()
        script = command if command is not None else ("exec bash -il" if terminal else "exec bash -s")
        env = dict(target.env)
        if terminal:
            env["TERM"] = terminal
        argv = sandbox.argv(target.home, target.home, script, target.limits, target.shim)
        master = None
        if terminal:
            master, slave = os.openpty()
            _set_size(slave, process.get_terminal_size())
            streams: dict[str, Any] = {"stdin": slave, "stdout": slave, "stderr": slave}
        else:
            streams = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        try:
            child = await asyncio.create_subprocess_exec(*argv, cwd=target.home, env=env, start_new_session=True,
                                                         **streams)
        except OSError as error:
            process.stderr.write(f"rescale-mock could not start the session: {error}\n".encode())
            process.exit(127)
            return
        finally:
            if master is not None:
                os.close(slave)
        target.pgids.add(child.pid)
        try:
            if master is not None:
                code = await _through_pty(process, child, master)
            else:
                feeding = asyncio.ensure_future(_pump(process.stdin, child.stdin, close=True))
                copying = asyncio.gather(_pump(child.stdout, process.stdout), _pump(child.stderr, process.stderr))
                code = await child.wait()
                await copying  # every byte it wrote reaches the client before its exit status
                feeding.cancel()
        finally:
            sandbox.kill(child.pid)  # whatever the session left running in its group
            target.pgids.discard(child.pid)
        process.exit(code if code >= 0 else 128 - code)


async def _through_pty(process: Any, child: Any, master: int) -> int:
    """A shell on a pty: what it prints goes out as it comes, what the client types goes in, a resize resizes."""
    import asyncssh

    loop = asyncio.get_running_loop()
    drained = loop.create_future()

    def readable() -> None:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # EIO: every holder of the terminal's other end has gone
            data = b""
        if data:
            process.stdout.write(data)
            return
        loop.remove_reader(master)
        if not drained.done():
            drained.set_result(None)

    async def feed() -> None:
        while True:
            try:
                data = await process.stdin.read(1 << 16)
            except asyncssh.TerminalSizeChanged as change:
                _set_size(master, (change.width, change.height, change.pixwidth, change.pixheight))
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue
            except Exception:  # noqa: BLE001 - the channel closed
                return
            if not data:
                return
            try:
                os.write(master, data)
            except OSError:  # the shell has gone
                return

    loop.add_reader(master, readable)
    feeding = asyncio.ensure_future(feed())
    try:
        code = await child.wait()
        try:
            await asyncio.wait_for(drained, 5)  # the rest of what it printed
        except asyncio.TimeoutError:
            loop.remove_reader(master)  # a background process still holds the terminal
    finally:
        feeding.cancel()
        os.close(master)
    return code


async def _pump(reader: Any, writer: Any, close: bool = False) -> None:
    try:
        while chunk := await reader.read(1 << 16):
            writer.write(chunk)
            await writer.drain()
    except Exception:  # noqa: BLE001 - the other side went away (a closed channel, a dead process, a signal)
        pass
    finally:
        if close:
            writer.close()


def _set_size(fd: int, size: tuple[int, int, int, int]) -> None:
    import fcntl
    import struct
    import termios

    cols, rows, width, height = size
    if cols and rows:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, width, height))


def _host_key(asyncssh: Any, path: Path) -> Any:
    """One host key per data dir, kept, so a client's known_hosts stays right across restarts."""
    try:
        return asyncssh.read_private_key(str(path))
    except (OSError, ValueError, asyncssh.KeyImportError):
        key = asyncssh.generate_private_key("ssh-ed25519")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key.export_private_key())
        return key


def _server_class() -> Any:
    import asyncssh

    class Server(asyncssh.SSHServer):
        def __init__(self, gate: SshGate, target: Target) -> None:
            self.gate, self.target = gate, target
            self.conn: Any = None

        def connection_made(self, conn: Any) -> None:
            self.conn = conn
            self.target.connections.add(conn)

        def connection_lost(self, exc: Exception | None) -> None:
            self.target.connections.discard(self.conn)

        def begin_auth(self, username: str) -> bool:
            self.conn.set_authorized_keys(self.gate.authorized(self.target, username))
            return True  # authentication is always required

        def public_key_auth_supported(self) -> bool:
            return True

    return Server


def _Server(gate: SshGate, target: Target) -> Any:  # noqa: N802 - a factory standing for the class
    global _SERVER
    if _SERVER is None:
        _SERVER = _server_class()
    return _SERVER(gate, target)


_SERVER: Any = None
_SFTP: Any = None


def _sftp_server(asyncssh: Any, chan: Any, home: Path) -> Any:
    global _SFTP
    if _SFTP is None:
        class HomeSFTPServer(asyncssh.SFTPServer):
            """asyncssh's chroot, plus: a path whose resolved form (links followed) leaves the home is refused."""

            def map_path(self, path: bytes) -> bytes:
                mapped = super().map_path(path)
                root = self._chroot
                real = os.path.realpath(mapped)
                if real != root and not real.startswith(root + b"/"):
                    raise asyncssh.SFTPPermissionDenied("outside the job's home folder")
                return mapped

            def exit(self) -> None:
                # an exit status, as OpenSSH's sftp-server sends: without one OpenSSH's scp fails a good copy
                try:
                    self.channel.exit(0)
                except (OSError, asyncssh.Error):
                    pass
                super().exit()

        _SFTP = HomeSFTPServer
    home.mkdir(parents=True, exist_ok=True)
    return _SFTP(chan, chroot=os.fsencode(home))
