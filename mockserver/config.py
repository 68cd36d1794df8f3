"""Server configuration: one object, built by the CLI, the pytest plugin or a test."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEMO_KEY = "demo-key-0123456789abcdef0123456789abcdef"


@dataclass
class Config:
    data_dir: Path | None = None  # None: a temporary folder removed on close (tests)
    # Open the data dir without taking its exclusive server lock, joining the state other processes keep in the same
    # store (workers of one server, or two apps in a test); such a backend never resets the server-wide state
    shared_store: bool = False
    database: str | None = None  # None: SQLite in the data dir; else a postgresql:// URL (store/postgres.py)
    api_keys: tuple[str, ...] = ()  # each key is an isolated tenant
    accept_any_key: bool = False  # any well-formed key becomes a tenant on first use
    validate_responses: bool = False  # test mode: every response is checked against the spec
    clock_mode: str = "scaled"
    clock_factor: float = 60.0
    date_style: str = "mixed"  # see timefmt.py
    seed: int | None = None  # ids and scenarios repeat for the same seed
    journal_size: int = 1000
    catalogs: tuple[dict, ...] = ()  # catalog overlays (data/catalog.json shape) laid over the built-in catalog
    # (`serve --catalog-from DIR`, then `--catalog FILE`s)
    catalog_files: tuple[Path, ...] = ()  # the same from YAML or JSON files (`--catalog`)
    settings: dict = field(default_factory=dict)  # server-wide behaviour settings (domain/settings.py)
    execute: str = "off"  # real runs of jobs' commands: off | on (every tenant) | opt-in (tenants that ask)
    max_json_body: int = 5 * 2**19  # bytes of a JSON request body (2.5 MiB, Django's DATA_UPLOAD_MAX_MEMORY_SIZE)
    max_tenants: int = 1000  # `accept_any_key` creates tenants only while fewer than this many exist
    max_output_bytes: int = 2 << 30  # a job's simulated outputs (`openssl rand`) in all; more is a 400 at create
    # Host names the server answers to ("*": any); loopback names by default, against DNS rebinding
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
    control_token: str | None = None  # when set, server-wide control calls must carry it (X-Rescale-Mock-Control-Token)
    ssh_authorized_keys: tuple[str, ...] = ()  # public keys that may SSH into every tenant's running jobs
    max_runs_page_size: int = 10_000  # runs/ pages: real DOE clients ask for thousands (page_size=1848)
    shared_store: bool = False  # other processes serve the same data dir (workers): no exclusive data dir lock
    # Where file contents live: None for the data dir's folder, `s3://bucket/prefix` for an S3-compatible store, or
    # another folder (shared storage); S3 endpoint and region for `s3://` (None: boto3's usual configuration)
    blobs: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    extra: dict = field(default_factory=dict)
