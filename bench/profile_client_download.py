"""Why `RescaleClient.download_file` is slower than the plain requests ranged downloader: `python -m
bench.profile_client_download [SIZE_MIB] [ROUNDS]` (default 512 MiB, 3 rounds). Not part of `python -m bench`.

Against one served fake and one file, alternated in rounds (medians), with this process's and the server's CPU
seconds for each:
- curl to /dev/null, the bench's plain requests downloader (x8), and the client as a user calls it;
- the client with its pieces switched off one at a time, to see what each costs: the sha512 check (the public
  `verify=False`), and, *in this process only*, the `.part.json` writes (`RangedDownload._save` a no-op) and the
  128 KiB read/write block (`transfers.BLOCK` set to 1 MiB); and the range size (the public `chunk_size=`);
- sha512 of the file alone (the client's 128 KiB reads, and hashlib in memory).
Then the per-range cost: the client's `_fetch` called for every range in one thread under cProfile, at 1 MiB and
8 MiB ranges (time to the response headers, `.part.json` writes, requests' per-call overhead).
Nothing in client/ is edited; the replacements are undone after each run.
"""
from __future__ import annotations

import cProfile
import hashlib
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import rescale_client.transfers as ct
from rescale_client import RescaleClient

from . import transfers as bt
from .common import MiB, ServedFake

ORIGINAL = {"BLOCK": ct.BLOCK, "_save": ct.RangedDownload._save}


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    args = (argv or sys.argv[1:]) + [None, None]
    size = int(args[0] or 512) * MiB
    rounds = int(args[1] or 3)
    work = Path(tempfile.mkdtemp(prefix="rescale-prof-"))
    fake = ServedFake()
    try:
        source = work / "payload.bin"
        digest = bt.make_random_file(source, size)
        file_id = bt.upload(fake, source)["file"]["id"]
        url = fake.url(f"/api/v2/files/{file_id}/contents/")

        def client(workers: int = 8, chunk: int | None = None, block: int | None = None, save: bool = True,
                   sha: bool = True) -> Callable[[], Any]:
            def go() -> None:
                ct.BLOCK = block or ORIGINAL["BLOCK"]
                if not save:
                    ct.RangedDownload._save = lambda self: None  # type: ignore[method-assign]
                try:
                    with RescaleClient(fake.base_url, fake.api_key, progress=False) as c:
                        c.download_file(file_id, work / "client.bin", workers=workers, chunk_size=chunk,
                                        verify=sha).unlink()
                finally:
                    ct.BLOCK = ORIGINAL["BLOCK"]
                    ct.RangedDownload._save = ORIGINAL["_save"]  # type: ignore[method-assign]
            return go

        def ranged() -> None:
            bt.ranged_download(fake, url, size, digest, work / "ranged.bin", 8)  # (its sha512 is timed here too)

        random_block = os.urandom(16 * MiB)

        def in_memory_sha512() -> None:
            h = hashlib.sha512()
            for _ in range(max(1, size // len(random_block))):
                h.update(random_block)

        per = size // 8
        variants: dict[str, Callable[[], Any]] = {
            "curl -o /dev/null": lambda: bt.curl_download(fake, url, size),
            "bench ranged x8 + its sha512": ranged,
            f"client x8 as called ({ct.auto_chunk_size(size, 8) // MiB} MiB ranges, sha512)": client(),
            "client x8, no sha512": client(sha=False),
            "client x8, no sha512, no .part.json": client(sha=False, save=False),
            "client x8, no sha512, 1 MiB blocks": client(sha=False, block=MiB),
            **{f"client x8, no sha512, {c // MiB} MiB ranges, {b // 1024} KiB blocks":
               client(sha=False, chunk=c, block=b)
               for c in (1 * MiB, 16 * MiB, 32 * MiB, per) for b in (128 * 1024, MiB)},
            "client x8, sha512, 8 MiB ranges": client(chunk=8 * MiB),
            "sha512_of(file) alone (client, 128 KiB reads)": lambda: ct.sha512_of(source),
            "sha512 in memory (hashlib, one core)": in_memory_sha512,
        }
        me = os.getpid()
        bt.curl_download(fake, url, size)  # warm-up
        runs: dict[str, list[tuple[float, float, float]]] = {k: [] for k in variants}
        for round_no in range(rounds):
            for name in (list(variants) if round_no % 2 == 0 else list(reversed(variants))):
                c0, s0, t0 = cpu_seconds(me), cpu_seconds(fake.pid), time.perf_counter()
                variants[name]()
                runs[name].append((time.perf_counter() - t0, cpu_seconds(me) - c0, cpu_seconds(fake.pid) - s0))
        print(f"== {size // MiB} MiB, median of {rounds} rounds (MB/s = 10^6 B/s; CPU seconds per run)")
        for name, rs in runs.items():
            t, c, s = (statistics.median(r[i] for r in rs) for i in range(3))
            print(f"  {name:<52} {size / t / 1e6:6.0f} MB/s {t:6.2f} s   this process CPU {c:5.2f} s   "
                  f"server CPU {s:5.2f} s")

        with RescaleClient(fake.base_url, fake.api_key, progress=False) as c:
            meta = c.files.get_file(file_id=file_id)
            for chunk in (1 * MiB, 8 * MiB):
                job = ct.RangedDownload(c.files, {**meta, "id": file_id}, work / "one.bin", workers=1, chunk_size=chunk,
                                        attempts=3, progress=False, sleep=time.sleep)
                job._fresh()
                count = -(-size // chunk)
                s0 = cpu_seconds(fake.pid)
                profile = cProfile.Profile()
                started = time.perf_counter()
                profile.enable()
                for index in range(count):
                    job._fetch(index)
                profile.disable()
                seconds = time.perf_counter() - started
                server = cpu_seconds(fake.pid) - s0
                print(f"== {count} ranges of {chunk // MiB} MiB fetched one after the other in one thread: {seconds:.2f} s "
                      f"({size / seconds / 1e6:.0f} MB/s), server CPU {server:.2f} s")
                stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
                for (path, _, func), (_, calls, _, cum, _) in sorted(stats.items(), key=lambda kv: -kv[1][3]):
                    if func in ("_fetch_range", "download_file", "_save", "getproxies_environment", "_write_all",
                                "_advance") or (func == "request" and path.endswith("sessions.py")):
                        print(f"  {Path(path).name}:{func:<24} {calls:6d} calls  {cum:6.3f} s  "
                              f"{cum / calls * 1e3:7.3f} ms per call")
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(6)
                print("  top by own time:\n" + "\n".join("    " + line for line in out.getvalue().splitlines()[-8:]
                                                          if line.strip()))
                (work / "one.bin.part").unlink(missing_ok=True)
                (work / "one.bin.part.json").unlink(missing_ok=True)
    finally:
        fake.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
