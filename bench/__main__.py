"""`python -m bench [--quick]`: run every benchmark, print its table and goals, write bench/results/<name>.json.

A benchmark is a function `run(settings) -> Result`; add new ones to BENCHMARKS.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Callable

from . import transfers
from .common import QUICK_SIZE, FULL_SIZE, MiB, Result, Settings, log, print_result, write_json

BENCHMARKS: list[tuple[str, Callable[[Settings], Result]]] = [
    ("transfers", transfers.run),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes ({QUICK_SIZE // MiB} MiB instead of {FULL_SIZE // MiB} MiB)")
    parser.add_argument("--rounds", type=int, default=None, help="side-by-side repetitions (default 3)")
    parser.add_argument("--size-mib", type=int, default=None, help="override the transfer size")
    parser.add_argument("--only", action="append", choices=[name for name, _ in BENCHMARKS],
                        help="run only this benchmark (repeatable)")
    args = parser.parse_args(argv)
    settings = Settings.make(args.quick, args.rounds, args.size_mib)
    for name, bench in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        result = bench(settings)
        print_result(result)
        path = write_json(result, settings)
        log(f"{name} took {time.perf_counter() - started:.0f} s; results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
