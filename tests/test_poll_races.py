"""Issue 18: several worker processes serve one store, so a persistent cluster's or storage device's poll-mode
status read (the one read that writes: its `pollStep`) must never undo a change made meanwhile through another
worker, nor may a change (enqueue, attach, ...) undo another. Two Backends over one store play the two workers (on
SQLite and on PostgreSQL); the stop lands, from another thread, exactly between the read's load and its save (a
patched `read_time`), as a slow worker could make it land. Fixed, the read's transaction holds the stop off until
it has committed, so the stop comes after it and stays."""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from rescale_mock.backend import Backend
from rescale_mock.config import Config
from rescale_mock.domain import clusters as clusters_module
from rescale_mock.domain import devices as devices_module
from rescale_mock.testing_postgres import schema_of_its_own

KEY = "poll-races-key-0123456789abcdef"
CLUSTER = {"name": "c", "hardware": {"coresPerSlot": 1, "slots": 1, "coreType": {"code": "hpc-3"}, "walltime": 10},
           "installedAnalyses": []}
DEVICE = {"name": "d", "storageSize": 2, "hardware": {"walltime": 1, "coresPerSlot": 18, "coreType": "hps-3"}}
MEANWHILE = 1.0  # seconds the read holds on while the stop is tried: enough for an unblocked stop to finish


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Backend, Backend]]:
    with contextlib.ExitStack() as stack:
        url = None if request.param == "sqlite" else stack.enter_context(
            schema_of_its_own(request.getfixturevalue("rescale_mock_postgres_url")))
        first = Backend(Config(data_dir=tmp_path, api_keys=(KEY,), clock_mode="poll", database=url))
        second = Backend(Config(data_dir=tmp_path, api_keys=(KEY,), clock_mode="poll", database=url,
                                shared_store=True))
        yield first, second
        for backend in (second, first):
            backend.close()


class StopDuringTheNextRead:
    """Once the next read of `module`'s records (a status read, `poll=True`, or a change's read) has loaded the
    record, `stop` runs in another thread; the read goes on once the stop has finished, or after MEANWHILE if the
    read's transaction holds the stop off."""

    def __init__(self, module: Any, monkeypatch: pytest.MonkeyPatch, stop: Callable[[], None],
                 poll: bool = True) -> None:
        self.stop, self.errors = stop, list[Exception]()
        self.thread = threading.Thread(target=self._stopping)
        real_read_time = module.read_time

        def read_time(*args: Any) -> Any:
            if args[-1] == poll and self.thread.ident is None:  # the read wanted, once
                self.thread.start()
                self.thread.join(MEANWHILE)
            return real_read_time(*args)

        monkeypatch.setattr(module, "read_time", read_time)

    def _stopping(self) -> None:
        try:
            self.stop()
        except Exception as err:  # noqa: BLE001 - reported by `finished`
            self.errors.append(err)

    def finished(self) -> None:
        assert self.thread.ident is not None, "the status read never ran"
        self.thread.join(30)
        assert not self.thread.is_alive() and self.errors == []


def test_a_cluster_status_read_keeps_a_stop_made_meanwhile_through_another_worker(
        workers: tuple[Backend, Backend], monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = workers
    tenant = first.tenants.by_key(KEY)
    cluster_id = first.clusters.create(tenant, CLUSTER).id
    first.clusters.start(tenant, cluster_id)
    race = StopDuringTheNextRead(clusters_module, monkeypatch,
                                     lambda: second.clusters.stop(second.tenants.by_key(KEY), cluster_id))
    first.clusters.snapshot(tenant, cluster_id, poll=True)
    race.finished()
    state = first.clusters._load(tenant, cluster_id).state
    assert state.get("stopAt") is not None, "the status read overwrote the stop"
    assert state.get("pollStep") == 1  # and the read's step counted too


def test_a_device_status_read_keeps_a_shutdown_made_meanwhile_through_another_worker(
        workers: tuple[Backend, Backend], monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = workers
    tenant = first.tenants.by_key(KEY)
    device_id = first.devices.create(tenant, DEVICE, "v2").id
    first.devices.submit(tenant, device_id)
    race = StopDuringTheNextRead(devices_module, monkeypatch,
                                     lambda: second.devices.shutdown(second.tenants.by_key(KEY), device_id))
    first.devices.snapshot(tenant, device_id, poll=True)
    race.finished()
    state = first.devices._load(tenant, device_id).state
    assert state.get("stopAt") is not None, "the status read overwrote the shutdown"
    assert state.get("pollStep") == 1


def test_a_job_queued_on_a_cluster_meanwhile_stopped_through_another_worker_keeps_the_stop(
        workers: tuple[Backend, Backend], monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = workers
    tenant = first.tenants.by_key(KEY)
    cluster_id = first.clusters.create(tenant, CLUSTER).id
    first.clusters.start(tenant, cluster_id)
    race = StopDuringTheNextRead(clusters_module, monkeypatch,
                                 lambda: second.clusters.stop(second.tenants.by_key(KEY), cluster_id), poll=False)
    first.clusters.enqueue(tenant, cluster_id, "a-job")  # read before the stop: queued, then stopped
    race.finished()
    state = first.clusters._load(tenant, cluster_id).state
    assert state.get("stopAt") is not None and state["jobs"] == ["a-job"]


JOB = {"name": "j", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"}, "command": "echo hi",
                                     "hardware": {"coreType": "emerald", "coresPerSlot": 1}}]}


def _meanwhile(monkeypatch: pytest.MonkeyPatch, backend: Backend, change: Callable[[], None]) -> None:
    """`change` runs (to its end) while `backend` works out its next submission, after its first read of the job."""
    real = backend.jobs._submission

    def submission(*args: Any) -> Any:
        change()
        return real(*args)

    monkeypatch.setattr(backend.jobs, "_submission", submission)


def test_two_workers_submitting_one_job_at_once_submit_it_once(workers: tuple[Backend, Backend],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = workers
    tenant = first.tenants.by_key(KEY)
    job_id = first.jobs.create(tenant, JOB).id
    _meanwhile(monkeypatch, first, lambda: second.jobs.submit(second.tenants.by_key(KEY), job_id))
    first.jobs.submit(tenant, job_id)  # the other worker's submission won: this one changes nothing
    submitted = second.jobs._load(tenant, job_id).state["submitted"]
    with pytest.raises(Exception, match="already been submitted"):
        second.jobs.submit(second.tenants.by_key(KEY), job_id, refuse_again=True)
    assert first.jobs._load(tenant, job_id).state["submitted"] == submitted


def test_a_submission_keeps_a_scenario_set_meanwhile_through_another_worker(workers: tuple[Backend, Backend],
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = workers
    tenant = first.tenants.by_key(KEY)
    job_id = first.jobs.create(tenant, JOB).id
    scenario = {"outcome": "fail", "exitCode": 3}
    _meanwhile(monkeypatch, first, lambda: second.jobs.set_scenario(second.tenants.by_key(KEY), job_id, scenario))
    first.jobs.submit(tenant, job_id)
    state = second.jobs._load(second.tenants.by_key(KEY), job_id).state
    assert state["submitted"] is not None and state["scenario"] == scenario


def test_a_job_deleted_while_it_is_submitted_to_a_cluster_leaves_no_entry_in_its_queue(
        workers: tuple[Backend, Backend], monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = workers
    tenant = first.tenants.by_key(KEY)
    cluster_id = first.clusters.create(tenant, CLUSTER).id
    first.clusters.start(tenant, cluster_id)
    doomed, kept = (first.jobs.create(tenant, JOB).id for _ in range(2))
    first.jobs.attach(tenant, cluster_id, doomed, submit=False)
    _meanwhile(monkeypatch, first, lambda: second.jobs.delete(second.tenants.by_key(KEY), doomed))
    with pytest.raises(Exception, match="job"):  # gone by the time the submission is decided: 404
        first.jobs.submit(tenant, doomed)
    monkeypatch.undo()
    assert doomed not in first.clusters.queue(tenant, cluster_id)
    first.jobs.attach(tenant, cluster_id, kept, submit=True)
    assert first.jobs.snapshot(tenant, kept).record.state["persistentCluster"] == cluster_id  # its queue reads


def test_a_patch_keeps_a_device_attached_meanwhile_through_another_worker(workers: tuple[Backend, Backend],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = workers
    tenant = first.tenants.by_key(KEY)
    job_id = first.jobs.create(tenant, JOB).id
    device_id = first.devices.create(tenant, DEVICE, "v2").id
    real_check = first.jobs._check_outputs

    def check_outputs(doc: dict[str, Any]) -> None:
        second.jobs.attach_device(second.tenants.by_key(KEY), job_id, device_id, [], "storageDevice")
        real_check(doc)

    monkeypatch.setattr(first.jobs, "_check_outputs", check_outputs)
    first.jobs.update(tenant, job_id, {"name": "renamed"})
    doc = second.jobs._load(second.tenants.by_key(KEY), job_id).doc
    assert (doc["name"], doc["storageDevice"]) == ("renamed", device_id)
