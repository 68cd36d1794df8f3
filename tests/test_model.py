"""Client and fake against a reference model (a hypothesis state machine): two tenants upload, delete, create,
submit, stop and delete jobs and move their clocks; after every step the listings (read in pages of 3), the status
histories, the delete rules, tenant isolation and file contents must agree with the model.

The model knows only what the README documents: a job reaches Completed 45 s + its `sleep` + 15 s after it is
submitted, its cluster is Stopped 41 s later; statuses are newest first and only move forward."""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule

from rescale_client import RescaleClient
from rescale_client.errors import BadRequest, NotFound

from .status_machines import JOB_NEXT, assert_walk

DOCUMENTED = [(0.0, "Pending"), (1.5, "Waiting for Queue"), (4.0, "Queued"), (40.0, "Started"),
              (42.0, "Validated"), (45.0, "Executing")]
SYNC, CLUSTER_STOPPED_AFTER = 15.0, 41.0


@dataclass
class ModelJob:
    sleep: int
    submitted_at: float | None = None  # the tenant's model time at submission
    stopped: bool = False

    def expected(self, now: float) -> str | None:
        """The status the README promises, for jobs nobody stopped."""
        if self.submitted_at is None:
            return None
        elapsed = now - self.submitted_at
        if elapsed >= DOCUMENTED[-1][0] + self.sleep + SYNC:
            return "Completed"
        return [status for at, status in DOCUMENTED if at <= elapsed][-1]

    def cluster_stopped(self, now: float) -> bool:
        return self.submitted_at is not None and not self.stopped and \
            now - self.submitted_at >= DOCUMENTED[-1][0] + self.sleep + SYNC + CLUSTER_STOPPED_AFTER


@dataclass
class Tenant:
    client: RescaleClient
    now: float = 0.0
    files: dict[str, str] = field(default_factory=dict)  # id -> sha512
    jobs: dict[str, ModelJob] = field(default_factory=dict)
    advance: object = None


class ClientAgainstModel(RuleBasedStateMachine):
    files = Bundle("files")
    jobs = Bundle("jobs")

    @initialize()
    def tenants(self) -> None:
        from rescale_mock.testing import Control

        self.tmp = Path(tempfile.mkdtemp(prefix="model-", dir=WORK_DIR))  # pytest's tmp_path_factory removes it
        self.tenants: list[Tenant] = []
        for _ in range(2):
            key = Control(BASE_URL).create_tenant()["apiKey"]
            control = Control(BASE_URL, key)
            tenant = Tenant(RescaleClient(BASE_URL, key, progress=False))
            tenant.advance = control.advance
            self.tenants.append(tenant)

    # -- files ----------------------------------------------------------------------------------------------------
    @rule(target=files, who=st.integers(0, 1), content=st.binary(max_size=2000),
          name=st.from_regex(r"[a-z][a-z0-9_]{0,12}\.(txt|inp|dat)", fullmatch=True))
    def upload(self, who: int, content: bytes, name: str) -> tuple[int, str]:
        path = self.tmp / name
        path.write_bytes(content)
        uploaded = self.tenants[who].client.upload_file(path)
        self.tenants[who].files[uploaded["id"]] = hashlib.sha512(content).hexdigest()
        return who, uploaded["id"]

    @rule(ref=consumes(files))
    def delete_file(self, ref: tuple[int, str]) -> None:
        who, file_id = ref
        self.tenants[who].client.files.delete_file(file_id=file_id)
        del self.tenants[who].files[file_id]
        with pytest.raises(NotFound):
            self.tenants[who].client.files.get_file(file_id=file_id)

    @rule(ref=files)
    def contents_match(self, ref: tuple[int, str]) -> None:
        who, file_id = ref
        if file_id not in self.tenants[who].files:
            return
        dest = self.tmp / f"download-{file_id}"
        self.tenants[who].client.download_file(file_id, dest, workers=2, chunk_size=512)
        assert hashlib.sha512(dest.read_bytes()).hexdigest() == self.tenants[who].files[file_id]
        with pytest.raises(NotFound):
            self.tenants[1 - who].client.files.get_file(file_id=file_id)

    # -- jobs -----------------------------------------------------------------------------------------------------
    @rule(target=jobs, who=st.integers(0, 1), sleep=st.integers(0, 300))
    def create_job(self, who: int, sleep: int) -> tuple[int, str]:
        job = self.tenants[who].client.jobs.create_job(body={
            "name": f"model job sleeping {sleep}",
            "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"}, "command": f"sleep {sleep}",
                             "hardware": {"coreType": "hpc-3", "coresPerSlot": 1}}],
        })
        self.tenants[who].jobs[job["id"]] = ModelJob(sleep)
        return who, job["id"]

    @rule(ref=jobs)
    def submit(self, ref: tuple[int, str]) -> None:
        who, job_id = ref
        tenant = self.tenants[who]
        if job_id not in tenant.jobs:
            return
        model = tenant.jobs[job_id]
        if model.submitted_at is not None:  # submitting again: 400, nothing changes (finishedJobChanges=refuse)
            with pytest.raises(BadRequest):
                tenant.client.jobs.submit_job(job_id=job_id)
            return
        tenant.client.jobs.submit_job(job_id=job_id)
        model.submitted_at = tenant.now

    @rule(ref=jobs)
    def stop(self, ref: tuple[int, str]) -> None:
        who, job_id = ref
        tenant = self.tenants[who]
        if job_id not in tenant.jobs:
            return
        tenant.client.jobs.stop_job(job_id=job_id)
        model = tenant.jobs[job_id]
        if model.submitted_at is not None and model.expected(tenant.now) != "Completed":
            model.stopped = True

    @rule(ref=jobs, with_inputs=st.booleans())
    def delete_job(self, ref: tuple[int, str], with_inputs: bool) -> None:
        who, job_id = ref
        tenant = self.tenants[who]
        if job_id not in tenant.jobs:
            return
        cluster = [s["status"] for s in tenant.client.jobs.iter_job_cluster_statuses(job_id=job_id)]
        model = tenant.jobs[job_id]
        deletable = model.submitted_at is None or (cluster[:1] == ["Stopped"])
        if not model.stopped:
            assert deletable == (model.submitted_at is None or model.cluster_stopped(tenant.now))
        if deletable:
            tenant.client.jobs.delete_job(job_id=job_id, delete_input_files=with_inputs)
            del tenant.jobs[job_id]
        else:
            with pytest.raises(BadRequest):
                tenant.client.jobs.delete_job(job_id=job_id)

    @rule(who=st.integers(0, 1), seconds=st.sampled_from([1, 5, 30, 60, 300, 900]))
    def advance(self, who: int, seconds: int) -> None:
        self.tenants[who].advance(seconds)  # type: ignore[operator]
        self.tenants[who].now += seconds

    # -- invariants -----------------------------------------------------------------------------------------------
    @invariant()
    def listings_match(self) -> None:
        for tenant in getattr(self, "tenants", []):
            assert {f["id"] for f in tenant.client.files.iter_files(page_size=3) if f["typeId"] != 5} == set(tenant.files)
            assert {j["id"] for j in tenant.client.jobs.iter_jobs(page_size=3)} == set(tenant.jobs)

    @invariant()
    def histories_move_forward(self) -> None:
        for tenant in getattr(self, "tenants", []):
            for job_id, model in tenant.jobs.items():
                history = list(tenant.client.jobs.iter_job_statuses(job_id=job_id, page_size=3))
                dates = [s["statusDate"] for s in history]
                assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates)
                assert_walk(tuple(_Event(s["status"], i) for i, s in enumerate(reversed(history))), JOB_NEXT)
                if not model.stopped:
                    assert (history[0]["status"] if history else None) == model.expected(tenant.now)

    def teardown(self) -> None:
        for tenant in getattr(self, "tenants", []):
            tenant.client.close()


@dataclass(frozen=True)
class _Event:
    status: str
    at: float


BASE_URL, WORK_DIR = "", Path()


@pytest.fixture(autouse=True, scope="module")
def _server(rescale_mock_server: object, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Hypothesis builds the machine itself, so what it needs from pytest comes through module globals."""
    global BASE_URL, WORK_DIR
    BASE_URL = rescale_mock_server.base_url  # type: ignore[attr-defined]
    WORK_DIR = tmp_path_factory.mktemp("model")


TestClientAgainstModel = ClientAgainstModel.TestCase
TestClientAgainstModel.settings = settings(max_examples=settings.default.max_examples // 2 or 1,
                                           stateful_step_count=15, deadline=None)
