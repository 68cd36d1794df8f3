"""Transfers: a large file up and down through a served fake, side by side with curl and the seed notebook.

Goals (issue text): "uploading and downloading a 1 GiB file through the fake keeps the server's peak RSS under
100 MiB, and a ranged download runs at least 0.8x the speed of curl on the same URL (printed as ratios)." and, for
the client kit: "1 GiB ranged concurrent download through the client: at least 0.9x curl to /dev/null on the same
URL, and at least 2x the notebook's own threaded downloader. 1 GiB upload: client peak RSS under 100 MiB (the
seeds' files= approach holds the whole file)."

Per round (3 by default, order reversed every other round, medians reported), on the same file and URL:
- curl            `curl -s -o /dev/null -H 'Authorization: Token KEY' URL` (one stream, 200 response)
- curl to a file  the same with `-o <file>` in the bench's work dir (where the client writes too): what writing
                  the bytes to disk costs curl itself
- curl range      the same with `-r 0-` (one stream, 206 response): separates the server's Range path from the client
- ranged xN       requests, N threads (4, 8), `Range` + `stream=True`, `os.pwrite` into a preallocated file;
                  timed to the last byte written, then the sha512 is checked against fileChecksums[0].fileHash
- notebook x10    the seed notebook's `concurrent_download` as written (bench/notebook_transfer.py), timed as the
                  notebook times it (parts, concatenation and its own sha512 check included)
- client xN       the client kit: `RescaleClient(base_url, key, progress=False).download_file(file_id, dest,
                  workers=N)` for N = the client's default workers (8) and 4; timed as a user sees it (metadata
                  GET, ranges into `.part`, `.part.json` progress, its sha512 check, the rename)
- client x8, verify=False   the same call without the sha512 check (the sizes are still checked)
Before the rounds, sha512 of the file alone (hashlib, one core) is timed: no download that checks sha512 on one
core can beat it, which bounds client/curl.
The server's peak RSS (VmHWM of the `rescale_mock.cli` process) is read at start, after the upload and after every
download; it is reset between phases when /proc/<pid>/clear_refs allows it, so each method's own peak is known.

Then the same file is uploaded again, side by side, each upload in a fresh client process (bench/upload_client.py)
so the client's peak RSS is its own, the uploaded copy deleted afterwards:
- encoder         requests-toolbelt MultipartEncoder streamed from the file (as above)
- notebook        the seed notebook's own `file_upload` (cell 41): `requests.post(..., files=[...])`, which builds the
                  whole multipart body in memory
- client          the client kit: `RescaleClient(base_url, key, progress=False).upload_file(path)`
"""
from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import requests
import rescale_client.transfers as client_transfers
from requests_toolbelt import MultipartEncoder
from rescale_client import RescaleClient

from . import notebook_transfer
from rescale_mock.testing import Control

from .common import (GiB, MiB, Goal, Result, ServedFake, Settings, current_rss, fmt, log, mb_per_s, median, mib,
                     peak_rss, ratio, reset_peak_rss)

RSS_LIMIT = 100 * MiB
SPEED_RATIO_GOAL = 0.8
CLIENT_CURL_GOAL = 0.9  # client download / curl
CLIENT_NOTEBOOK_GOAL = 2.0  # client download / the notebook's threaded download
CLIENT_RSS_LIMIT = 100 * MiB  # the client's own peak RSS while uploading
CLIENT_DEFAULT_WORKERS = int(inspect.signature(RescaleClient.download_file).parameters["workers"].default)
CLIENT_WORKERS = tuple(dict.fromkeys((CLIENT_DEFAULT_WORKERS, 4)))
GOAL_SIZE = 1 * GiB
CLIENT_UNVERIFIED = f"client x{CLIENT_DEFAULT_WORKERS}, verify=False"
GEN_CHUNK = 8 * MiB
READ_CHUNK = 1 * MiB  # iter_content size for the ranged download
RANGED_THREADS = (4, 8)
NOTEBOOK_THREADS = 10
UPLOAD_METHODS = {"encoder": "encoder: MultipartEncoder, streamed",
                  "notebook": "notebook: cell 41, requests files=",
                  "client": "client: RescaleClient.upload_file"}
REPO = Path(__file__).resolve().parent.parent


# -- the plan and the measured file --------------------------------------------------------------------------------
NOTEBOOK_NAME = f"notebook x{NOTEBOOK_THREADS}"
RANGED_NAMES = [f"ranged x{n}" for n in RANGED_THREADS]
CLIENT_NAMES = [f"client x{n}" for n in CLIENT_WORKERS]
CLIENT_DEFAULT = f"client x{CLIENT_DEFAULT_WORKERS}"
CLIENT_WORKERS_BY_NAME = {f"client x{n}": n for n in CLIENT_WORKERS} | {CLIENT_UNVERIFIED: CLIENT_DEFAULT_WORKERS}
CLIENT_ALL = list(CLIENT_WORKERS_BY_NAME)  # the client rows: each worker count, then verify=False


@dataclass
class Plan:
    size: int
    rounds: int
    quick: bool

    @property
    def upload_rounds(self) -> int:
        return min(self.rounds, 2) if self.quick else self.rounds


@dataclass
class Subject:
    """The file the downloads and side-by-side uploads use: the one the server took (1 MiB smaller if it refused
    the full size)."""
    source: Path
    size: int
    sha512: str
    file_id: str
    server_hash: str
    url: str
    dl_size: int
    upload_peak: int | None


@dataclass
class Stats:
    """Medians and peaks of the runs, as the tables, goals and headlines read them."""
    speeds: dict[str, float | None]
    failures: dict[str, list[str]]
    method_peaks: dict[str, int | None]
    method_growth: dict[str, int | None]
    client_peaks: dict[str, int | None]
    client_growth: dict[str, int | None]
    download_peak: int | None
    overall_peak: int | None
    curl_seconds: float | None
    sha_alone: float | None
    sha_ceiling: float | None
    up_speed: dict[str, float | None]
    up_client: dict[str, int | None]
    up_growth: dict[str, int | None]
    up_server: dict[str, int | None]
    cpu: dict[str, tuple[float | None, ...]]  # client user, client sys, server

    @property
    def curl(self) -> float | None:
        return self.speeds["curl"]

    @property
    def curl_file(self) -> float | None:
        return self.speeds["curl to a file"]

    @property
    def best_ranged(self) -> str:
        return max(RANGED_NAMES, key=lambda n: self.speeds[n] or 0)


# -- the file ------------------------------------------------------------------------------------------------------
def make_random_file(path: Path, size: int) -> str:
    """`size` random bytes written in chunks (never whole in memory); returns the sha512 hex digest."""
    digest = hashlib.sha512()
    with open(path, "wb") as fh:
        left = size
        while left:
            chunk = os.urandom(min(GEN_CHUNK, left))
            digest.update(chunk)
            fh.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def sha512_of(path: Path) -> str:
    digest = hashlib.sha512()
    with open(path, "rb") as fh:
        while chunk := fh.read(GEN_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- upload --------------------------------------------------------------------------------------------------------
def upload(fake: ServedFake, path: Path) -> dict[str, Any]:
    """A streaming multipart POST (requests-toolbelt MultipartEncoder), as the contract anchors recommend."""
    with open(path, "rb") as fh:
        encoder = MultipartEncoder(fields={"file": (path.name, fh, "application/octet-stream")})
        body_length = encoder.len
        headers = {**fake.headers, "Content-Type": encoder.content_type}
        started = time.perf_counter()
        try:
            response = requests.post(fake.url("/api/v2/files/contents/"), data=encoder, headers=headers,
                                     timeout=(10, 1800))
        except requests.RequestException as err:
            return {"ok": False, "seconds": time.perf_counter() - started, "bodyLength": body_length,
                    "error": f"{type(err).__name__}: {err}"}
    seconds = time.perf_counter() - started
    outcome: dict[str, Any] = {"ok": response.status_code == 201, "status": response.status_code,
                               "seconds": seconds, "bodyLength": body_length}
    if response.status_code == 201:
        outcome["file"] = response.json()
    else:
        outcome["error"] = f"HTTP {response.status_code}: {' '.join(response.text.split())[:300]}"
    return outcome


def probe_body_limit(fake: ServedFake, content_length: int) -> str:
    """Send only the headers of an upload with this Content-Length and read what the server says before any body
    byte: shows a size limit enforced from the headers alone (the server's, if it has one)."""
    parts = urlsplit(fake.base_url)
    request = (f"POST /api/v2/files/contents/ HTTP/1.1\r\nHost: {parts.netloc}\r\n"
               f"Authorization: Token {fake.api_key}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
               f"Content-Length: {content_length}\r\n\r\n").encode()
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request)
        with contextlib.suppress(OSError):
            while chunk := sock.recv(4096):
                received += chunk
                sock.settimeout(1)  # once it has started answering, the rest follows at once
    answer = received.decode(errors="replace")
    if not answer:
        return "no answer before the body (the limit is not checked from the headers)"
    lines = answer.split("\r\n")
    body = " ".join(answer.split("\r\n\r\n", 1)[-1].split())
    return f"{lines[0]} / {body[:160]}"


def child_upload(fake: ServedFake, method: str, path: Path) -> dict[str, Any]:
    """One upload by bench/upload_client.py in a fresh process (its peak RSS is the upload's own), with the
    server's peak RSS for it; the uploaded copy is deleted afterwards so the data dir does not fill up."""
    fake.reset_peak()
    done = subprocess.run([sys.executable, "-m", "bench.upload_client", method, fake.base_url, fake.api_key,
                           str(path)], capture_output=True, text=True, timeout=3600, cwd=REPO)
    try:
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        outcome = {"ok": False, "seconds": None, "error": f"rc={done.returncode}: {done.stderr[-300:]}"}
    outcome["serverPeakRss"] = fake.peak_rss()
    if outcome.get("fileId"):
        with contextlib.suppress(requests.RequestException):
            requests.delete(fake.url(f"/api/v2/files/{outcome['fileId']}/"), headers=fake.headers, timeout=60)
    return outcome


# -- downloads -----------------------------------------------------------------------------------------------------
def curl_download(fake: ServedFake, url: str, size: int, ranged: bool = False,
                  output: Path | None = None) -> dict[str, Any]:
    """curl to /dev/null, or to `output` (removed afterwards)."""
    command = ["curl", "-s", "-o", str(output or "/dev/null"), "-H", f"Authorization: Token {fake.api_key}",
               "-w", "%{http_code} %{size_download} %{time_total}"]
    if ranged:
        command += ["-r", "0-"]
    started = time.perf_counter()
    done = subprocess.run(command + [url], capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - started
    if output is not None:
        output.unlink(missing_ok=True)
    status, downloaded, curl_total = (done.stdout.split() + ["", "", ""])[:3]
    ok = done.returncode == 0 and int(downloaded or 0) == size and status == ("206" if ranged else "200")
    return {"ok": ok, "seconds": seconds, "status": status, "bytes": int(downloaded or 0),
            "curlTimeTotal": float(curl_total or 0), "error": None if ok else f"rc={done.returncode} {done.stdout}"}


def ranged_download(fake: ServedFake, url: str, size: int, expected_sha512: str, dst: Path,
                    threads: int) -> dict[str, Any]:
    """`threads` ranges fetched concurrently with requests (stream=True), each written with os.pwrite at its offset
    into a file preallocated to the full size; timed to the last byte, then verified with sha512."""
    fd = os.open(dst, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.ftruncate(fd, size)
        step = -(-size // threads)
        ranges = [(start, min(start + step, size) - 1) for start in range(0, size, step)]

        def fetch(span: tuple[int, int]) -> int:
            start, end = span
            with requests.Session() as session:
                response = session.get(url, headers={**fake.headers, "Range": f"bytes={start}-{end}"}, stream=True,
                                       timeout=(10, 600))
                with response:
                    if response.status_code != 206:
                        raise RuntimeError(f"range {start}-{end}: HTTP {response.status_code}")
                    offset = start
                    for chunk in response.iter_content(READ_CHUNK):
                        os.pwrite(fd, chunk, offset)
                        offset += len(chunk)
            if offset != end + 1:
                raise RuntimeError(f"range {start}-{end}: got {offset - start} bytes")
            return offset - start

        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            received = sum(pool.map(fetch, ranges))
        seconds = time.perf_counter() - started
    except Exception as err:  # noqa: BLE001 - a failed run is reported, not fatal
        return {"ok": False, "seconds": None, "error": f"{type(err).__name__}: {err}"}
    finally:
        os.close(fd)
    hash_started = time.perf_counter()
    matches = sha512_of(dst) == expected_sha512
    hash_seconds = time.perf_counter() - hash_started
    dst.unlink()
    return {"ok": matches and received == size, "seconds": seconds, "hashSeconds": hash_seconds,
            "sha512Matches": matches, "error": None if matches else "sha512 mismatch"}


def notebook_download(fake: ServedFake, file_id: str, workdir: Path) -> dict[str, Any]:
    """The notebook's concurrent_download, called the way the notebook calls it (10 threads, cwd-relative files)."""
    workdir.mkdir(parents=True, exist_ok=True)
    previous = os.getcwd()
    os.chdir(workdir)
    started = time.perf_counter()
    try:
        # A fresh headers dict per call: the function writes "Range" into it (see bench/notebook_transfer.py).
        notebook_transfer.concurrent_download(fake.base_url, dict(fake.headers), file_id, dir_path=".",
                                              num_threads=NOTEBOOK_THREADS)
        outcome: dict[str, Any] = {"ok": True, "seconds": time.perf_counter() - started, "error": None}
    except Exception as err:  # noqa: BLE001 - includes the notebook's own "File hashes not equal"
        # A hash mismatch comes after all the work: the time is still the method's time, so it is kept (timed).
        elapsed = time.perf_counter() - started
        mismatch = "hashes not equal" in str(err)
        outcome = {"ok": False, "timed": mismatch, "seconds": elapsed if mismatch else None,
                   "error": f"{type(err).__name__}: {err}"}
    finally:
        os.chdir(previous)
        shutil.rmtree(workdir, ignore_errors=True)
    return outcome


def client_download(fake: ServedFake, file_id: str, size: int, dst: Path, workers: int,
                    verify: bool = True) -> dict[str, Any]:
    """`RescaleClient.download_file` as a user calls it: it fetches the metadata, downloads and (unless
    `verify=False`) checks the sha512 itself."""
    client = RescaleClient(fake.base_url, fake.api_key, progress=False)
    try:
        started = time.perf_counter()
        written = client.download_file(file_id, dst, workers=workers, verify=verify)
        seconds = time.perf_counter() - started
        got = written.stat().st_size
        ok = got == size
        return {"ok": ok, "seconds": seconds, "error": None if ok else f"{got} bytes written, expected {size}"}
    except Exception as err:  # noqa: BLE001 - includes the client's own ChecksumMismatch
        return {"ok": False, "seconds": None, "error": f"{type(err).__name__}: {err}"}
    finally:
        client.close()
        for leftover in (dst, dst.with_name(dst.name + ".part"), dst.with_name(dst.name + ".part.json")):
            leftover.unlink(missing_ok=True)


def client_source() -> dict[str, Any]:
    """Which client code was measured: the sha256 of rescale_client/transfers.py as imported, and whether it
    differs from the committed one (the client is edited separately)."""
    path = Path(client_transfers.__file__)
    info: dict[str, Any] = {"transfersPath": str(path),
                            "transfersSha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(["git", "status", "--porcelain", "--", str(path)], capture_output=True, text=True,
                              cwd=REPO, timeout=10)
        info["uncommittedChanges"] = bool(done.stdout.strip()) if done.returncode == 0 else None
    return info


# -- one measured run ---------------------------------------------------------------------------------------------
def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads) from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _measure(fake: ServedFake, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """One download with the server's and this process's peak RSS for it alone. The server's RSS at the start is
    kept too: memory freed by Python is not always returned to the OS, so a peak also carries what earlier runs
    left resident; the peak minus that start is what this run itself needed. CPU seconds are kept as well: the
    client side's user and system time (this process and curl, its child), and the server's."""
    os.sync()  # (untimed) no method starts while the kernel still writes back the file the one before it wrote
    fake.reset_peak()
    me = os.getpid()
    reset_peak_rss(me)
    outcome: dict[str, Any] = {"serverRssBefore": fake.rss(), "clientRssBefore": current_rss(me)}
    times, server_cpu = os.times(), _cpu_seconds(fake.pid)
    outcome.update(run())
    after, server_after = os.times(), _cpu_seconds(fake.pid)
    outcome["clientCpuUser"] = (after.user - times.user) + (after.children_user - times.children_user)
    outcome["clientCpuSys"] = (after.system - times.system) + (after.children_system - times.children_system)
    outcome["serverCpu"] = None if server_cpu is None or server_after is None else server_after - server_cpu
    outcome["serverPeakRss"] = fake.peak_rss()
    outcome["serverRssAfter"] = fake.rss()
    outcome["clientPeakRss"] = peak_rss(me)
    return outcome


def _app_seconds(fake: ServedFake) -> float | None:
    """The journal's duration of the last upload: from the app being called (cheroot calls it once the headers are
    in, so this includes receiving the body) to its response headers: receiving, multipart parsing, md5 + sha512,
    the blob write and fsync."""
    with contextlib.suppress(Exception):
        entries = Control(fake.base_url, fake.api_key).journal(operationId="uploadFile")
        if entries:
            return entries[-1]["durationMs"] / 1000
    return None


# -- phase: the file and the fake ----------------------------------------------------------------------------------
def write_source(work: Path, size: int, data: dict[str, Any]) -> tuple[Path, str]:
    source = work / "payload.bin"
    log(f"writing {size // MiB} MiB of random bytes to {source}")
    started = time.perf_counter()
    local_sha512 = make_random_file(source, size)
    data["generateSeconds"] = time.perf_counter() - started
    return source, local_sha512


def start_fake(data: dict[str, Any]) -> ServedFake:
    fake = ServedFake()
    log(f"fake at {fake.base_url} (server pid {fake.pid}, peak reset "
        f"{'available' if fake.can_reset_peak else 'NOT available: peaks are cumulative'})")
    data["serverPid"] = fake.pid
    data["serverStartupPeakRss"] = fake.startup_peak
    data["serverIdleRss"] = fake.rss()
    fake.reset_peak()
    return fake


# -- phase: the upload ---------------------------------------------------------------------------------------------
def _upload_entry(fake: ServedFake, outcome: dict[str, Any]) -> dict[str, Any]:
    entry = {k: v for k, v in outcome.items() if k != "file"}
    entry["serverPeakRss"] = fake.peak_rss()
    entry["appSeconds"] = _app_seconds(fake) if outcome["ok"] else None
    return entry


def upload_phase(fake: ServedFake, source: Path, size: int, local_sha512: str, data: dict[str, Any]) -> Subject:
    """The streamed upload of the full size; if the server refuses it, a headers-only probe says why and the
    downloads go on with a file 1 MiB smaller."""
    log("uploading (MultipartEncoder, streaming)")
    up = upload(fake, source)
    data["upload"] = _upload_entry(fake, up)
    uploaded_size, expected_sha512 = size, local_sha512
    if not up["ok"]:
        probe = probe_body_limit(fake, up["bodyLength"])
        data["upload"]["probe"] = probe
        log(f"upload of {size} bytes failed: {up['error']}; headers-only probe: {probe}")
        # Keep measuring downloads on the largest file the server takes: 1 MiB less.
        uploaded_size = size - MiB
        os.truncate(source, uploaded_size)
        expected_sha512 = sha512_of(source)
        fake.reset_peak()
        fallback = upload(fake, source)
        data["uploadFallback"] = _upload_entry(fake, fallback)
        if not fallback["ok"]:
            raise RuntimeError(f"fallback upload failed too: {fallback['error']}")
        record = fallback["file"]
    else:
        record = up["file"]
    upload_peak = max(filter(None, [data["upload"]["serverPeakRss"],
                                    (data.get("uploadFallback") or {}).get("serverPeakRss")]), default=None)
    file_id = record["id"]
    meta = requests.get(fake.url(f"/api/v2/files/{file_id}/"), headers=fake.headers, timeout=30).json()
    server_hash = meta["fileChecksums"][0]["fileHash"]
    data["fileId"], data["decryptedSize"] = file_id, meta["decryptedSize"]
    data["serverChecksumMatches"] = server_hash == expected_sha512
    return Subject(source=source, size=uploaded_size, sha512=expected_sha512, file_id=file_id,
                   server_hash=server_hash, url=fake.url(f"/api/v2/files/{file_id}/contents/"),
                   dl_size=meta["decryptedSize"], upload_peak=upload_peak)


# -- phase: downloads side by side ---------------------------------------------------------------------------------
def download_methods(fake: ServedFake, subject: Subject, work: Path) -> dict[str, Callable[[], dict[str, Any]]]:
    url, dl_size, file_id = subject.url, subject.dl_size, subject.file_id
    return {
        "curl": lambda: curl_download(fake, url, dl_size),
        "curl to a file": lambda: curl_download(fake, url, dl_size, output=work / "curl.bin"),
        "curl range 0-": lambda: curl_download(fake, url, dl_size, ranged=True),
        **{f"ranged x{n}": (lambda n=n: ranged_download(fake, url, dl_size, subject.server_hash,
                                                        work / "ranged.bin", n))
           for n in RANGED_THREADS},
        NOTEBOOK_NAME: lambda: notebook_download(fake, file_id, work / "notebook"),
        **{f"client x{n}": (lambda n=n: client_download(fake, file_id, dl_size, work / "client.bin", n))
           for n in CLIENT_WORKERS},
        CLIENT_UNVERIFIED: lambda: client_download(fake, file_id, dl_size, work / "client.bin",
                                                   CLIENT_DEFAULT_WORKERS, verify=False),
    }


def baselines(fake: ServedFake, subject: Subject, data: dict[str, Any]) -> None:
    """Untimed warm-up, which client code is measured, and the speed of sha512 itself on this machine (hashlib, one
    core, the file in the page cache): no download that checks the sha512 on one core can be faster than this,
    however it overlaps the two."""
    log("warm-up download (curl, not counted)")
    curl_download(fake, subject.url, subject.dl_size)
    data["clientSource"] = client_source()
    hash_times = []
    for _ in range(3):
        hash_started = time.perf_counter()
        sha512_of(subject.source)
        hash_times.append(time.perf_counter() - hash_started)
    data["sha512AloneSeconds"] = median(hash_times)
    data["serverPeakRssWarmup"] = fake.peak_rss()  # not reset since the upload: max of both


def download_rounds(fake: ServedFake, methods: dict[str, Callable[[], dict[str, Any]]], plan: Plan,
                    dl_size: int) -> dict[str, list[dict[str, Any]]]:
    """Every method once per round, the order reversed every other round."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in methods}
    for round_no in range(plan.rounds):
        order = list(methods) if round_no % 2 == 0 else list(reversed(methods))
        for name in order:
            outcome = _measure(fake, methods[name])
            outcome["round"] = round_no
            runs[name].append(outcome)
            log(f"round {round_no + 1}/{plan.rounds} {name}: "
                + (f"{mb_per_s(dl_size, outcome['seconds']):.0f} MB/s" if outcome["seconds"] else "")
                + ("" if outcome["ok"] else f" FAILED {outcome['error']}")
                + f", server peak {mib(outcome['serverPeakRss'])}")
    return runs


# -- phase: uploads side by side, each in a fresh client process ---------------------------------------------------
def upload_rounds(fake: ServedFake, subject: Subject, plan: Plan) -> dict[str, list[dict[str, Any]]]:
    uploads: dict[str, list[dict[str, Any]]] = {m: [] for m in UPLOAD_METHODS}
    for round_no in range(plan.upload_rounds):
        for method in (list(UPLOAD_METHODS) if round_no % 2 == 0 else list(reversed(UPLOAD_METHODS))):
            outcome = child_upload(fake, method, subject.source)
            outcome["round"] = round_no
            uploads[method].append(outcome)
            log(f"upload round {round_no + 1}/{plan.upload_rounds} {method}: "
                + (f"{mb_per_s(subject.size, outcome['seconds']):.0f} MB/s, " if outcome.get("ok") else
                   f"FAILED {outcome.get('error')}, ")
                + f"client peak {mib(outcome.get('peakRss'))}, server peak {mib(outcome['serverPeakRss'])}")
    return uploads


# -- the summary ---------------------------------------------------------------------------------------------------
def _paired_ratios(runs: dict[str, list[dict[str, Any]]]) -> dict[str, list[float]]:
    """Per-round ratios: base seconds / method seconds, for the rounds both have a timing."""
    def paired(name: str, base: str) -> list[float]:
        by_round = {r["round"]: r for r in runs[base] if r["ok"] or r.get("timed")}
        return [r_base["seconds"] / r["seconds"] for r in runs[name] if r["ok"] or r.get("timed")
                for r_base in [by_round.get(r["round"])] if r_base]

    return ({f"{n}/curl": paired(n, "curl") for n in [*RANGED_NAMES, *CLIENT_ALL, "curl range 0-", "curl to a file"]}
            | {f"{n}/curl to a file": paired(n, "curl to a file") for n in CLIENT_ALL}
            | {f"{n}/{NOTEBOOK_NAME}": paired(n, NOTEBOOK_NAME) for n in [*RANGED_NAMES, *CLIENT_ALL]}
            | {f"{n}/ranged x{w}": paired(n, f"ranged x{w}") for n, w in CLIENT_WORKERS_BY_NAME.items()
               if w in RANGED_THREADS})


def digest(data: dict[str, Any], subject: Subject) -> Stats:
    """Medians and peaks of data["runs"] and data["uploads"], also written into `data`."""
    runs, uploads, dl_size = data["runs"], data["uploads"], subject.dl_size
    speeds = {name: median(mb_per_s(dl_size, r["seconds"]) for r in rs if r["ok"] or r.get("timed"))
              for name, rs in runs.items()}
    failures = {name: [r["error"] for r in rs if not r["ok"]] for name, rs in runs.items()}
    method_peaks = {name: max(filter(None, (r["serverPeakRss"] for r in rs)), default=None)
                    for name, rs in runs.items()}
    method_growth = {name: max((r["serverPeakRss"] - r["serverRssBefore"] for r in rs
                                if r["serverPeakRss"] and r["serverRssBefore"]), default=None)
                     for name, rs in runs.items()}
    client_peaks = {name: max(filter(None, (r["clientPeakRss"] for r in rs)), default=None)
                    for name, rs in runs.items()}
    # this (bench) process's peak carries what earlier methods left resident (the notebook's parts): the growth
    # over its RSS at the method's start is the method's own need
    client_growth = {name: max((r["clientPeakRss"] - r["clientRssBefore"] for r in rs
                                if r["clientPeakRss"] and r.get("clientRssBefore")), default=None)
                     for name, rs in runs.items()}
    download_peak = max(filter(None, method_peaks.values()), default=None)
    overall_peak = max(filter(None, [data["serverStartupPeakRss"], subject.upload_peak, data["serverPeakRssWarmup"],
                                     download_peak]), default=None)
    curl_seconds = median(r["seconds"] for r in runs["curl"] if r["ok"])
    # sha512 alone vs curl's whole download: the bound on client/curl for any download that checks sha512 on one
    # core (after the download or overlapped with it)
    sha_alone = data["sha512AloneSeconds"]
    sha_ceiling = ratio(curl_seconds, sha_alone)
    data.update(speedsMBps=speeds, failures=failures, serverPeakRssByMethod=method_peaks,
                serverPeakGrowthByMethod=method_growth, clientPeakRssByMethod=client_peaks,
                clientPeakGrowthByMethod=client_growth, serverPeakRssUpload=subject.upload_peak,
                serverPeakRssDownloads=download_peak, serverPeakRssOverall=overall_peak,
                sha512AloneVsCurl=sha_ceiling, pairedRatios=_paired_ratios(runs))

    up_speed = {m: median(mb_per_s(subject.size, r["seconds"]) for r in rs if r.get("ok")) for m, rs in uploads.items()}
    up_client = {m: max((r["peakRss"] for r in rs if r.get("peakRss")), default=None) for m, rs in uploads.items()}
    up_growth = {m: max((r["peakRss"] - r["rssBefore"] for r in rs if r.get("peakRss") and r.get("rssBefore")),
                        default=None) for m, rs in uploads.items()}
    up_server = {m: max((r["serverPeakRss"] for r in rs if r.get("serverPeakRss")), default=None)
                 for m, rs in uploads.items()}
    data.update(uploadSpeedsMBps=up_speed, uploadClientPeakRss=up_client, uploadClientGrowth=up_growth,
                uploadServerPeakRss=up_server)

    cpu = {name: tuple(median(r.get(k) for r in rs if r["ok"] or r.get("timed"))
                       for k in ("clientCpuUser", "clientCpuSys", "serverCpu")) for name, rs in runs.items()}
    data["cpuSecondsByMethod"] = {n: dict(zip(("clientUser", "clientSys", "server"), v)) for n, v in cpu.items()}
    return Stats(speeds=speeds, failures=failures, method_peaks=method_peaks, method_growth=method_growth,
                 client_peaks=client_peaks, client_growth=client_growth, download_peak=download_peak,
                 overall_peak=overall_peak, curl_seconds=curl_seconds, sha_alone=sha_alone, sha_ceiling=sha_ceiling,
                 up_speed=up_speed, up_client=up_client, up_growth=up_growth, up_server=up_server, cpu=cpu)


# -- the report ----------------------------------------------------------------------------------------------------
def upload_table(result: Result, data: dict[str, Any], subject: Subject) -> None:
    result.section("upload (requests-toolbelt MultipartEncoder, one POST)")
    for label, up_run in (("upload", data["upload"]), ("upload, fallback size", data.get("uploadFallback"))):
        if not up_run:
            continue
        body = up_run["bodyLength"]
        if up_run["ok"]:
            result.row(label, f"{mb_per_s(body, up_run['seconds']):.0f} MB/s",
                       f"{body} body bytes in {up_run['seconds']:.2f} s; server peak {mib(up_run['serverPeakRss'])}")
            app = up_run.get("appSeconds")
            if app is not None:
                receive = up_run["seconds"] - app
                result.row("  receiving the body", fmt(mb_per_s(body, receive), 0, " MB/s"),
                           f"{receive:.2f} s: before the app is called (cheroot streams the body into the app: near 0)")
                result.row("  app: parse, hash, store", fmt(mb_per_s(body, app), 0, " MB/s"),
                           f"{app:.2f} s (journal duration): multipart parse, md5 + sha512, write, fsync")
        else:
            result.row(label, "REFUSED", f"{body} body bytes: {up_run['error'][:120]}")
            if up_run.get("probe"):
                result.row("  headers-only probe", "", up_run["probe"])
    result.row("server sha512 = local sha512", "yes" if data["serverChecksumMatches"] else "NO",
               f"fileChecksums[0].fileHash of a {subject.dl_size}-byte file")


def upload_side_by_side_table(result: Result, data: dict[str, Any], subject: Subject, stats: Stats) -> None:
    uploads, up_speed, up_client, up_growth = data["uploads"], stats.up_speed, stats.up_client, stats.up_growth
    rounds_up = len(next(iter(uploads.values())))
    result.section(f"upload side by side, {subject.size // MiB} MiB, a fresh client process each "
                   f"(median of {rounds_up})")
    for method, label in UPLOAD_METHODS.items():
        up_fails = [r.get("error") for r in uploads[method] if not r.get("ok")]
        result.row(label, fmt(up_speed[method], 0, " MB/s"),
                   f"client peak RSS {mib(up_client[method])} (+{mib(up_growth[method])} for the upload); server "
                   f"peak {mib(stats.up_server[method])}"
                   + (f"; {len(up_fails)} FAILED: {up_fails[0]}" if up_fails else ""))
    result.row("notebook / encoder, client peak RSS", fmt(ratio(up_client["notebook"], up_client["encoder"]), 1, "x"),
               f"the notebook holds the file ~{(up_growth['notebook'] or 0) / max(1, subject.size):.1f} times "
               "over in memory (file bytes + multipart body)")
    result.row("notebook / encoder, speed", fmt(ratio(up_speed["notebook"], up_speed["encoder"]), 2, "x"))
    result.row("client / encoder, client peak RSS", fmt(ratio(up_client["client"], up_client["encoder"]), 2, "x"),
               f"goal: client peak RSS < {mib(CLIENT_RSS_LIMIT)}")
    result.row("client / notebook, client peak RSS", fmt(ratio(up_client["client"], up_client["notebook"]), 3, "x"))
    result.row("client / encoder, speed", fmt(ratio(up_speed["client"], up_speed["encoder"]), 2, "x"))


def downloads_table(result: Result, plan: Plan, data: dict[str, Any], subject: Subject, stats: Stats) -> None:
    runs, dl_size = data["runs"], subject.dl_size
    result.section(f"downloads of the same URL, median of {plan.rounds} rounds (MB/s = 10^6 B/s)")
    notes_by_method = {
        "curl": "one stream, 200, to /dev/null",
        "curl to a file": "the same, written to a file beside the client's",
        "curl range 0-": "one stream, 206 (server's Range path)",
        **{n: f"requests, {n.split('x')[1]} ranges, pwrite; sha512 checked, not timed" for n in RANGED_NAMES},
        NOTEBOOK_NAME: "seed notebook as written (parts + concat + its sha512 timed)",
        **{n: f"RescaleClient.download_file(workers={CLIENT_WORKERS_BY_NAME[n]}): metadata, "
              f"{client_transfers.auto_chunk_size(dl_size, CLIENT_WORKERS_BY_NAME[n]) // MiB} MiB ranges, "
              ".part.json, its sha512 timed" for n in CLIENT_NAMES},
        CLIENT_UNVERIFIED: "the same without the sha512 check",
    }
    for name in runs:
        failed = stats.failures[name]
        fails = f"; {len(failed)} of {plan.rounds} runs FAILED" if failed else ""
        if failed and any(r.get("timed") for r in runs[name]):
            fails += " (corrupt result; timing kept)"
        result.row(name, fmt(stats.speeds[name], 0, " MB/s"), notes_by_method[name] + fails)
    result.row("sha512 of the file alone", fmt(mb_per_s(dl_size, stats.sha_alone), 0, " MB/s"),
               f"{fmt(stats.sha_alone, 2, ' s')}: hashlib, one core, file in the page cache (no download)")


def cpu_table(result: Result, data: dict[str, Any], stats: Stats) -> None:
    result.section("CPU seconds per download, median (client side: this process + curl, sha512 checks included, "
                   "the untimed one of ranged xN too; 2 cores in all)")
    for name, rs in data["runs"].items():
        user, system, server = stats.cpu[name]
        sys_all = sorted(round(r["clientCpuSys"], 2) for r in rs if r.get("clientCpuSys") is not None)
        result.row(name, f"{fmt(user, 2)} + {fmt(system, 2)} s",
                   f"client user + sys (sys per run {sys_all}); server {fmt(server, 2, ' s')}")


def ratios_table(result: Result, stats: Stats) -> None:
    speeds, curl, curl_file = stats.speeds, stats.curl, stats.curl_file
    result.section("ratios (of medians; per-round paired ratios in the JSON)")
    for name in RANGED_NAMES:
        result.row(f"{name} / curl", fmt(ratio(speeds[name], curl), 2, "x"), f"goal >= {SPEED_RATIO_GOAL}x")
    for name in RANGED_NAMES:
        result.row(f"{name} / notebook", fmt(ratio(speeds[name], speeds[NOTEBOOK_NAME]), 2, "x"))
    result.row("curl range 0- / curl", fmt(ratio(speeds["curl range 0-"], curl), 2, "x"),
               "206 vs 200 on one stream: cost of the server's Range path")
    result.row("curl to a file / curl", fmt(ratio(curl_file, curl), 2, "x"),
               "what writing the bytes to disk costs curl itself")
    result.row("sha512 alone / curl", fmt(stats.sha_ceiling, 2, "x"),
               "bound on client/curl for a download that checks sha512 on one core, before or overlapped")
    for name in CLIENT_ALL:
        result.row(f"{name} / curl", fmt(ratio(speeds[name], curl), 2, "x"),
                   f"goal >= {CLIENT_CURL_GOAL}x" if name == CLIENT_DEFAULT else "")
        result.row(f"{name} / curl to a file", fmt(ratio(speeds[name], curl_file), 2, "x"))
        result.row(f"{name} / notebook", fmt(ratio(speeds[name], speeds[NOTEBOOK_NAME]), 2, "x"),
                   f"goal >= {CLIENT_NOTEBOOK_GOAL}x" if name == CLIENT_DEFAULT else "")
        twin = f"ranged x{CLIENT_WORKERS_BY_NAME[name]}"
        if twin in speeds:
            result.row(f"{name} / {twin}", fmt(ratio(speeds[name], speeds[twin]), 2, "x"),
                       "the client vs the plain requests downloader, same threads (its sha512 timed, theirs not)")


def rss_table(result: Result, data: dict[str, Any], subject: Subject, stats: Stats) -> None:
    result.section("server peak RSS (VmHWM of the rescale_mock.cli process)")
    result.row("at start", mib(data["serverStartupPeakRss"]), f"idle RSS {mib(data['serverIdleRss'])}")
    result.row("during upload", mib(subject.upload_peak))
    result.row("during downloads", mib(stats.download_peak), "max over every method and round")
    for name in data["runs"]:
        result.row(f"  {name}", mib(stats.method_peaks[name]),
                   f"needed up to +{mib(stats.method_growth[name])} over its start; client (this process) peak "
                   f"{mib(stats.client_peaks[name])}, up to +{mib(stats.client_growth[name])} over its start")
    result.row("resident after downloads", mib(data["serverRssAfter"]), "not returned to the OS")
    result.row("overall", mib(stats.overall_peak), f"limit {mib(RSS_LIMIT)}")


@dataclass
class Verdicts:
    """What the goals and the headlines both judge: the client kit as a user calls it (default workers, its sha512
    included), the best plain ranged download, the server's and the client's peak RSS."""
    scope: str
    upload_ok: bool
    rss_ok: bool
    best: float | None
    client_speed: float | None
    client_curl: float | None
    client_notebook: float | None
    client_unverified: float | None
    client_fail: str
    curl_status: str
    notebook_status: str
    client_up_fails: list[Any]
    client_rss_ok: bool


def judge(plan: Plan, data: dict[str, Any], stats: Stats) -> Verdicts:
    speeds, curl = stats.speeds, stats.curl
    scope = ("" if plan.size >= GOAL_SIZE else
             f" [measured at {plan.size // MiB} MiB (--quick), run without --quick for the goal size]")
    c_speed = speeds[CLIENT_DEFAULT]
    c_curl, c_nb = ratio(c_speed, curl), ratio(c_speed, speeds[NOTEBOOK_NAME])
    failed = stats.failures[CLIENT_DEFAULT]
    client_fail = f"; {len(failed)} run(s) FAILED: {failed[0][:120]}" if failed else ""
    client_up_fails = [r.get("error") for r in data["uploads"]["client"] if not r.get("ok")]
    client_rss = stats.up_client["client"]
    return Verdicts(
        scope=scope, upload_ok=bool(data["upload"]["ok"]),
        rss_ok=stats.overall_peak is not None and stats.overall_peak < RSS_LIMIT,
        best=ratio(speeds[stats.best_ranged], curl), client_speed=c_speed, client_curl=c_curl, client_notebook=c_nb,
        client_unverified=ratio(speeds[CLIENT_UNVERIFIED], curl), client_fail=client_fail,
        curl_status="n/a" if c_curl is None else ("PASS" if c_curl >= CLIENT_CURL_GOAL and not client_fail else "GAP"),
        notebook_status="n/a" if c_nb is None else
        ("PASS" if c_nb >= CLIENT_NOTEBOOK_GOAL and not client_fail else "GAP"),
        client_up_fails=client_up_fails,
        client_rss_ok=client_rss is not None and client_rss < CLIENT_RSS_LIMIT and not client_up_fails)


def goals(result: Result, plan: Plan, data: dict[str, Any], subject: Subject, stats: Stats, v: Verdicts) -> None:
    speeds, curl, best_ranged = stats.speeds, stats.curl, stats.best_ranged
    if not v.upload_ok:
        status, detail = "GAP", (f"the {plan.size}-byte upload was refused ({data['upload']['error'][:100]}); peak "
                                 f"RSS {mib(stats.overall_peak)} with a {subject.dl_size}-byte file instead")
    else:
        status = "PASS" if v.rss_ok else "GAP"
        detail = f"server peak RSS {mib(stats.overall_peak)} vs limit {mib(RSS_LIMIT)}"
    result.goals.append(Goal("1 GiB up and down keeps the server's peak RSS under 100 MiB", status, detail + v.scope))
    result.goals.append(Goal(
        f"ranged download >= {SPEED_RATIO_GOAL}x curl on the same URL",
        "n/a" if v.best is None else ("PASS" if v.best >= SPEED_RATIO_GOAL else "GAP"),
        f"best is {best_ranged}: {fmt(speeds[best_ranged], 0, ' MB/s')} vs curl {fmt(curl, 0, ' MB/s')} = "
        f"{fmt(v.best, 2, 'x')}" + v.scope))

    # the client kit's goals: judged on the client as a user calls it (default workers, its sha512 included)
    others = "; ".join(f"{n}: {fmt(ratio(speeds[n], curl), 2, 'x')} curl, "
                       f"{fmt(ratio(speeds[n], speeds[NOTEBOOK_NAME]), 2, 'x')} notebook"
                       for n in CLIENT_NAMES if n != CLIENT_DEFAULT)
    result.goals.append(Goal(
        f"client download ({CLIENT_DEFAULT}, the default) >= {CLIENT_CURL_GOAL}x curl to /dev/null on the same URL",
        v.curl_status,
        f"{fmt(v.client_speed, 0, ' MB/s')} vs curl {fmt(curl, 0, ' MB/s')} = {fmt(v.client_curl, 2, 'x')} with its "
        f"sha512 check, {fmt(v.client_unverified, 2, 'x')} with verify=False; curl itself writing a file: "
        f"{fmt(ratio(stats.curl_file, curl), 2, 'x')}; sha512 alone takes {fmt(stats.sha_alone, 2, ' s')} vs curl's "
        f"{fmt(stats.curl_seconds, 2, ' s')}: {fmt(stats.sha_ceiling, 2, 'x')} is the bound with a one-core sha512; "
        f"plain requests {best_ranged} {fmt(v.best, 2, 'x')}"
        + (f"; {others}" if others else "") + v.client_fail + v.scope))
    result.goals.append(Goal(
        f"client download ({CLIENT_DEFAULT}) >= {CLIENT_NOTEBOOK_GOAL}x the notebook's threaded downloader "
        f"(x{NOTEBOOK_THREADS})",
        v.notebook_status,
        f"{fmt(v.client_speed, 0, ' MB/s')} vs notebook {fmt(speeds[NOTEBOOK_NAME], 0, ' MB/s')} = "
        f"{fmt(v.client_notebook, 2, 'x')}" + v.client_fail + v.scope))
    up_client, client_rss = stats.up_client, stats.up_client["client"]
    result.goals.append(Goal(
        f"1 GiB upload through the client: client peak RSS under {mib(CLIENT_RSS_LIMIT)}",
        "n/a" if client_rss is None else ("PASS" if v.client_rss_ok else "GAP"),
        f"client peak RSS {mib(client_rss)} (+{mib(stats.up_growth['client'])} over its start) vs notebook files= "
        f"{mib(up_client['notebook'])}, bare MultipartEncoder {mib(up_client['encoder'])}; "
        f"{fmt(stats.up_speed['client'], 0, ' MB/s')}"
        + (f"; {len(v.client_up_fails)} upload(s) FAILED: {v.client_up_fails[0]}" if v.client_up_fails else "")
        + v.scope))


def headlines(result: Result, plan: Plan, data: dict[str, Any], subject: Subject, stats: Stats, v: Verdicts) -> None:
    speeds, curl, up_client, up_speed = stats.speeds, stats.curl, stats.up_client, stats.up_speed
    up_main = data["upload"]
    result.headline_row(f"{plan.size // MiB} MiB upload (MultipartEncoder), server peak RSS",
                        (f"{mb_per_s(up_main['bodyLength'], up_main['seconds']):.0f} MB/s, " if up_main["ok"] else
                         "REFUSED, ") + mib(subject.upload_peak))
    result.headline_row(f"{subject.size // MiB} MiB upload, client peak RSS: client kit vs notebook files= vs "
                        "MultipartEncoder",
                        f"{mib(up_client['client'])} vs {mib(up_client['notebook'])} vs {mib(up_client['encoder'])} "
                        f"({fmt(up_speed['client'], 0)} vs {fmt(up_speed['notebook'], 0)} vs "
                        f"{fmt(up_speed['encoder'], 0)} MB/s)",
                        f"client < {mib(CLIENT_RSS_LIMIT)}: {'PASS' if v.client_rss_ok else 'GAP'}")
    result.headline_row(f"ranged download ({stats.best_ranged}) vs curl; notebook x{NOTEBOOK_THREADS}",
                        f"{fmt(speeds[stats.best_ranged], 0)} vs {fmt(curl, 0)} MB/s = {fmt(v.best, 2, 'x')}; "
                        f"{fmt(speeds[NOTEBOOK_NAME], 0)} MB/s",
                        f">= {SPEED_RATIO_GOAL}x: {'PASS' if v.best and v.best >= SPEED_RATIO_GOAL else 'GAP'}")
    result.headline_row(f"client download ({CLIENT_DEFAULT}) vs curl; vs notebook x{NOTEBOOK_THREADS}",
                        f"{fmt(v.client_speed, 0)} vs {fmt(curl, 0)} MB/s = {fmt(v.client_curl, 2, 'x')} "
                        f"({fmt(v.client_unverified, 2, 'x')} with verify=False, curl to a file "
                        f"{fmt(ratio(stats.curl_file, curl), 2, 'x')}, sha512 alone {fmt(stats.sha_ceiling, 2, 'x')}); "
                        f"{fmt(v.client_notebook, 2, 'x')} the notebook",
                        f">= {CLIENT_CURL_GOAL}x curl: {v.curl_status}; >= {CLIENT_NOTEBOOK_GOAL:.0f}x notebook: "
                        f"{v.notebook_status}")
    result.headline_row("server peak RSS, upload and downloads", mib(stats.overall_peak),
                        f"< {mib(RSS_LIMIT)}: {'PASS' if v.rss_ok and v.upload_ok else 'GAP'}")


def notes(result: Result, plan: Plan, data: dict[str, Any], stats: Stats, can_reset_peak: bool) -> None:
    source_info = data.get("clientSource") or {}
    if source_info:
        result.notes.append(
            f"client measured: {source_info.get('transfersPath')} sha256 {str(source_info.get('transfersSha256'))[:12]}"
            + ("" if source_info.get("uncommittedChanges") is None else
               f", {'with uncommitted changes' if source_info['uncommittedChanges'] else 'as committed'}"))
    if not data["serverChecksumMatches"]:
        result.notes.append("the server's fileChecksums[0].fileHash differs from the sha512 of the uploaded bytes")
    for name, errors in stats.failures.items():
        if errors:
            why = (" (its threads share one headers dict, so a request can carry another thread's Range; see "
                   "bench/notebook_transfer.py)" if name == NOTEBOOK_NAME and "hashes not equal" in errors[0] else "")
            result.notes.append(f"{name}: {len(errors)} of {plan.rounds} run(s) failed: {errors[0][:200]}{why}")
    if data["serverLogWarnings"]:
        result.notes.append(f"server log: {len(data['serverLogWarnings'])} warning/error line(s), last: "
                            f"{data['serverLogWarnings'][-1][:200]}")
    if not can_reset_peak:
        result.notes.append("/proc/<pid>/clear_refs was not writable: per-phase peaks are cumulative")


# -- the benchmark -------------------------------------------------------------------------------------------------
def run(settings: Settings) -> Result:
    plan = Plan(size=settings.size, rounds=settings.rounds, quick=settings.quick)
    result = Result("transfers", f"transfers: {plan.size // MiB} MiB file up and down through `rescale-mock serve`"
                                 f"{' (--quick)' if plan.quick else ''}")
    data: dict[str, Any] = {"sizeBytes": plan.size, "rounds": plan.rounds}
    result.data = data
    work = Path(tempfile.mkdtemp(prefix="rescale-bench-"))
    fake: ServedFake | None = None
    try:
        source, local_sha512 = write_source(work, plan.size, data)
        fake = start_fake(data)
        subject = upload_phase(fake, source, plan.size, local_sha512, data)
        methods = download_methods(fake, subject, work)
        baselines(fake, subject, data)
        data["runs"] = download_rounds(fake, methods, plan, subject.dl_size)
        data["serverRssAfter"] = fake.rss()
        data["uploads"] = upload_rounds(fake, subject, plan)
        data["serverLogWarnings"] = fake.log_lines("WARNING", "ERROR", "Traceback", "queue depth")[-50:]
    finally:
        if fake is not None:
            fake.close()
        shutil.rmtree(work, ignore_errors=True)

    stats = digest(data, subject)
    upload_table(result, data, subject)
    upload_side_by_side_table(result, data, subject, stats)
    downloads_table(result, plan, data, subject, stats)
    cpu_table(result, data, stats)
    ratios_table(result, stats)
    rss_table(result, data, subject, stats)
    verdicts = judge(plan, data, stats)
    goals(result, plan, data, subject, stats, verdicts)
    headlines(result, plan, data, subject, stats, verdicts)
    notes(result, plan, data, stats, fake.can_reset_peak)
    return result
