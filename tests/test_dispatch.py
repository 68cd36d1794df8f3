"""The request path routes and authenticates a request once (dispatch.Admission); the fault rules and the journal
use what that found, for routed, unroutable, unauthenticated and faulted requests alike."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from rescale_mock.dispatch import Dispatcher
from rescale_mock.testing import Fake


def me_id(fake: Fake) -> str:
    return requests.get(fake.url("/api/v2/users/me/"), headers=fake.headers, timeout=30).json()["id"]


def test_a_request_is_routed_and_its_key_looked_up_once(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    if fake.backend is None:
        pytest.skip("counts calls inside the in-process backend")
    fake.control.add_fault("status", path="/api/v2/coretypes/", status=503)  # armed: the rules need the tenant
    counts = {"route": 0, "key": 0}
    real_route, real_by_key = Dispatcher._route, fake.backend.tenants.by_key

    def route(self: Dispatcher, request: Any) -> Any:
        counts["route"] += 1
        return real_route(self, request)

    def by_key(key: str) -> Any:
        counts["key"] += 1
        return real_by_key(key)

    monkeypatch.setattr(Dispatcher, "_route", route)
    monkeypatch.setattr(fake.backend.tenants, "by_key", by_key)
    assert requests.get(fake.url("/api/v2/users/me/"), headers=fake.headers, timeout=30).status_code == 200
    assert counts == {"route": 1, "key": 1}
    [entry] = fake.control.journal(operationId="getCurrentUser")
    assert entry["tenant"] is not None


def test_a_faulted_request_is_journaled_with_its_operation_and_tenant(fake: Fake) -> None:
    tenant = me_id(fake)
    rule = fake.control.add_fault("status", path="/api/v2/coretypes/", status=429, times=1)
    assert requests.get(fake.url("/api/v2/coretypes/"), headers=fake.headers, timeout=30).status_code == 429
    [entry] = fake.control.journal(path="/api/v2/coretypes/")
    assert (entry["status"], entry["operationId"], entry["tenant"], entry["fault"]) == (
        429, "listCoreTypes", tenant, rule["id"])


def test_a_tenants_rule_fires_on_a_path_that_routes_nowhere(fake: Fake) -> None:
    tenant = me_id(fake)
    fake.control.add_fault("status", path="/api/v2/no-such-thing/*", status=503, times=1)
    response = requests.get(fake.url("/api/v2/no-such-thing/x/"), headers=fake.headers, timeout=30)
    assert response.status_code == 503
    assert requests.get(fake.url("/api/v2/no-such-thing/x/"), headers=fake.headers, timeout=30).status_code == 404
    newest, faulted = fake.control.journal(path="/api/v2/no-such-thing/*")
    assert (faulted["status"], faulted["operationId"], faulted["tenant"]) == (503, None, tenant)
    assert (newest["status"], newest["operationId"], newest["tenant"]) == (404, None, tenant)


def test_an_unknown_key_meets_neither_a_tenants_rule_nor_its_journal(fake: Fake) -> None:
    fake.control.add_fault("status", path="/api/v2/users/me/", status=503)
    stranger = {"Authorization": "Token not-a-known-key-0123456789"}
    response = requests.get(fake.url("/api/v2/users/me/"), headers=stranger, timeout=30)
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid token."})
    assert fake.control.journal() == []  # recorded server-wide, with no tenant


def test_the_journal_names_the_operation_of_a_refused_request(fake: Fake) -> None:
    requests.get(fake.url("/api/v2/jobs/NoSuch/"), headers=fake.headers, timeout=30)
    requests.put(fake.url("/api/v2/users/me/"), headers=fake.headers, timeout=30)  # 405: routes to no operation
    newest, oldest = fake.control.journal()
    assert (oldest["status"], oldest["operationId"]) == (404, "getJob")
    assert (newest["status"], newest["operationId"]) == (405, None)


def test_a_handlers_crash_is_a_json_500_and_is_journaled(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    if fake.backend is None:
        pytest.skip("breaks a handler of the in-process app")
    from rescale_mock.handlers import HANDLERS

    def crash(call: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setitem(HANDLERS, "listCoreTypes", crash)
    response = requests.get(fake.url("/api/v2/coretypes/"), headers=fake.headers, timeout=30)
    assert (response.status_code, response.json()) == (500, {"detail": "Internal server error."})
    [entry] = fake.control.journal()
    assert (entry["status"], entry["operationId"]) == (500, "listCoreTypes")
