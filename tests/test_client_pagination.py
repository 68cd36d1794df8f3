"""Pagination: every paged operation has a lazy `iter_*` that follows `next`, fetching pages only as needed."""
from __future__ import annotations

from rescale_client import Paginator, RescaleClient
from rescale_client.api import OPERATIONS
from rescale_mock.testing import Fake


def pages_fetched(fake: Fake, path: str) -> list[str]:
    return [e["query"] for e in reversed(fake.control.journal(method="GET", path=path))]


def test_iterates_every_page_and_matches_count(fake: Fake, client: RescaleClient) -> None:
    first = client.catalog.list_core_types()
    assert first["next"] and first["count"] > len(first["results"])  # the notebook's cell 10: paged
    everything = list(client.catalog.iter_core_types())
    assert len(everything) == first["count"] == len({c["code"] for c in everything})
    assert len(pages_fetched(fake, "/api/v2/coretypes/")) == 1 + -(-first["count"] // 10)


def test_lazy_fetches_only_the_pages_needed(fake: Fake, client: RescaleClient) -> None:
    coretypes = client.catalog.iter_core_types(page_size=2)
    assert isinstance(coretypes, Paginator)
    assert pages_fetched(fake, "/api/v2/coretypes/") == []  # nothing until iterated
    assert len(coretypes.list(limit=3)) == 3
    assert pages_fetched(fake, "/api/v2/coretypes/") == ["page_size=2", "page_size=2&page=2"]


def test_count_first_and_reuse(fake: Fake, client: RescaleClient) -> None:
    analyses = client.catalog.iter_analyses(page_size=3)
    total = analyses.count
    assert len(pages_fetched(fake, "/api/v2/analyses/")) == 1
    assert len(list(analyses)) == total  # the page fetched for `count` is reused, not fetched again
    assert len(pages_fetched(fake, "/api/v2/analyses/")) == -(-total // 3)
    assert len(list(analyses)) == total  # and the paginator can be iterated again
    assert analyses.first() == client.catalog.list_analyses(page_size=1)["results"][0]


def test_filters_are_kept_on_every_page(client: RescaleClient, fake: Fake) -> None:
    job = {"name": "x", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"}, "command": "echo",
                                         "hardware": {"coreType": "granite", "coresPerSlot": 2}}]}
    ids = [client.jobs.create_job(body={**job, "name": f"job {i}"})["id"] for i in range(5)]
    for job_id in ids[:3]:
        client.jobs.submit_job(job_id=job_id)
    fake.control.advance(3600)
    completed = client.jobs.iter_jobs(state="completed", page_size=2)
    assert sorted(j["id"] for j in completed) == sorted(ids[:3])
    assert all("state=completed" in q for q in pages_fetched(fake, "/api/v2/jobs/"))
    assert [j["id"] for j in client.jobs.iter_jobs(page_size=2)] == list(reversed(ids))  # newest first
    assert [j["id"] for j in client.jobs.iter_jobs_v3(page_size=2, ordering="name")] == ids


def test_paged_results_of_a_resource(client: RescaleClient, fake: Fake) -> None:
    job = client.jobs.create_job(body={"name": "statuses", "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"}, "command": "echo",
        "hardware": {"coreType": "granite", "coresPerSlot": 2}}]})
    client.jobs.submit_job(job_id=job["id"])
    fake.control.advance(3600)
    statuses = [s["status"] for s in client.jobs.iter_job_statuses(job_id=job["id"], page_size=3)]
    assert statuses[0] == "Completed" and statuses[-1] == "Pending"  # newest first, across 3 pages
    assert [s["status"] for s in client.jobs.iter_job_statuses_v3(job_id=job["id"])] == statuses


def test_every_iterator_is_wired() -> None:
    for info in OPERATIONS.values():
        if info.iterator:
            cls = __import__("rescale_client.api", fromlist=["x"]).__dict__[info.tag.capitalize() + "Api"]
            assert callable(getattr(cls, info.iterator))
