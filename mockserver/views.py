"""Read-only views of domain records for the spec-driven serializer: one attribute per response key (snake_case).

They hold what a response needs beyond the record itself: the tenant, the server's own URL, the date style. Every
handler's response object is one of these, a domain record, or a page or stored document passed through as a
dict; serialize.py picks the keys the schema names, and a key the schema requires that a view lacks is an error
(serialize.ShapeError), never a silent null.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from .domain.files import FileRecord
from .domain.jobspec import UNKNOWN_CORE_TYPE, core_summary
from .domain.tenants import Tenant
from .serialize import DictView
from .timefmt import iso

if TYPE_CHECKING:
    from .call import Call

TEXT_SUFFIXES = (".log", ".txt", ".out", ".err", ".inp", ".py", ".sh", ".csv", ".json", ".jou", ".res")


@dataclass(frozen=True)
class Context:
    tenant: Tenant
    host: Callable[[], str]  # the server's own URL, e.g. "http://127.0.0.1:8123/", worked out only when a view needs it
    date_style: str
    storage: dict[str, Any]
    shared_with: Callable[..., list[str]] = lambda *ids: []  # recipients of a job or file (and the file's job)

    @property
    def host_url(self) -> str:
        return self.host()


@dataclass(frozen=True)
class FileView:
    record: FileRecord
    ctx: Context

    def __getattr__(self, name: str) -> Any:
        return getattr(self.record, name)

    owner = property(lambda self: self.ctx.tenant.email)
    date_uploaded = property(lambda self: iso(self.record.date_uploaded, "uploaded", self.ctx.date_style))
    decrypted_size = property(lambda self: self.record.size)
    is_uploaded = property(lambda self: True)
    is_deleted = property(lambda self: False)
    view_in_browser = property(lambda self: self.record.name.lower().endswith(TEXT_SUFFIXES))
    shared_with = property(lambda self: self.ctx.shared_with(self.record.id, self.record.job_id))
    encoded_encryption_key = property(lambda self: self.record.encryption_key)
    download_url = property(lambda self: f"{self.ctx.host_url}api/v2/files/{self.record.id}/contents/")
    file_checksums = property(lambda self: [{"hashFunction": "sha512", "fileHash": self.record.sha512}])
    storage = property(lambda self: self.ctx.storage)
    path_parts = property(
        lambda self: {"container": self.ctx.storage["connectionSettings"].get("container", ""), "path": self.record.path}
    )


RESOURCE_FILTERS = [
    {"caseSensitive": False, "include": True, "filterType": kind, "selector": kind}
    for kind in ("Analysis generated files", "Completed templates", "Input files")
]


@dataclass(frozen=True)
class JobContext:
    ctx: Context
    version: str  # v2 | v3: v3 writes coreType as {"code": ...}
    core_type: Callable[[str], dict[str, Any] | None]
    output_bytes: Callable[[Any], int]  # a job's (snapshot's) output size, for list items
    v2_core_type: str = "string"  # string | object: how v2 job reads write hardware.coreType


class HardwareView(DictView):
    def __init__(self, raw: dict[str, Any], jc: JobContext) -> None:
        super().__init__(raw)
        self.jc = jc

    @property
    def core_type(self) -> Any:
        code = self._raw["coreType"]
        if self.jc.version == "v3":
            return {"code": code}
        if self.jc.v2_core_type == "object":
            known = self.jc.core_type(code) or {}
            return {"code": code, "name": known.get("name", code), "compute": known.get("compute")}
        return code

    type = property(lambda self: self._raw.get("type", "compute"))
    is_reusable = property(lambda self: self._raw.get("isReusable", False))

    @property
    def core_summary(self) -> dict[str, int]:
        return core_summary(self._raw, self.jc.core_type(self._raw["coreType"]) or UNKNOWN_CORE_TYPE)


class JobAnalysisView(DictView):
    def __init__(self, raw: dict[str, Any], jc: JobContext) -> None:
        super().__init__(raw)
        self.jc = jc

    pre_process_script = property(lambda self: _file_or_none(self._raw.get("preProcessScript"), self.jc.ctx))
    post_process_script = property(lambda self: _file_or_none(self._raw.get("postProcessScript"), self.jc.ctx))
    hardware = property(lambda self: HardwareView(self._raw["hardware"], self.jc))

    @property
    def input_files(self) -> list[FileView]:
        return [FileView(FileRecord(**ref["file"]), self.jc.ctx) for ref in self._raw["inputFiles"]]

    @property
    def template_tasks(self) -> list[dict[str, Any]]:
        return [{"processedFilename": task["processedFilename"],
                 "templateFile": FileView(FileRecord(**task["templateFile"]), self.jc.ctx)}
                for task in self._raw.get("templateTasks") or []]


def _file_or_none(record: dict[str, Any] | None, ctx: Context) -> FileView | None:
    return FileView(FileRecord(**record), ctx) if record else None


class JobView(DictView):
    """A saved job (the `Job`/`JobV3` schemas)."""

    def __init__(self, snap: Any, jc: JobContext) -> None:
        super().__init__(snap.doc)
        self.snap, self.jc = snap, jc

    id = property(lambda self: self.snap.id)
    owner = property(lambda self: self.jc.ctx.tenant.email)
    date_inserted = property(lambda self: iso(self.snap.record.state["dateInserted"], "inserted", self.jc.ctx.date_style))
    is_template_dry_run = property(lambda self: self._raw.get("isTemplateDryRun", False))
    auto_terminate_cluster = property(lambda self: self._raw.get("autoTerminateCluster", True))
    input_file_parse_task = property(lambda self: self._raw.get("inputFileParseTask", ""))
    include_nominal_run = property(lambda self: self._raw.get("includeNominalRun", False))
    monte_carlo_iterations = property(lambda self: self._raw.get("monteCarloIterations"))
    expected_runs = property(lambda self: self._raw.get("expectedRuns", 1))
    param_file = property(lambda self: _file_or_none(self._raw.get("paramFile"), self.jc.ctx))
    jobvariables = property(lambda self: self._raw.get("jobvariables") or [])
    case_file = property(lambda self: None)
    remote_viz_config = property(lambda self: None)
    optimizer = property(lambda self: None)
    resource_filters = property(lambda self: RESOURCE_FILTERS)
    archive_filters = property(lambda self: self._raw.get("archiveFilters", []))
    jobanalyses = property(lambda self: [JobAnalysisView(ja, self.jc) for ja in self._raw["jobanalyses"]])
    shared_with = property(lambda self: self.jc.ctx.shared_with(self.snap.id))  # v3 jobs carry it


def _badge(event: Any, with_reason: bool) -> dict[str, Any]:
    badge = {"content": event.status if event else "", "labelClass": "", "useLabel": False}
    if with_reason:
        badge["statusReason"] = event.reason if event else None
    return badge


class JobSummaryView(JobView):
    """A list item (`JobSummary`/`JobSummaryV3`)."""

    analysis_names = property(lambda self: [ja["analysis"]["name"] for ja in self._raw["jobanalyses"]])
    shared_with = property(lambda self: self.jc.ctx.shared_with(self.snap.id))
    is_visible = property(lambda self: True)
    storage = property(lambda self: self.jc.output_bytes(self.snap))
    job_status = property(lambda self: _badge(self.snap.status, self.jc.version == "v3"))
    cluster_status_display = property(lambda self: _badge(self.snap.cluster_status, False))


@dataclass(frozen=True)
class StatusView:
    """One entry of a job's or a cluster's status history."""

    id: str
    owner_id: str  # the job id (job statuses) or the cluster id (cluster statuses)
    event: Any
    kind: str  # job_status | cluster_status
    date_style: str

    job_id = property(lambda self: self.owner_id)
    cluster_id = property(lambda self: self.owner_id)
    status = property(lambda self: self.event.status)
    status_date = property(lambda self: iso(self.event.at, self.kind, self.date_style))
    status_reason = property(lambda self: self.event.reason)
    notify = property(lambda self: False)
    prevent_duplicates = property(lambda self: False)


# -- views built from a call (shared by the handlers that show files or status histories) -------------------------
def view_context(call: "Call") -> Context:
    backend = call.backend
    return Context(call.tenant, lambda: call.host_url, backend.config.date_style, backend.catalog.user_template["defaultStorage"],
                   lambda *ids: backend.shares.of(call.tenant, *ids))


def file_views(call: "Call", records: list[Any]) -> list[FileView]:
    ctx = view_context(call)
    return [FileView(r, ctx) for r in records]


def statuses_page(call: "Call", pairs: list[tuple[str, Any]], owner: str, kind: str) -> dict[str, Any]:
    style = call.backend.config.date_style
    views = [StatusView(sid, owner, event, kind, style) for sid, event in pairs]
    return call.page(lambda offset, limit: (len(views), views[offset:offset + limit]))


# -- clusters, runs, instances -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusterView:
    """A persistent cluster (the `Cluster` schema)."""

    snap: Any  # ClusterSnapshot
    ctx: Context

    id = property(lambda self: self.snap.id)
    name = property(lambda self: self.snap.record.doc["name"])
    owner = property(lambda self: self.ctx.tenant.email)
    date_inserted = property(lambda self: iso(self.snap.record.state["created"], "inserted", self.ctx.date_style))
    hardware = property(lambda self: _v3_hardware(self.snap.record.doc["hardware"]))
    installed_analyses = property(lambda self: self.snap.record.doc["installedAnalyses"])
    run_low_priority = property(lambda self: self.snap.record.doc["runLowPriority"])
    status = property(lambda self: self.snap.status)


def _v3_hardware(hardware: dict[str, Any]) -> dict[str, Any]:
    return {**hardware, "coreType": {"code": hardware["coreType"]}}


@dataclass(frozen=True)
class JobClusterView:
    """A job's own cluster as v3 `clusters/{id}/` shows it (`Cluster`): named after the job, with its hardware."""

    snap: Any  # jobs.Snapshot
    ctx: Context

    id = property(lambda self: self.snap.cluster_id)
    name = property(lambda self: self.snap.doc["name"])
    owner = property(lambda self: self.ctx.tenant.email)
    hardware = property(lambda self: _v3_hardware(self.snap.doc["jobanalyses"][0]["hardware"]))
    run_low_priority = property(lambda self: self.snap.doc["isLowPriority"])

    @property
    def date_inserted(self) -> str:
        state = self.snap.record.state
        return iso(state.get("submitted") or state["dateInserted"], "inserted", self.ctx.date_style)

    @property
    def installed_analyses(self) -> list[dict[str, Any]]:
        return [{"analysis": {"code": ja["analysis"]["code"], "version": ja["analysis"]["version"]}}
                for ja in self.snap.doc["jobanalyses"]]

    @property
    def status(self) -> str:
        events = self.snap.cluster_statuses()
        return events[0][1].status if events else "Not Started"


@dataclass(frozen=True)
class RunView:
    """One run of a job (`JobRun`): run "1" of a basic job, or one run of a sweep (DOE)."""

    id: str
    type: int
    display_order: int
    date_started: str | None
    date_completed: str | None
    output_file_count: int
    output_file_size: int | None
    variables: list[dict[str, Any]]
    parent: None = None
    is_optimal: bool = False


@dataclass(frozen=True)
class InstanceView:
    """One node of a running job's cluster (`Instance`)."""

    id: str
    cluster_id: str
    date_started: str
    private_hostname: str
    private_ip: str
    public_hostname: str
    role: str
    ssh_port: int
    supported_services: list[str]
    username: str
    instance_group: str = "compute0"
    is_behind_nat: bool = True
    public_ip: str = "127.0.0.1"
    tenancy: str = "default"


# -- the control plane -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HealthView:
    version: str
    tenants: int
    status: str = "ok"


@dataclass(frozen=True)
class NewTenantView:
    id: str
    api_key: str


@dataclass(frozen=True)
class ClockView:
    mode: str
    factor: float
    now: str


class DeviceView(DictView):
    """A storage device (`StorageDevice`): its stored document, with what the record and the time add."""

    def __init__(self, snap: Any, ctx: Context, version: str) -> None:
        super().__init__(snap.record.doc)
        self.snap, self.ctx, self.version = snap, ctx, version

    id = property(lambda self: self.snap.id)
    cluster_id = property(lambda self: self.snap.cluster_id)
    owner = property(lambda self: self.ctx.tenant.email)
    date_inserted = property(lambda self: iso(self.snap.record.state["created"], "inserted", self.ctx.date_style))
    status = property(lambda self: self.snap.status)

    @property
    def urls(self) -> dict[str, str]:
        base = f"{self.ctx.host_url}api/{self.version}/storage-devices/{self.snap.id}/"
        return {"statuses": f"{base}statuses/", "start": f"{base}submit/", "fileDownload": f"{base}file-downloads/"}


@dataclass(frozen=True)
class CatalogSummaryView:
    """How much a catalog holds (`CatalogSummary`)."""

    catalog: Any  # domain.catalog.Catalog

    core_types = property(lambda self: len(self.catalog.core_types))
    analyses = property(lambda self: len(self.catalog.analyses))
    analysis_versions = property(lambda self: sum(len(a["versions"]) for a in self.catalog.analyses))
    compute_prices = property(lambda self: len(self.catalog.compute_prices))
    projects = property(lambda self: len(self.catalog.projects))
