"""The Rescale API's handlers: each module files its own in `OPERATIONS` (see call.py); this is their one table."""
from ..call import handler_table
from . import catalog, clusters, devices, files, jobs, jobs_v3, users

HANDLERS = handler_table(catalog, clusters, devices, files, jobs, jobs_v3, users)

__all__ = ["HANDLERS"]
