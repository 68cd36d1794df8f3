"""Started (as a script, without the package) in a job's fresh session: sets the job's resource limits, asks the
kernel to kill it if the server dies (so a crashed server leaves no process behind), then becomes the command.

    python -I -S launch.py '{"RLIMIT_CPU": 3600, ...}' bwrap ... bash -c COMMAND
"""
import ctypes
import json
import os
import resource
import signal
import sys

PR_SET_PDEATHSIG = 1


def main() -> None:
    limits = json.loads(sys.argv[1])
    for name, value in limits.items():
        soft = int(value)
        _, hard = resource.getrlimit(getattr(resource, name))
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(getattr(resource, name), (soft, soft))
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: a crashed server may leave the command running (the restart scan still finds it)
    os.execvp(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
