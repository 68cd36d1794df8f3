"""Real runs (`rescale-mock serve --execute`): a supervisor thread that starts jobs' commands in work directories
of their own, watches them and records what happened (`store/runs.py`); statuses stay computed at read time."""
