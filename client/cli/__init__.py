"""`rescale-cli`: the Rescale CLI's verbs and flags (the Java `rescale.jar`), on `rescale_client`, so that a script
written for the real CLI runs unchanged against the fake or the real platform.

    rescale-cli -X https://platform.rescale.jp/ --quiet upload -p "$KEY" -f run.sh -e
    rescale-cli submit -p "$KEY" -i run.sh -E -f "*.log"
    rescale-cli sync -p "$KEY" -j "$JOB_ID" -f "*.log"          # into rescale_job_<JOB_ID>/

Global flags go before the verb, as in the Rescale CLI's help, or after it, as real scripts put `-p`. Exit status:
0, or 33 on any error (the Rescale CLI's convention), with the error as a log line on stdout.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ..errors import APIError, Forbidden, RescaleError, TransportError, Unauthorized
from . import submit as submitting
from . import verbs
from .context import CliError, Context
from .output import Console

ERROR_EXIT = 33
VERSION = "rescale-mockkit rescale-cli 0.1.0"
# The Rescale CLI's multi-letter short flags, spelled as argparse can read them.
LONG_SPELLINGS = {"-fid": "--file-id", "-lh": "--load-hours"}


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        Console().error(f"{self.prog}: {message}")
        raise SystemExit(ERROR_EXIT)


def global_flags(parser: argparse.ArgumentParser, after_verb: bool) -> None:
    """The same flags before and after the verb; after it they only count when given (SUPPRESS)."""
    unset: dict[str, Any] = {"default": argparse.SUPPRESS} if after_verb else {}
    parser.add_argument("-X", "--api-base-url", metavar="API-BASE-URL", help="the Rescale platform url, e.g. "
                        "https://platform.rescale.com or https://platform.rescale.jp", **unset)
    parser.add_argument("-p", "--api-token", metavar="API-TOKEN", help="the API key", **unset)
    parser.add_argument("--profile", metavar="API-PROFILE", help="a profile of the apiconfig file", **unset)
    parser.add_argument("-q", "--quiet", action="store_true", help="suppress informational logging output",
                        **unset)
    parser.add_argument("--no-prompt", action="store_true", help="never prompt (always the case here)", **unset)
    parser.add_argument("--enableErrorTracking", nargs="?", const="true", help=argparse.SUPPRESS, **unset)


def filter_flags(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("-f", "--file-matcher", nargs="+", action="extend", metavar="GLOB",
                        help=f"only {what} files whose name matches (* and ?; several allowed)")
    parser.add_argument("--exclude", metavar="TERM", help="leave out files whose name contains TERM")
    parser.add_argument("-s", "--search", metavar="TERM", help="only files whose name contains TERM")


def build_parser() -> Parser:
    parser = Parser(prog="rescale-cli", description="Client app for running jobs on Rescale")
    global_flags(parser, after_verb=False)
    parser.add_argument("-v", "--version", action="version", version=VERSION)
    common = Parser(add_help=False)
    global_flags(common, after_verb=True)
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=Parser)

    def verb(name: str, run: object, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        command.set_defaults(run=run)
        return command

    upload = verb("upload", verbs.upload, "upload files to Rescale (My Library)")
    upload.add_argument("-f", "--files", nargs="+", action="extend", required=True, metavar="FILE")
    upload.add_argument("-e", "--extended-output", action="store_true", help="print the JSON document of the files")
    upload.add_argument("-d", "--directory-id", help="a folder id (not supported: refused)")

    submit = verb("submit", submitting.submit, "submit the job an input script describes (#RESCALE_* directives)")
    submit.add_argument("-i", "--input-file", required=True, metavar="SCRIPT")
    submit.add_argument("files", nargs="*", metavar="FILE", help="input files (default: the working directory's)")
    submit.add_argument("-E", "--end-to-end", action="store_true",
                        help="wait for the job, following its log, then download its outputs into output/")
    filter_flags(submit, "download (with -E)")
    submit.add_argument("-t", "--type", help=argparse.SUPPRESS)

    status = verb("status", verbs.status, "print a job's status")
    status.add_argument("-j", "--job-id", required=True)
    status.add_argument("-e", "--extended-output", action="store_true")
    status.add_argument("--load-hours", help=argparse.SUPPRESS)

    for name, run, text in (("stop", verbs.stop, "stop a job"), ("delete", verbs.delete, "delete a job")):
        verb(name, run, text).add_argument("-j", "--job-id", required=True)

    sync = verb("sync", verbs.sync, "download a job's output files (into rescale_job_<JOB_ID>/)")
    sync.add_argument("-j", "--job-id")
    sync.add_argument("-n", "--newer-than-job-id", metavar="JOB_ID",
                      help="this job and every later one, each into rescale_job_<ID>/ (under -o DIR)")
    sync.add_argument("-o", "--output", metavar="DIR", help="the directory (default: rescale_job_<JOB_ID>)")
    sync.add_argument("-d", "--sync-interval", type=seconds, default=0.0, metavar="SECONDS",
                      help="sync again every SECONDS until the job has ended")
    filter_flags(sync, "download")

    download = verb("download-file", verbs.download_file, "download one file, of a job or by id")
    download.add_argument("-j", "--job-id")
    download.add_argument("--file-id")
    download.add_argument("-f", "--file-name")
    download.add_argument("-r", "--run-id")
    download.add_argument("-o", "--output", metavar="PATH")
    download.add_argument("-e", "--extended-output", action="store_true", help="with --file-id: print its JSON")

    info = verb("list-info", verbs.list_info, "print core types (-c) or analyses (-a) as JSON")
    info.add_argument("-c", "--core-types", action="store_true")
    info.add_argument("-a", "--analyses", action="store_true")
    return parser


def describe(error: BaseException, ctx: Context) -> str:
    where = ctx.base_url or "the platform"
    if isinstance(error, Unauthorized):
        return f"authentication failed: {where} refused the API key (401 {error.detail or 'Invalid token.'})"
    if isinstance(error, Forbidden):
        return f"not allowed: {error.detail or error}"
    if isinstance(error, TransportError):
        cause = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(error))
        return f"cannot reach {where}: {cause[1].strip() if cause else error}"
    if isinstance(error, APIError):
        return str(error)
    return str(error) or type(error).__name__


def seconds(text: str) -> float:
    """A number of seconds for `-d`: finite and not negative."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    for position, word in enumerate(raw, 1):
        try:
            word.encode("utf-8")
        except UnicodeEncodeError:  # bytes the locale could not decode reach us as lone surrogates
            Console().error(f"argument {position} is not valid UTF-8 text")
            return ERROR_EXIT
    args = build_parser().parse_args([LONG_SPELLINGS.get(word, word) for word in raw])
    ctx = Context(args)
    try:
        return int(args.run(ctx, args))
    except BrokenPipeError:  # `| head`: the reader left; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ERROR_EXIT
    except (CliError, RescaleError, OSError) as error:
        ctx.console.error(describe(error, ctx))
        return ERROR_EXIT
    except KeyboardInterrupt:
        ctx.console.error("interrupted")
        return 130
    finally:
        ctx.close()
