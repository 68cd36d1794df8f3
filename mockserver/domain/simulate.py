"""What a job's command would do, without running it: the fake reads a few shell words and plays them.

- `sleep N` takes N fake seconds (`sleep inf`: until stopped or the walltime ends it);
- `echo ...` prints its arguments;
- `openssl rand -out F [-base64|-hex] N` leaves an output file F (the notebook's 1 GB result file);
- `exit N` ends with that status (modulo 256, as a shell does; 2 for a number no shell can read);
everything else "runs" instantly and prints nothing. Commands split on `;`, `&&`, `||` and newlines.
"""
from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass, field

DEFAULT_RUN_SECONDS = 10.0
FOREVER = 1e10  # seconds (three centuries): a longer sleep is `sleep inf`, so no date ever leaves the calendar
SHLEX_MAX = 4096  # characters of one statement read with shell quoting
_NUMBER = re.compile(r"[0-9]{1,18}")  # what a shell or openssl reads as a number (64 bits); longer is an error


@dataclass(frozen=True)
class OutputSpec:
    relative_path: str
    size: int
    encoding: str  # raw | base64 | hex

    @property
    def stored_size(self) -> int:
        """Bytes of the file as written: base64 in lines of 76 characters, each with its newline, as openssl."""
        if self.encoding == "base64":
            text = 4 * -(-self.size // 3)
            return text + -(-text // 76)
        return self.size * 2 if self.encoding == "hex" else self.size


@dataclass
class Program:
    run_seconds: float = 0.0
    exit_code: int = 0
    stdout: list[str] = field(default_factory=list)
    outputs: list[OutputSpec] = field(default_factory=list)


def _duration(word: str) -> float:
    if word in ("inf", "infinity"):
        return math.inf
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", word)
    if not match:
        return 0.0
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]


def _openssl(words: list[str]) -> OutputSpec | None:
    if words[:2] != ["openssl", "rand"] or "-out" not in words:
        return None
    out = words[words.index("-out") + 1] if words.index("-out") + 1 < len(words) else None
    count = next((w for w in reversed(words) if w.isdigit()), None)
    if not out or count is None or not _NUMBER.fullmatch(count):  # openssl: "Can't parse ... as a number"
        return None
    encoding = "base64" if "-base64" in words else "hex" if "-hex" in words else "raw"
    return OutputSpec(out.lstrip("./"), int(count), encoding)


def interpret(command: str) -> Program:
    program = Program()
    slept = False
    for statement in re.split(r"\n|;|&&|\|\|", command):
        try:  # shlex's cost grows with the square of a word's length: long statements are split on blanks
            words = shlex.split(statement, comments=True) if len(statement) <= SHLEX_MAX else statement.split()
        except ValueError:
            words = statement.split()
        if not words:
            continue
        head = words[0]
        if head == "sleep" and len(words) > 1:
            program.run_seconds += sum(_duration(w) for w in words[1:])
            slept = True
        elif head == "echo":
            program.stdout.append(" ".join(w for w in words[1:] if w not in ("-n", "-e")))
        elif head == "exit":
            program.exit_code = _exit_status(words[1]) if len(words) > 1 else 0
            break
        elif (spec := _openssl(words)) is not None:
            program.outputs.append(spec)
    if not slept:
        program.run_seconds = DEFAULT_RUN_SECONDS
    if program.run_seconds > FOREVER:
        program.run_seconds = math.inf
    return program


def _exit_status(word: str) -> int:
    if _NUMBER.fullmatch(word):
        return int(word) % 256
    return 2 if word.isdigit() else 0  # bash: "exit: numeric argument required"

