"""Scale: one tenant with 100 000 jobs and 100 000 files (10 000 each with --quick), served over HTTP.

Populating that many over HTTP would take most of the run, so the store is built in this process first:
- a real lifecycle through the in-process app (test client: create, submit, clock advanced, statuses read) gives the
  template rows of a Completed job and of its `process_output.log` output file;
- a sample of jobs goes through the backend's own domain calls (`jobs.create`, `jobs.submit`, outputs written by
  `jobs.sync_outputs`: what the API does, without HTTP), timed, to show what the API path would have cost;
- the rest are inserted with direct SQL on the backend's Database (executemany, one transaction): the template rows
  with new ids, names and dates, one output file per job, each with a blob file of its own in blobs/.
A second tenant with 100 jobs and files is the small-store baseline. The data dir is then served by
`rescale-mock serve --data-dir D --api-key K --clock-mode manual`, and every read below goes over loopback through
one keep-alive http.client connection, the kinds interleaved, median and p95 per kind.
"""
from __future__ import annotations

import http.client
import json
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rescale_mock import create_app
from rescale_mock.config import Config
from rescale_mock.testing import ServedProcess

from .common import Goal, Result, Settings, current_rss, fmt, log, mib, peak_rss, reset_peak_rss, server_pid
from .lifecycle import p95
from .profile_request import JOB, KEY

SMALL_KEY = "bench-small-0123456789abcdef0123456789abcd"
FULL_COUNT, QUICK_COUNT, SMALL_COUNT = 100_000, 10_000, 100
PAGE_SIZE = 10  # v2 default
# The query Jobs.sync_outputs (mockserver/domain/jobs.py) runs before every file listing, copied to time it alone.
SYNC_OUTPUTS_SQL = ("SELECT id FROM jobs WHERE tenant_id = ? AND json_extract(state, '$.submitted') IS NOT NULL "
                    "AND json_extract(state, '$.outputsWritten') IS NULL")


def _unique_ids(backend: Any, n: int, taken: set[str]) -> list[str]:
    ids: list[str] = []
    while len(ids) < n:
        new = backend.ids.new()
        if new not in taken:
            taken.add(new)
            ids.append(new)
    return ids


def _bulk(backend: Any, tenant_id: str, job_row: dict[str, Any], file_row: dict[str, Any], n: int,
          taken: set[str], blob_bytes: bytes, name_prefix: str) -> None:
    """n Completed jobs, each with its process_output.log, copied from the template rows."""
    doc = json.loads(job_row["doc"])
    state = json.loads(job_row["state"])
    job_ids = _unique_ids(backend, n, taken)
    file_ids = _unique_ids(backend, n, taken)
    storage = f"user/user_{tenant_id}"
    jobs, files = [], []
    blobs = backend.blobs.root
    for i, (job_id, file_id) in enumerate(zip(job_ids, file_ids)):
        shift = (i + 1) * 1e-3  # newer rows, later dates; all within the clock's hour, so all Completed
        doc["name"] = f"{name_prefix} {i}"
        jobs.append((job_id, tenant_id, json.dumps(doc), json.dumps(
            {**state, "dateInserted": state["dateInserted"] + shift, "submitted": state["submitted"] + shift})))
        blob = uuid.uuid4().hex
        with open(blobs / blob, "wb") as fh:  # not fsynced (the API path fsyncs every blob)
            fh.write(blob_bytes)
        files.append((file_id, tenant_id, file_row["name"], file_row["type_id"], file_row["relative_path"],
                      f"{storage}/output/job_{job_id}/run1/process_output.log", file_row["size"], file_row["md5"],
                      file_row["sha512"], file_row["encryption_key"], file_row["date_uploaded"] + shift, blob,
                      job_id, "1"))
    with backend.db.transaction() as conn:
        conn.executemany("INSERT INTO jobs (id, tenant_id, doc, state) VALUES (?, ?, ?, ?)", jobs)
        conn.executemany(
            "INSERT INTO files (id, tenant_id, name, type_id, relative_path, path, size, md5, sha512, "
            "encryption_key, date_uploaded, blob, job_id, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            files)


def populate(data_dir: Path, count: int, sample: int) -> dict[str, Any]:
    info: dict[str, Any] = {}
    app = create_app(Config(data_dir=data_dir, clock_mode="manual", api_keys=(KEY, SMALL_KEY)))
    backend = app.extensions["rescale_mock"]
    try:
        client = app.test_client()
        headers = {"Authorization": f"Token {KEY}"}
        template_id = client.post("/api/v2/jobs/", json=JOB, headers=headers).get_json()["id"]
        client.post(f"/api/v2/jobs/{template_id}/submit/", headers=headers)
        for key in (KEY, SMALL_KEY):
            client.post("/_fake/clock/advance/", json={"seconds": 3600}, headers={"Authorization": f"Token {key}"})
        assert client.get(f"/api/v2/jobs/{template_id}/statuses/", headers=headers).get_json()["results"][0][
            "status"] == "Completed"
        client.get(f"/api/v2/jobs/{template_id}/files/", headers=headers)  # settles it: outputs, final status
        job_row = dict(backend.db.one("SELECT * FROM jobs WHERE id = ?", (template_id,)))
        file_row = dict(backend.db.one("SELECT * FROM files WHERE job_id = ?", (template_id,)))
        blob_bytes = backend.blobs.path(file_row["blob"]).read_bytes()
        tenant = backend.tenants.by_key(KEY)
        small = backend.tenants.by_key(SMALL_KEY)

        # the API path, without HTTP: create + submit, then outputs written (blob + fsync + row) when listed
        started = time.perf_counter()
        body = {**JOB, "name": "sample"}
        for _ in range(sample):
            snap = backend.jobs.create(tenant, body)
            backend.jobs.submit(tenant, snap.id)
        created = time.perf_counter()
        backend.tenants.update_clock(tenant, lambda clock, real: clock.advance(600, real))
        backend.jobs.sync_outputs(tenant)
        done = time.perf_counter()
        info["apiPath"] = {"jobs": sample, "createSubmitSeconds": created - started,
                           "outputsSeconds": done - created, "perJobMs": (done - started) / sample * 1000}

        taken = {r["id"] for r in backend.db.query("SELECT id FROM jobs")} | {
            r["id"] for r in backend.db.query("SELECT id FROM files")}
        started = time.perf_counter()
        _bulk(backend, tenant.id, job_row, file_row, count - sample - 1, taken, blob_bytes, "bulk")
        _bulk(backend, small.id, job_row, file_row, SMALL_COUNT, taken, blob_bytes, "small")
        info["bulkSeconds"] = time.perf_counter() - started
        info["jobs"] = backend.db.one("SELECT COUNT(*) FROM jobs WHERE tenant_id = ?", (tenant.id,))[0]
        info["files"] = backend.db.one("SELECT COUNT(*) FROM files WHERE tenant_id = ?", (tenant.id,))[0]
        backend.db.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        backend.close()
    return info


def store_size(data_dir: Path) -> dict[str, Any]:
    db = sum(p.stat().st_size for p in data_dir.glob("rescale-mock.sqlite3*"))
    blobs = list((data_dir / "blobs").iterdir())
    stats = [p.stat() for p in blobs]
    return {"dbBytes": db, "blobCount": len(blobs), "blobBytes": sum(s.st_size for s in stats),
            "blobAllocatedBytes": sum(s.st_blocks * 512 for s in stats)}


class Reader:
    """One keep-alive connection; returns (status, milliseconds, body)."""

    def __init__(self, base_url: str, key: str) -> None:
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=300)
        self.headers = {"Authorization": f"Token {key}"}

    def get(self, path: str) -> tuple[int, float, bytes]:
        started = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        return response.status, (time.perf_counter() - started) * 1000, body

    def close(self) -> None:
        self.conn.close()


SWEEP_RUNS, SWEEP_SLOTS, SWEEP_PAGE = 3696, 1500, 1848  # Rescale's DOE example (rescale-api-v3-and-catalog.md)


def sweep_timings(base_url: str, key: str, repeats: int) -> dict[str, Any]:
    """The DOE example's sweep in the big tenant: created (CSV + template read), submitted, the clock moved into
    its second wave, then a page of 1,848 runs and a run's files read, median of `repeats` each."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {key}"

    def upload(name: str, data: bytes, type_id: int) -> str:
        response = session.post(f"{base_url}/api/v2/files/contents/", files={"file": (name, data), "typeId": type_id})
        response.raise_for_status()
        return str(response.json()["id"])

    csv = b"x_velocity,y_velocity\n" + b"".join(b"%d.%02d,%d\n" % (n // 100, n % 100, n % 7) for n in range(SWEEP_RUNS))
    template = upload("U.inp_template", b'internalField uniform (${x_velocity?string("0.00")} ${y_velocity} 0);\n', 2)
    params = upload("openfoam.csv", csv, 3)
    body = {**JOB, "name": "sweep", "paramFile": {"id": params}, "jobanalyses": [{
        **JOB["jobanalyses"][0], "command": "cd airfoil2D_DOE; sleep 600",
        "hardware": {"coreType": "emerald", "coresPerSlot": 1, "slots": SWEEP_SLOTS},
        "templateTasks": [{"templateFile": {"id": template}, "processedFilename": "airfoil2D_DOE/0/U"}]}]}
    started = time.perf_counter()
    created = session.post(f"{base_url}/api/v2/jobs/", json=body)
    create_ms = (time.perf_counter() - started) * 1000
    created.raise_for_status()
    job_id = created.json()["id"]
    session.post(f"{base_url}/api/v2/jobs/{job_id}/submit/").raise_for_status()
    session.post(f"{base_url}/_fake/clock/advance/", json={"seconds": 45 + 600 + 300}).raise_for_status()

    def timed(path: str) -> tuple[float, Any]:
        began = time.perf_counter()
        response = session.get(f"{base_url}{path}")
        response.raise_for_status()
        return (time.perf_counter() - began) * 1000, response.json()

    first_files_ms, _ = timed(f"/api/v2/jobs/{job_id}/runs/1000/files/")  # writes that run's files
    pages, files, page = [], [], None
    for index in range(repeats):
        took, page = timed(f"/api/v2/jobs/{job_id}/runs/?page_size={SWEEP_PAGE}")
        pages.append(took)
        files.append(timed(f"/api/v2/jobs/{job_id}/runs/{1 + index % 1500}/files/")[0])
    results = page["results"] if page else []
    return {"createMs": create_ms, "pageMs": statistics.median(pages), "pageP95Ms": p95(pages) or 0.0,
            "runFilesFirstMs": first_files_ms, "runFilesMs": statistics.median(files),
            "count": page["count"] if page else 0, "pageRuns": len(results),
            "completed": sum(r["dateCompleted"] is not None for r in results),
            "running": sum(r["dateStarted"] is not None and r["dateCompleted"] is None for r in results)}


def run(settings: Settings) -> Result:
    count = QUICK_COUNT if settings.quick else FULL_COUNT
    repeats = 25 if settings.quick else 60
    sample = 200 if settings.quick else 500
    result = Result("scale", f"scale: {count:,} jobs and {count:,} files in one tenant, served over HTTP"
                             + (" (--quick)" if settings.quick else ""))
    data: dict[str, Any] = {"count": count, "repeats": repeats}
    result.data = data
    data_dir = Path(tempfile.mkdtemp(prefix="rescale-bench-scale-"))
    process = None
    try:
        log(f"populating {count:,} jobs + {count:,} files ({sample} through the backend's domain calls, the rest "
            "by SQL)")
        started = time.perf_counter()
        data["populate"] = populate(data_dir, count, sample)
        data["populate"]["seconds"] = time.perf_counter() - started
        data["store"] = store_size(data_dir)

        log("serving the data dir")
        started = time.perf_counter()
        process = ServedProcess(data_dir, (KEY, SMALL_KEY), "--clock-mode", "manual")
        data["startSeconds"] = time.perf_counter() - started
        pid = server_pid(process.process.pid)
        data["serverRssIdle"] = current_rss(pid)
        big, little = Reader(process.base_url, KEY), Reader(process.base_url, SMALL_KEY)
        conn = sqlite3.connect(data_dir / "rescale-mock.sqlite3")
        tenant_id = conn.execute("SELECT tenant_id FROM jobs ORDER BY seq LIMIT 1").fetchone()[0]
        job_ids = [r[0] for r in conn.execute("SELECT id FROM jobs WHERE tenant_id = ?", (tenant_id,))]
        small_ids = [r[0] for r in conn.execute("SELECT id FROM jobs WHERE tenant_id != ?", (tenant_id,))]
        def query_ms(sql: str, args: tuple[Any, ...]) -> float:
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                conn.execute(sql, args).fetchall()
                timings.append((time.perf_counter() - started) * 1000)
            return statistics.median(timings)

        data["syncOutputsQueryMs"] = query_ms(SYNC_OUTPUTS_SQL, (tenant_id,))
        # what Jobs.page runs for an unfiltered list: a COUNT over the tenant's index entries, then LIMIT/OFFSET
        data["countQueryMs"] = query_ms("SELECT COUNT(*) FROM jobs WHERE tenant_id = ?", (tenant_id,))
        data["offsetQueryMs"] = query_ms("SELECT id FROM jobs WHERE tenant_id = ? ORDER BY seq DESC LIMIT ? OFFSET ?",
                                         (tenant_id, PAGE_SIZE, 999 * PAGE_SIZE))
        data["syncOutputsPlan"] = [tuple(r) for r in conn.execute("EXPLAIN QUERY PLAN " + SYNC_OUTPUTS_SQL, ("x",))]
        conn.close()
        rng = random.Random(7)
        last = -(-count // PAGE_SIZE)
        kinds: dict[str, tuple[Reader, Any]] = {
            "jobs, page 1": (big, lambda: "/api/v2/jobs/"),
            "jobs, page 1000": (big, lambda: "/api/v2/jobs/?page=1000"),
            f"jobs, last page ({last})": (big, lambda: f"/api/v2/jobs/?page={last}"),
            "files, page 1": (big, lambda: "/api/v2/files/"),
            "files, page 1000": (big, lambda: "/api/v2/files/?page=1000"),
            "job read (random job)": (big, lambda: f"/api/v2/jobs/{rng.choice(job_ids)}/"),
            "status read (random job)": (big, lambda: f"/api/v2/jobs/{rng.choice(job_ids)}/statuses/"),
            "job's outputs (random job)": (big, lambda: f"/api/v2/jobs/{rng.choice(job_ids)}/files/"),
            "small tenant: jobs, page 1": (little, lambda: "/api/v2/jobs/"),
            "small tenant: files, page 1": (little, lambda: "/api/v2/files/"),
            "small tenant: status read": (little, lambda: f"/api/v2/jobs/{rng.choice(small_ids)}/statuses/"),
        }
        times: dict[str, list[float]] = {k: [] for k in kinds}
        bad: dict[str, list[str]] = {}
        for kind, (reader, path) in kinds.items():  # warm-up: one each
            reader.get(path())
        log(f"reading: {len(kinds)} kinds x {repeats}, interleaved")
        for _ in range(repeats):
            for kind, (reader, path) in kinds.items():
                target = path()
                status, took, body = reader.get(target)
                times[kind].append(took)
                if status != 200:
                    bad.setdefault(kind, []).append(f"{target}: {status} {body[:100]!r}")
        data["serverRssAfterReads"] = current_rss(pid)
        data["serverPeakRssReads"] = peak_rss(pid)
        can_reset = reset_peak_rss(pid)
        log("one filtered listing: /api/v2/jobs/?job_status=COMPLETED (settled jobs answer from their final status)")
        status, took, body = big.get("/api/v2/jobs/?job_status=COMPLETED")
        data["filtered"] = {"status": status, "ms": took, "count": json.loads(body).get("count") if status == 200 else None,
                            "serverPeakRss": peak_rss(pid) if can_reset else None}
        big.close()
        little.close()
        log(f"a sweep of {SWEEP_RUNS:,} runs on {SWEEP_SLOTS:,} slots: create, pages of {SWEEP_PAGE:,} runs, run files")
        data["sweep"] = sweep_timings(process.base_url, KEY, 10 if settings.quick else 25)
        data["serverRssAfter"] = current_rss(pid)
        data["serverPeakRss"] = peak_rss(pid)
        data["serverLog"] = [line.rstrip() for line in process.output if "WARNING" in line or "ERROR" in line][-10:]
    finally:
        if process is not None:
            process.close()
        shutil.rmtree(data_dir, ignore_errors=True)

    stats = {k: {"medianMs": statistics.median(v), "p95Ms": p95(v) or 0.0} for k, v in times.items() if v}
    data["readsMs"] = stats
    data["bad"] = bad
    pop, store = data["populate"], data["store"]
    api = pop["apiPath"]

    result.section("populating (in this process, before serving)")
    result.row("through the domain calls", f"{api['perJobMs']:.1f} ms/job",
               f"{api['jobs']} jobs: create + submit {api['createSubmitSeconds']:.1f} s, outputs written "
               f"{api['outputsSeconds']:.1f} s (blob + fsync each); {count:,} this way: "
               f"~{api['perJobMs'] * count / 1000:.0f} s (over HTTP: see lifecycle)")
    result.row("the rest by SQL", f"{pop['bulkSeconds']:.1f} s", f"{count - api['jobs'] - 1:,} jobs + files + blobs")
    result.row("in the big tenant", f"{pop['jobs']:,} jobs", f"{pop['files']:,} files")
    result.section("store on disk")
    result.row("SQLite (db + wal)", mib(store["dbBytes"]), f"{store['dbBytes'] / max(1, 2 * count + 2 * SMALL_COUNT):.0f} B per row")
    result.row("blobs/", mib(store["blobAllocatedBytes"]),
               f"{store['blobCount']:,} files, {mib(store['blobBytes'])} of content (a 4 KiB block each)")
    result.section("server")
    result.row("start on this data dir", f"{data['startSeconds']:.2f} s", "to `ready:`")
    result.row("RSS idle / after the paged reads", f"{mib(data['serverRssIdle'])} / {mib(data['serverRssAfterReads'])}",
               f"peak {mib(data['serverPeakRssReads'])}")
    result.row("RSS after the filtered listing", mib(data["serverRssAfter"]),
               f"peak during it {mib(data['filtered']['serverPeakRss'])}")
    result.section(f"reads over HTTP, ms (median / p95 of {repeats})")
    for kind, s in stats.items():
        result.row(kind, f"{s['medianMs']:.1f} / {s['p95Ms']:.1f}",
                   f"{len(bad[kind])} non-200" if kind in bad else "")
    filt = data["filtered"]
    result.row("jobs?job_status=COMPLETED (once)", f"{filt['ms']:.0f}",
               f"HTTP {filt['status']}, count {filt['count']}: one row per job read, finished ones by their final status")
    result.row("sync_outputs query alone (sqlite3)", f"{data['syncOutputsQueryMs']:.1f}",
               "run before every file listing; plan: " + "; ".join(str(p[-1]) for p in data["syncOutputsPlan"]))
    result.row("jobs COUNT(*) alone (sqlite3)", f"{data['countQueryMs']:.1f}",
               f"run for every job list page; page 1000's LIMIT/OFFSET alone {data['offsetQueryMs']:.1f}")
    sweep = data["sweep"]
    result.section(f"a parameter sweep: {SWEEP_RUNS:,} runs on {SWEEP_SLOTS:,} slots (Rescale's DOE example)")
    result.row("create (CSV + template read and checked)", f"{sweep['createMs']:.0f} ms")
    result.row(f"a page of {SWEEP_PAGE:,} runs, median / p95", f"{sweep['pageMs']:.0f} / {sweep['pageP95Ms']:.0f} ms",
               f"count {sweep['count']:,}; on the page {sweep['completed']:,} completed, {sweep['running']:,} running")
    result.row("a run's files: first read (writes them) / later reads", f"{sweep['runFilesFirstMs']:.1f} / "
               f"{sweep['runFilesMs']:.1f} ms")
    result.section("ratios")

    def r(a: str, b: str) -> float | None:
        return stats[a]["medianMs"] / stats[b]["medianMs"] if a in stats and b in stats else None

    result.row("jobs page 1000 / page 1", fmt(r("jobs, page 1000", "jobs, page 1"), 2, "x"))
    result.row("files page 1000 / page 1", fmt(r("files, page 1000", "files, page 1"), 2, "x"))
    result.row("jobs page 1 / small tenant's", fmt(r("jobs, page 1", "small tenant: jobs, page 1"), 2, "x"))
    result.row("files page 1 / small tenant's", fmt(r("files, page 1", "small tenant: files, page 1"), 2, "x"))
    result.row("status read / small tenant's", fmt(r("status read (random job)", "small tenant: status read"), 2, "x"))

    def ms(kind: str) -> str:
        return f"{stats[kind]['medianMs']:.1f}" if kind in stats else "n/a"

    result.headline_row(f"{count:,} jobs: list page 1 / page 1000, ms", f"{ms('jobs, page 1')} / {ms('jobs, page 1000')}")
    result.headline_row(f"{count:,} files: list page 1 / page 1000, ms (small tenant page 1)",
                        f"{ms('files, page 1')} / {ms('files, page 1000')} ({ms('small tenant: files, page 1')})")
    result.headline_row("status read / job read of a random job, ms",
                        f"{ms('status read (random job)')} / {ms('job read (random job)')}")
    result.headline_row("jobs?job_status=COMPLETED (one request), ms", f"{filt['ms']:.0f}")
    result.headline_row(f"sweep of {SWEEP_RUNS:,} runs: create / page of {SWEEP_PAGE:,} runs / a run's files, ms",
                        f"{sweep['createMs']:.0f} / {sweep['pageMs']:.0f} / {sweep['runFilesMs']:.1f}")
    result.headline_row("store on disk: SQLite + blobs", f"{mib(store['dbBytes'])} + {mib(store['blobAllocatedBytes'])}")
    result.headline_row("server RSS: idle / after paged reads / after the filtered listing",
                        f"{mib(data['serverRssIdle'])} / {mib(data['serverRssAfterReads'])} / {mib(data['serverRssAfter'])}")
    ok = not bad and filt["status"] == 200
    scope = "" if count >= FULL_COUNT else f" [measured at {count:,} (--quick); run without --quick for 100 000]"
    result.goals.append(Goal(
        "100 000 jobs and 100 000 files in one tenant: every read answers, costs reported",
        "PASS" if ok else "GAP",
        (f"page 1000 of jobs {stats['jobs, page 1000']['medianMs']:.1f} ms vs page 1 "
         f"{stats['jobs, page 1']['medianMs']:.1f} ms; files page 1 {stats['files, page 1']['medianMs']:.1f} ms vs "
         f"{stats['small tenant: files, page 1']['medianMs']:.1f} ms in a small tenant; status read "
         f"{stats['status read (random job)']['medianMs']:.1f} ms; store {mib(store['dbBytes'] + store['blobAllocatedBytes'])}"
         f", server RSS {mib(data['serverRssAfterReads'])} after paged reads, {mib(data['serverRssAfter'])} after "
         f"a filtered listing" if ok else "failed: " + "; ".join(
             f"{k}: {v[0]}" for k, v in bad.items())) + scope))
    files_ratio = r("files, page 1", "small tenant: files, page 1")
    if files_ratio and files_ratio > 3:
        result.notes.append(
            f"listing files costs {files_ratio:.0f}x more in the big tenant even on page 1: every file listing first "
            "runs Jobs.sync_outputs (mockserver/domain/jobs.py), a json_extract scan over all of the tenant's jobs "
            f"looking for finished jobs without outputs ({data['syncOutputsQueryMs']:.1f} ms by itself here)")
    jobs_ratio = r("jobs, page 1", "small tenant: jobs, page 1")
    if jobs_ratio and jobs_ratio > 2:
        result.notes.append(
            f"a job list page costs {jobs_ratio:.1f}x more in the big tenant, whatever the page: Jobs.page counts the "
            f"tenant's jobs on every call (COUNT(*) {data['countQueryMs']:.1f} ms by itself here); the OFFSET is cheap")
    filt_peak = data["filtered"].get("serverPeakRss")
    if filt_peak:
        result.notes.append(
            f"a filtered job list (?job_status= or ?state=) reads the final status a finished job records when first "
            f"read (the bulk rows copy the template's) and computes the others' (Jobs.page): {filt['ms'] / 1000:.2f} s "
            f"and a server peak of {mib(filt_peak)} for {count:,} jobs")
    if data["serverLog"]:
        result.notes.append(f"server log: {data['serverLog'][-1][:200]}")
    return result
