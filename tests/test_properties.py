"""Property tests of the pieces with many edge cases: Range handling (over HTTP, against a reference written from
RFC 9110), pagination arithmetic, the status machines, and the date strings."""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rescale_mock.domain.lifecycle import Scenario, cluster_plan, plan, plan_on_cluster, stretch
from rescale_mock.errors import ApiError
from rescale_mock.pagination import from_list, paginate
from rescale_mock.spec import control_spec
from rescale_mock.timefmt import STYLES, iso

from .status_machines import CLUSTER_NEXT, JOB_NEXT, assert_walk

SIZE = 1000
CONTENT = bytes(range(256)) * 3 + bytes(range(SIZE - 768))


# -- Range: the fake against a reference ------------------------------------------------------------------------
def reference(header: str | None, size: int) -> tuple[int, int, int]:
    """What RFC 9110 §14 asks of a server that serves single byte ranges: (status, first, last byte)."""
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header or "", re.IGNORECASE)
    whole = (200, 0, size - 1)
    if not header or match is None or not any(match.groups()):
        return whole
    first, last = match.groups()
    if not first:
        length = int(last)
        return (416, 0, -1) if length == 0 else (206, max(size - length, 0), size - 1)
    start = int(first)
    if last and int(last) < start:
        return whole  # an invalid range-spec: the header is ignored
    if start >= size:
        return 416, 0, -1
    return 206, start, min(int(last), size - 1) if last else size - 1


numbers = st.integers(min_value=0, max_value=SIZE + 50).map(str)
single = st.builds(lambda a, b: f"bytes={a}-{b}", numbers | st.just(""), numbers | st.just(""))
headers = st.one_of(
    single,
    st.builds(lambda a, b, c, d: f"bytes={a}-{b},{c}-{d}", numbers, numbers, numbers, numbers),
    st.sampled_from(["bytes=abc", "lines=0-10", "bytes=", "bytes = 0 - 9", "BYTES=1-2", "bytes=-0", ""]),
    st.text(max_size=12),
)


@pytest.fixture(scope="module")
def range_file(rescale_mock_server: object) -> tuple[requests.Session, str]:
    from rescale_mock.testing import Control

    base = rescale_mock_server.base_url  # type: ignore[attr-defined]
    session = requests.Session()
    session.headers["Authorization"] = f"Token {Control(base).create_tenant()['apiKey']}"
    uploaded = session.post(f"{base}/api/v2/files/contents/", files={"file": ("range.bin", CONTENT)}).json()
    return session, uploaded["downloadUrl"]


@given(header=headers)
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_ranges_match_the_reference(range_file: tuple[requests.Session, str], header: str) -> None:
    session, url = range_file
    if header != header.strip() or any(ord(c) > 126 or ord(c) < 32 for c in header):
        return  # not sendable as an HTTP header value
    response = session.get(url, headers={"Range": header} if header else {})
    status, first, last = reference(header, SIZE)
    assert response.status_code == status, repr(header)
    if status == 416:
        assert response.headers["Content-Range"] == f"bytes */{SIZE}"
    else:
        assert response.content == CONTENT[first:last + 1], repr(header)
    if status == 206:
        assert response.headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"


# -- pagination ---------------------------------------------------------------------------------------------------
@given(count=st.integers(0, 60), size=st.integers(1, 15), version=st.sampled_from(["v2", "v3"]))
def test_following_next_visits_every_item_once(count: int, size: int, version: str) -> None:
    items = list(range(count))
    url, seen, pages = f"http://h:1/api/{version}/x/?page_size={size}&search=a", [], 0
    while url:
        page_number = int(re.search(r"[?&]page=(\d+)", url)[1]) if "page=" in url else 1
        page = paginate(url, {"page": page_number, "page_size": size}, version, from_list(items))
        assert page["count"] == count
        assert "search=a" in (page["next"] or "search=a") and "page_size" in (page["next"] or "page_size")
        if page["previous"]:
            assert ("page=" in page["previous"]) == (page_number > 2)
        seen += page["results"]
        url, pages = page["next"], pages + 1
    assert seen == items and pages == max(1, math.ceil(count / size))


@given(count=st.integers(0, 40), size=st.integers(1, 10), page=st.integers(2, 50))
def test_a_page_past_the_end_is_invalid(count: int, size: int, page: int) -> None:
    params = {"page": page, "page_size": size}
    if (page - 1) * size >= count:
        with pytest.raises(ApiError) as err:
            paginate("http://h/api/v2/x/", params, "v2", from_list(list(range(count))))
        assert err.value.status == 404 and err.value.body == {"detail": "Invalid page."}
    else:
        assert paginate("http://h/api/v2/x/", params, "v2", from_list(list(range(count))))["results"]


# -- status machines ----------------------------------------------------------------------------------------------
scenarios = st.builds(Scenario, st.sampled_from(control_spec().schema_enum("Scenario", "properties", "outcome")), st.none() | st.integers(0, 255), st.none(),
                      st.none() | st.floats(0, 5000))
offsets = st.none() | st.floats(0, 20000)


@given(scenario=scenarios, run=st.floats(0, 5000) | st.just(math.inf), walltime=st.none() | st.floats(1, 7200),
       stop=offsets, pace=st.sampled_from([1.0, 60.0, 1e6]))
def test_a_job_on_its_own_cluster_walks_allowed_transitions(scenario: Scenario, run: float, walltime: float | None,
                                                            stop: float | None, pace: float) -> None:
    submitted = 1_700_000_000.0
    life = plan(submitted, scenario, run, walltime, stretch(submitted, pace, None if stop is None else submitted + stop))
    life = life.rescaled(submitted, pace)
    assert_walk(life.job, JOB_NEXT)
    assert_walk(life.cluster, CLUSTER_NEXT)
    if math.isfinite(life.finished):
        assert life.job[-1].status in ("Completed", "Force Stop") and life.job[-1].at == life.finished
        assert life.cluster[-1].status == "Stopped" and life.cluster[-1].at > life.finished


@given(scenario=scenarios, available=offsets, cluster_stop=offsets, stop=offsets, run=st.floats(0, 3000))
def test_a_job_on_a_persistent_cluster_walks_allowed_transitions(scenario: Scenario, available: float | None,
                                                                 cluster_stop: float | None, stop: float | None,
                                                                 run: float) -> None:
    t = 1_700_000_000.0
    shift = (lambda x: None if x is None else t + x)
    life = plan_on_cluster(t, shift(available), shift(cluster_stop), scenario, run, None, shift(stop))
    assert_walk(life.job, JOB_NEXT)
    assert life.cluster == ()


@given(start=offsets, stop=offsets, walltime=st.none() | st.floats(1, 36000), pace=st.sampled_from([1.0, 60.0]))
def test_a_persistent_cluster_walks_allowed_transitions(start: float | None, stop: float | None,
                                                        walltime: float | None, pace: float) -> None:
    created = 1_700_000_000.0
    start_at = None if start is None else created + start
    stop_at = None if stop is None or start_at is None else start_at + stop
    life = cluster_plan(created, start_at, None if start_at is None else stretch(start_at, pace, stop_at), walltime)
    life = life.rescaled(start_at, pace) if start_at is not None else life
    assert_walk(life.events, CLUSTER_NEXT)


# -- dates --------------------------------------------------------------------------------------------------------
@given(ts=st.floats(0, 4_000_000_000), kind=st.sampled_from(["inserted", "uploaded", "job_status", "cluster_status"]),
       style=st.sampled_from(STYLES))
def test_dates_are_iso_with_six_digits_and_the_documented_suffix(ts: float, kind: str, style: str) -> None:
    text = iso(ts, kind, style)
    offset = style == "offset" or (style == "mixed" and kind == "job_status")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}" + (r"\+00:00" if offset else "Z"), text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert abs(parsed - datetime.fromtimestamp(ts, tz=timezone.utc)).total_seconds() < 1e-5
