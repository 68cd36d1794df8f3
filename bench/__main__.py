"""`python -m bench [--quick]`: run every benchmark, print its table and goals, write bench/results/<name>.json,
then a summary of all of them: printed, and written as bench/results/summary.json and bench/results/summary.md (the
table for the README, with the machine it ran on); with --only, as summary-partial.json/.md instead.

A benchmark is a function `run(settings) -> Result`; add new ones to BENCHMARKS. A benchmark that crashes is
reported as a GAP with its error; the run itself never fails on a result.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from dataclasses import asdict
from typing import Callable

from . import lifecycle, requests_bench, scale, transfers
from .common import (QUICK_SIZE, FULL_SIZE, MiB, RESULTS_DIR, Goal, Result, Settings, environment, log, machine,
                     print_result, public, write_json)
from .servers import loadavg, prism_version

# requests first: it is the most sensitive to what else the machine is doing (the others write gigabytes to disk)
BENCHMARKS: list[tuple[str, Callable[[Settings], Result]]] = [
    ("requests", requests_bench.run),
    ("lifecycle", lifecycle.run),
    ("scale", scale.run),
    ("transfers", transfers.run),
]
QUICK_BUDGET_SECONDS = 120


def _crashed(name: str, err: BaseException) -> Result:
    result = Result(name, f"{name}: did not complete")
    result.goals.append(Goal(f"{name} benchmark runs", "GAP", f"{type(err).__name__}: {str(err)[:300]}"))
    result.notes.append(" | ".join(traceback.format_exception(err)[-3:]).replace("\n", " ")[:600])
    return result


def _machine_line(info: dict, quick: bool, when: str, load: list[float] | None) -> str:
    tools = [f"Python {info['python']}"]
    if info.get("node"):
        tools.append(f"node {info['node']}")
    if prism_version():
        tools.append(f"Prism {prism_version()}")
    if info.get("wrk"):
        tools.append(info["wrk"].replace("wrk debian/", "wrk "))
    return (f"`make bench{'-quick' if quick else ''}` on {when}: {info['cpu']}, {info['cpus']} cores, "
            f"{info['memoryGiB']} GiB RAM, {info['os']} (Linux {info['kernel']}), {', '.join(tools)}, loopback"
            + (f"; load average {load[0]:.2f} at the start" if load else ""))


def summarize(results: list[Result], settings: Settings, seconds: float, load: list[float] | None,
              stem: str = "summary") -> None:
    info = machine()
    when = time.strftime("%Y-%m-%d")
    line = _machine_line(info, settings.quick, when, load)
    rows = [(r.name, *h) for r in results for h in r.headline]
    goals = [(r.name, g) for r in results for g in r.goals]

    print("\n== summary ==")
    print(f"  {line}")
    width = max([len(f"{n}: {m}") for n, m, _, _ in rows] + [10])
    for name, measure, value, target in rows:
        print(f"  {name + ': ' + measure:<{width}}  {value}" + (f"  [{target}]" if target else ""))
    print("-- goals")
    for name, goal in goals:
        print(f"  [{goal.status}] {name}: {goal.text}\n         {goal.detail}")
    print(f"  total {seconds:.0f} s")

    md = [f"Latest results ({line}):", "", "| benchmark | measure | result | goal |", "|---|---|---|---|"]
    md += [f"| {n} | {m} | {v} | {target} |" for n, m, v, target in rows]
    md += [""] + [f"- **{g.status}** {n}: {g.text} — {g.brief or g.detail}" for n, g in goals]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{stem}.md").write_text("\n".join(md) + "\n")
    payload = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "settings": public(settings), "seconds": seconds,
               "machine": info, "machineLine": line, "environment": environment(), "loadavgStart": load,
               "rows": [list(r) for r in rows], "goals": [{"benchmark": n, **asdict(g)} for n, g in goals]}
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    log(f"summary in {RESULTS_DIR / f'{stem}.json'}; README table in {RESULTS_DIR / f'{stem}.md'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes ({QUICK_SIZE // MiB} MiB instead of {FULL_SIZE // MiB} MiB, 10 000 jobs "
                             "instead of 100 000, shorter load runs)")
    parser.add_argument("--rounds", type=int, default=None, help="side-by-side repetitions (default 3)")
    parser.add_argument("--size-mib", type=int, default=None, help="override the transfer size")
    parser.add_argument("--database", metavar="URL", default=None,
                        help="also measure the engine benchmarks (requests, scale) on this PostgreSQL database "
                             "(postgresql://...), beside SQLite")
    parser.add_argument("--only", action="append", choices=[name for name, _ in BENCHMARKS],
                        help="run only this benchmark (repeatable)")
    args = parser.parse_args(argv)
    settings = Settings.make(args.quick, args.rounds, args.size_mib, args.database)
    load = loadavg()
    started_all = time.perf_counter()
    results: list[Result] = []
    for name, bench in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        try:
            result = bench(settings)
        except Exception as err:  # noqa: BLE001 - a broken benchmark is a GAP, not a failed run
            log(f"{name} failed: {type(err).__name__}: {err}")
            result = _crashed(name, err)
        print_result(result)
        path = write_json(result, settings)
        results.append(result)
        log(f"{name} took {time.perf_counter() - started:.0f} s; results in {path}")
    seconds = time.perf_counter() - started_all
    if settings.quick and not args.only:
        meta = Result("run", "the run itself")
        within = seconds < QUICK_BUDGET_SECONDS
        detail = f"{seconds:.0f} s for the benchmarks (plus the venv check `make` does)"
        if not within and load:
            detail += f"; the machine's load average was {load[0]:.2f} at the start"
        meta.goals.append(Goal(f"`make bench-quick` finishes in under {QUICK_BUDGET_SECONDS // 60} minutes",
                               "PASS" if within else "GAP", detail))
        results.append(meta)
    # a partial run (--only) never replaces the summary of a whole one
    summarize(results, settings, seconds, load, "summary-partial" if args.only else "summary")
    return 0


if __name__ == "__main__":
    sys.exit(main())
