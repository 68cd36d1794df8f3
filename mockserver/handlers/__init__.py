"""Importing the handler modules registers them (see registry.py)."""
from . import catalog, clusters, devices, files, jobs, jobs_v3, users  # noqa: F401
from .registry import HANDLERS

__all__ = ["HANDLERS"]
