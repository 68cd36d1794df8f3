"""Parameter sweeps (DOE): one job, many runs, templates filled per run (issue 20; reference
rescale-api-surface.md §4.1, §4.7, §5.6 and rescale-api-v3-and-catalog.md "DOE")."""
from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
import requests

from rescale_mock.testing import Fake, job_analysis

from .doe import CSV, EXECUTING_AFTER, RUN, TEMPLATE, doe_body, doe_files, upload_typed


@pytest.mark.parametrize("type_id", [1, 2, 3, 4])
def test_upload_takes_type_id_as_a_file_part(fake: Fake, api: requests.Session, type_id: int) -> None:
    created = upload_typed(fake, "U.inp_template", b"x ${x}\n", type_id)
    assert created["typeId"] == type_id
    assert api.get(fake.url(f"/api/v2/files/{created['id']}/")).json()["typeId"] == type_id
    assert api.get(fake.url(f"/api/v2/files/{created['id']}/contents/")).content == b"x ${x}\n"


@pytest.mark.parametrize("value", [b"6", b"abc", b"\xff\xfe", b"1" * 5000])
def test_a_bad_type_id_part_is_400(fake: Fake, api: requests.Session, value: bytes) -> None:
    response = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("x.txt", b"x"), "typeId": ("t", value)})
    assert response.status_code == 400
    assert list(response.json()) == ["typeId"]
    assert api.get(fake.url("/api/v2/files/")).json()["count"] == 0


# ---------------------------------------------------------------------------------------------------------------
# A small sweep: a CSV of 5 rows, a template, 2 slots, runs of 60 s (the command's `sleep 60`)
# ---------------------------------------------------------------------------------------------------------------
def runs(fake: Fake, api: requests.Session, job_id: str, page_size: int = 1000, **params: Any) -> dict[str, Any]:
    response = api.get(fake.url(f"/api/v2/jobs/{job_id}/runs/"), params={"page_size": page_size, **params})
    assert response.status_code == 200, response.text
    return response.json()


def progress(page: dict[str, Any]) -> tuple[int, int, int]:
    """(started, running, completed) as the DOE example counts them: by dateStarted and dateCompleted."""
    results = page["results"]
    started = sum(r["dateStarted"] is not None for r in results)
    completed = sum(r["dateStarted"] is not None and r["dateCompleted"] is not None for r in results)
    return started, started - completed, completed


def seconds(run: dict[str, Any]) -> float:
    """How long a run ran, by its dates."""
    start, end = (datetime.fromisoformat(run[k].replace("Z", "+00:00")) for k in ("dateStarted", "dateCompleted"))
    return round((end - start).total_seconds(), 3)


def latest_status(fake: Fake, api: requests.Session, job_id: str) -> dict[str, Any]:
    return api.get(fake.url(f"/api/v2/jobs/{job_id}/statuses/")).json()["results"][0]


@pytest.mark.twins("inprocess", "served", "postgres", "s3", "s3-served")  # and with its blobs in S3
def test_a_sweep_is_stored_and_echoed(fake: Fake, api: requests.Session) -> None:
    ids = doe_files(fake)
    job = fake.create_job(**doe_body(ids, monteCarloIterations=3))
    assert job["paramFile"]["id"] == ids["params"] and job["paramFile"]["typeId"] == 3
    assert job["expectedRuns"] == 5 and job["includeNominalRun"] is False and job["monteCarloIterations"] == 3
    assert [v["name"] for v in job["jobvariables"]] == ["x_velocity", "y_velocity", "label"]
    assert job["jobvariables"][0] == {"name": "x_velocity", "variableType": "Param", "displayOrder": 0,
                                      "valueGeneratorType": "", "valueGeneratorSettings": {}}
    analysis = job["jobanalyses"][0]
    assert analysis["templateTasks"][0]["processedFilename"] == "airfoil2D_DOE/0/U"
    assert analysis["templateTasks"][0]["templateFile"]["id"] == ids["template"]
    assert analysis["templateTasks"][0]["templateFile"]["typeId"] == 2
    assert analysis["postProcessScript"]["id"] == ids["script"] and analysis["postProcessScript"]["typeId"] == 4
    assert analysis["postProcessScriptCommand"].startswith("python extract.py")
    assert analysis["hardware"]["slots"] == 2
    assert api.get(fake.url(f"/api/v2/jobs/{job['id']}/")).json() == job
    assert api.get(fake.url(f"/api/v3/jobs/{job['id']}/")).json()["expectedRuns"] == 5


def test_a_basic_job_expects_one_run(fake: Fake, api: requests.Session) -> None:
    job = fake.create_job(name="basic", jobanalyses=[job_analysis("echo hi", core="emerald", cores=1)])
    assert job["expectedRuns"] == 1 and job["paramFile"] is None and job["jobanalyses"][0]["templateTasks"] == []
    fake.submit(job["id"])
    fake.control.advance(EXECUTING_AFTER)
    page = runs(fake, api, job["id"])
    assert page["count"] == 1 and page["results"][0]["id"] == "1" and page["results"][0]["variables"] == []


def test_runs_go_slots_at_a_time_with_their_variables(fake: Fake, api: requests.Session) -> None:
    job = fake.create_job(**doe_body(doe_files(fake)))
    fake.submit(job["id"])
    fake.control.advance(EXECUTING_AFTER - 1)
    assert runs(fake, api, job["id"])["count"] == 0  # no runs before the job executes
    fake.control.advance(1)
    assert latest_status(fake, api, job["id"])["status"] == "Executing"
    page = runs(fake, api, job["id"])
    assert page["count"] == 5 and [r["id"] for r in page["results"]] == ["1", "2", "3", "4", "5"]
    assert progress(page) == (2, 2, 0)
    first = page["results"][0]
    assert (first["type"], first["displayOrder"], first["parent"], first["isOptimal"]) == (3, 1, None, False)
    assert first["variables"] == [
        {"name": "x_velocity", "value": 10.0, "displayValue": "10", "isRelative": False},
        {"name": "y_velocity", "value": 0.5, "displayValue": "0.5", "isRelative": False},
        {"name": "label", "value": "a", "displayValue": "a", "isRelative": False},
    ]
    assert page["results"][4]["variables"][1] == {"name": "y_velocity", "value": 0.1, "displayValue": "1e-1",
                                                  "isRelative": False}
    fake.control.advance(RUN)
    assert progress(runs(fake, api, job["id"])) == (4, 2, 2)
    fake.control.advance(RUN)
    assert progress(runs(fake, api, job["id"])) == (5, 1, 4)
    assert latest_status(fake, api, job["id"])["status"] == "Executing"  # job statuses stay a job's
    fake.control.advance(RUN)
    page = runs(fake, api, job["id"])
    assert progress(page) == (5, 0, 5)
    one = page["results"][0]
    assert one["dateCompleted"] > one["dateStarted"] and page["results"][2]["dateStarted"] == one["dateCompleted"]
    fake.control.advance(60)
    assert latest_status(fake, api, job["id"]) | {"id": None, "statusDate": None} == {
        "id": None, "jobId": job["id"], "status": "Completed", "statusDate": None,
        "statusReason": "Completed successfully"}
    one_run = api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/3/")).json()
    assert one_run["variables"][0]["displayValue"] == "15" and one_run["outputFileCount"] == 2


@pytest.mark.twins("inprocess", "served", "postgres", "s3", "s3-served")  # and with its blobs in S3
def test_each_run_has_its_processed_templates_and_outputs(fake: Fake, api: requests.Session) -> None:
    job = fake.create_job(**doe_body(doe_files(fake), command="sleep 60; openssl rand -out result.bin 100"))
    fake.submit(job["id"])
    fake.control.advance(EXECUTING_AFTER + RUN)  # runs 1 and 2 completed, 3 and 4 running
    files = api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/2/files/")).json()
    names = {f["relativePath"]: f for f in files["results"]}
    assert set(names) == {"process_output.log", "airfoil2D_DOE/0/U", "result.bin"}
    assert all(f"/output/job_{job['id']}/run2/" in f["path"] and f["typeId"] == 5 for f in files["results"])
    processed = api.get(fake.url(f"/api/v2/files/{names['airfoil2D_DOE/0/U']['id']}/contents/")).content
    assert processed == b'internalField uniform (12.50 0.25 0); // b\n#include "initialConditions"\n'
    assert names["result.bin"]["decryptedSize"] == 100
    log = api.get(fake.url(f"/api/v2/files/{names['process_output.log']['id']}/contents/")).text
    assert "run 2 of 5" in log and "x_velocity=12.5, y_velocity=0.25, label=b" in log
    assert "Command exited with status 0" in log and "post-process command: python extract.py" in log
    assert api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/3/files/")).json()["count"] == 0  # still running
    page = runs(fake, api, job["id"])["results"]
    assert [(r["outputFileCount"], r["outputFileSize"] is not None) for r in page[:3]] == [(3, True), (3, True), (0, False)]
    assert page[1]["outputFileSize"] == sum(f["decryptedSize"] for f in files["results"])
    # a running run: its live log and its processed template, by tail
    tail = api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/3/tail/process_output.log"), params={"lines": 3}).json()
    assert tail["fileType"] == "ASCII text" and any("sleep 60" in line for line in tail["lines"])
    u = api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/3/tail/airfoil2D_DOE/0/U"))
    assert u.status_code == 200 and u.text.startswith("internalField uniform (15.00 0 0); // c")
    assert api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/1/tail/process_output.log")).status_code == 404
    assert api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/5/tail/process_output.log")).status_code == 404
    fake.control.advance(3 * RUN)
    outputs = api.get(fake.url(f"/api/v2/jobs/{job['id']}/files/"), params={"page_size": 100}).json()
    assert outputs["count"] == 15
    assert sorted(f["path"].split(f"/output/job_{job['id']}/")[1] for f in outputs["results"] if f["name"] == "U") == [
        f"run{n}/airfoil2D_DOE/0/U" for n in range(1, 6)]


def test_unknown_runs_are_404(fake: Fake, api: requests.Session) -> None:
    job = fake.create_job(**doe_body(doe_files(fake)))
    fake.submit(job["id"])
    fake.control.advance(EXECUTING_AFTER)
    for run in ("0", "6", "99999999999", "x"):
        assert api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/{run}/")).status_code == 404


def test_stop_mid_sweep_ends_running_runs_and_never_starts_the_rest(fake: Fake, api: requests.Session) -> None:
    job = fake.create_job(**doe_body(doe_files(fake)))
    fake.submit(job["id"])
    fake.control.advance(EXECUTING_AFTER + RUN + 30)  # runs 1-2 done, 3-4 half way
    assert api.post(fake.url(f"/api/v2/jobs/{job['id']}/stop/")).status_code == 202
    fake.control.advance(10 * RUN)
    page = runs(fake, api, job["id"])
    assert progress(page) == (4, 0, 4) and page["count"] == 5
    assert page["results"][4]["dateStarted"] is None and page["results"][4]["dateCompleted"] is None
    assert [seconds(r) for r in page["results"][:4]] == [RUN, RUN, 30.0, 30.0]  # runs 3-4 end with the stop
    statuses = [s["status"] for s in api.get(fake.url(f"/api/v2/jobs/{job['id']}/statuses/")).json()["results"]]
    assert statuses[:2] == ["Completed", "Stopping"]
    log_of = {}
    for run in ("2", "3"):
        files = api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/{run}/files/")).json()["results"]
        log = next(f for f in files if f["name"] == "process_output.log")
        log_of[run] = api.get(fake.url(f"/api/v2/files/{log['id']}/contents/")).text
    assert "status 0" in log_of["2"] and "status 143" in log_of["3"] and "stopped with the job" in log_of["3"]
    assert api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/5/files/")).json()["count"] == 0


@pytest.mark.twins("inprocess", "served", "postgres", "s3", "s3-served")  # and with its blobs in S3
def test_the_nominal_run_comes_last(fake: Fake, api: requests.Session) -> None:
    ids = doe_files(fake)
    variables = [{"name": "x_velocity", "variableType": "Param", "displayOrder": 0,
                  "valueGeneratorSettings": {"nominal": 11}},
                 {"name": "y_velocity", "variableType": "Param", "displayOrder": 1},
                 {"name": "label", "variableType": "Param", "displayOrder": 2}]
    job = fake.create_job(**doe_body(ids, slots=10, includeNominalRun=True, jobvariables=variables))
    assert job["expectedRuns"] == 6 and job["includeNominalRun"] is True
    assert job["jobvariables"][0]["valueGeneratorSettings"] == {"nominal": 11}
    fake.submit(job["id"])
    fake.control.advance(EXECUTING_AFTER + RUN)
    page = runs(fake, api, job["id"])
    assert page["count"] == 6 and progress(page) == (6, 0, 6)
    assert [v["displayValue"] for v in page["results"][5]["variables"]] == ["11", "0.5", "a"]
    files = api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/6/files/"), params={"search": "U"}).json()["results"]
    content = api.get(fake.url(f"/api/v2/files/{files[0]['id']}/contents/")).content
    assert content.startswith(b"internalField uniform (11.00 0.5 0); // a")


@pytest.mark.parametrize("template, message", [
    (b"${x_velocity?upper_case}", "is not supported"),
    (b"<#if x_velocity > 1>fast</#if>", "FreeMarker syntax"),
    (b"${x_velocity?string(\"0.00E0\")}", "number format"),
    (b"${speed}", "does not define"),
    (b"${label?string(\"0.0\")}", 'formats "label" as a number'),
    (b"${x_velocity", "unclosed"),
    (b"\xff\xfe", "UTF-8"),
])
def test_a_template_outside_the_supported_subset_is_400(fake: Fake, api: requests.Session, template: bytes,
                                                        message: str) -> None:
    response = api.post(fake.url("/api/v2/jobs/"), json=doe_body(doe_files(fake, template=template)))
    assert response.status_code == 400
    errors = response.json()["jobanalyses"][0]["templateTasks"][0]["templateFile"]
    assert message in errors[0], errors
    assert api.get(fake.url("/api/v2/jobs/")).json()["count"] == 0


@pytest.mark.parametrize("csv, message", [
    (b"x_velocity,y_velocity,label\n10,0.5\n", "Row 1 has 2 values"),
    (b"x_velocity,y_velocity,label\n", "at least one row"),
    (b"x_velocity,x_velocity,label\n1,2,3\n", "name each variable once"),
    (b"\xff\xfe\x00", "UTF-8"),
])
@pytest.mark.twins("inprocess", "served", "postgres", "s3", "s3-served")  # and with its blobs in S3
def test_a_parameter_file_that_cannot_make_runs_is_400(fake: Fake, api: requests.Session, csv: bytes,
                                                        message: str) -> None:
    response = api.post(fake.url("/api/v2/jobs/"), json=doe_body(doe_files(fake, csv=csv)))
    assert response.status_code == 400
    assert message in response.json()["paramFile"][0], response.json()
    assert api.get(fake.url("/api/v2/jobs/")).json()["count"] == 0


@pytest.mark.twins("inprocess", "served", "postgres", "s3", "s3-served")  # and with its blobs in S3
def test_a_csv_that_does_not_match_the_variables_is_400(fake: Fake, api: requests.Session) -> None:
    variables = [{"name": "x_velocity"}, {"name": "z_velocity"}, {"name": "label"}]
    response = api.post(fake.url("/api/v2/jobs/"), json=doe_body(doe_files(fake), jobvariables=variables))
    assert response.status_code == 400
    assert "do not match jobvariables" in response.json()["paramFile"][0]


@pytest.mark.parametrize("change, where", [
    ({"paramFile": {"id": "nope1"}}, ("paramFile",)),
    ({"templateTasks": [{"templateFile": {"id": "nope2"}, "processedFilename": "U"}]}, ("jobanalyses",)),
    ({"templateTasks": [{"templateFile": {"id": "TEMPLATE"}, "processedFilename": "../etc/U"}]}, ("jobanalyses",)),
    ({"postProcessScript": {"id": "nope3"}}, ("jobanalyses",)),
    ({"jobvariables": [{"name": "a"}, {"name": "a"}]}, ("jobvariables",)),
    ({"monteCarloIterations": 10 ** 30}, ("monteCarloIterations",)),
    ({"jobvariables": [{"name": "a", "variableType": "Sideways"}]}, ("jobvariables",)),
])
def test_bad_doe_references_are_400(fake: Fake, api: requests.Session, change: dict[str, Any],
                                    where: tuple[str, ...]) -> None:
    ids = doe_files(fake)
    body = doe_body(ids)
    for key, value in change.items():
        if key in ("templateTasks", "postProcessScript"):
            if key == "templateTasks" and value[0]["templateFile"]["id"] == "TEMPLATE":
                value = [{"templateFile": {"id": ids["template"]}, "processedFilename": value[0]["processedFilename"]}]
            body["jobanalyses"][0][key] = value
        else:
            body[key] = value
    response = api.post(fake.url("/api/v2/jobs/"), json=body)
    assert response.status_code == 400, response.text
    assert list(response.json()) == list(where)
    assert api.get(fake.url("/api/v2/jobs/")).json()["count"] == 0


def test_deleting_a_sweep_forgets_it(fake: Fake, api: requests.Session) -> None:
    job = fake.create_job(**doe_body(doe_files(fake)))
    assert api.delete(fake.url(f"/api/v2/jobs/{job['id']}/")).status_code == 204
    assert api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/")).status_code == 404


@pytest.mark.parametrize("page_size, expected", [(1848, 1848), (3696, 3696), (20000, 3696)])
def test_runs_pages_hold_thousands(fake: Fake, api: requests.Session, page_size: int, expected: int) -> None:
    csv = b"x\n" + b"".join(b"%d\n" % n for n in range(3696))
    job = fake.create_job(**doe_body(doe_files(fake, csv=csv, template=b"x=${x}\n"), slots=1500))
    fake.submit(job["id"])
    fake.control.advance(EXECUTING_AFTER)
    page = runs(fake, api, job["id"], page_size=page_size)
    assert page["count"] == 3696 and len(page["results"]) == min(expected, 10_000)
    assert page["results"][-1]["id"] == str(len(page["results"]))
    if len(page["results"]) < 3696:
        assert page["next"] is not None and f"page_size={page_size}" in page["next"]
        rest = api.get(page["next"]).json()
        assert rest["results"][0]["id"] == str(page_size + 1)


@pytest.mark.twins("inprocess")  # 1500 runs; smaller sweeps above run in every twin
def test_the_official_doe_example_at_full_size(fake: Fake, api: requests.Session) -> None:
    """Rescale's DOE example: 3,696 CSV rows on 1,500 slots; wait for Executing, poll the runs with
    page_size=1848 (every 30 s in the example) until 1,848 runs completed, then stop the job."""
    csv = b"x_velocity,y_velocity,label\n" + b"".join(
        b"%d.%02d,%d,c%d\n" % (n // 100, n % 100, n % 7, n) for n in range(3696))
    ids = doe_files(fake, csv=csv)
    job = fake.create_job(**doe_body(ids, slots=1500, command="cd airfoil2D_DOE\n./Allrun\nsleep 600"))
    assert job["expectedRuns"] == 3696
    fake.submit(job["id"])
    polls = 0
    while latest_status(fake, api, job["id"])["status"].upper() != "EXECUTING":
        fake.control.advance(30)
        polls += 1
        assert polls < 40
    seen = []
    while True:
        page = runs(fake, api, job["id"], page_size=1848)
        assert page["count"] == 3696 and len(page["results"]) == 1848
        started, running, completed = progress(page)
        seen.append((started, running, completed))
        if completed >= 1848:
            break
        fake.control.advance(30)
        assert len(seen) < 200
    # 1,500 at a time: on the first page the first wave, then the first 348 runs of the second
    assert seen[0] == (1500, 1500, 0) and (1848, 348, 1500) in seen and seen[-1] == (1848, 0, 1848)
    assert len(seen) == 1 + 2 * 600 // 30
    everything = runs(fake, api, job["id"], page_size=3696)
    assert progress(everything) == (3696, 696, 3000)  # the third wave (696 runs) is running
    assert api.post(fake.url(f"/api/v2/jobs/{job['id']}/stop/")).status_code == 202
    fake.control.advance(3600)
    assert latest_status(fake, api, job["id"])["status"] == "Completed"
    final = runs(fake, api, job["id"], page_size=3696)
    assert progress(final) == (3696, 0, 3696)
    assert [seconds(final["results"][n]) for n in (0, 2999)] == [600.0, 600.0]
    assert seconds(final["results"][3000]) < 600.0  # cut short by the stop
    run_files = api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/1848/files/")).json()
    assert {f["relativePath"] for f in run_files["results"]} == {"process_output.log", "airfoil2D_DOE/0/U"}
    assert final["results"][1847]["outputFileSize"] == sum(f["decryptedSize"] for f in run_files["results"])
    u = next(f for f in run_files["results"] if f["name"] == "U")
    assert api.get(fake.url(f"/api/v2/files/{u['id']}/contents/")).text.startswith(
        "internalField uniform (18.47 6 0); // c1847")


# ---------------------------------------------------------------------------------------------------------------
# The client kit: run pagination and a waiter for "N runs completed"
# ---------------------------------------------------------------------------------------------------------------
def test_the_client_follows_a_sweep(fake: Fake, tmp_path: Any) -> None:
    from rescale_client import RescaleClient, RunProgress, WaitFailed

    paths = {}
    for name, data in (("U.inp_template", TEMPLATE), ("openfoam.csv", CSV)):
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    with RescaleClient(fake.base_url, fake.api_key, progress=False,
                       sleep=lambda seconds: fake.control.advance(seconds)) as client:
        template = client.upload_file(paths["U.inp_template"], type_id=2)
        params = client.upload_file(paths["openfoam.csv"], type_id=3)
        assert (template["typeId"], params["typeId"]) == (2, 3)
        body = doe_body({"input": template["id"], "template": template["id"], "params": params["id"],
                         "script": template["id"]})
        body["jobanalyses"][0]["inputFiles"] = []
        job = client.jobs.create_job(body=body)
        client.jobs.submit_job(job_id=job["id"])
        client.wait_for_job(job["id"], until="Executing", delay=5)
        seen: list[RunProgress] = []
        progress = client.wait_for_runs(job["id"], 3, delay=30, page_size=2, on_progress=seen.append)
        assert (progress.expected, progress.completed) == (5, 4) and progress.completed >= 3
        assert seen[0] == RunProgress(5, 2, 0) and seen[0].running == 2 and seen[0].pending == 5
        assert [r["id"] for r in client.runs.iter_job_runs(job_id=job["id"], page_size=2)] == ["1", "2", "3", "4", "5"]
        client.jobs.stop_job(job_id=job["id"])  # run 5 ends with the stop: it counts as completed
        assert client.wait_for_runs(job["id"], 5, delay=30) == RunProgress(5, 5, 5)
        with pytest.raises(WaitFailed) as failed:
            client.wait_for_runs(job["id"], 6, delay=30)
        assert failed.value.result == RunProgress(5, 5, 5)


@pytest.mark.parametrize("raw", [
    '"valueGeneratorSettings": {"nominal": NaN}',
    '"valueGeneratorSettings": {"nominal": 1e999}',
    '"valueGeneratorSettings": {"nominal": "\\ud800"}',
    '"valueGeneratorSettings": {"nominal": ' + "[" * 5000 + "]" * 5000 + "}",
])
def test_hostile_json_in_a_sweep_is_400(fake: Fake, api: requests.Session, raw: str) -> None:
    import json

    body = doe_body(doe_files(fake), jobvariables=[{"name": "x_velocity", "valueGeneratorSettings": {}},
                                                         {"name": "y_velocity"}, {"name": "label"}])
    text = json.dumps(body).replace('"valueGeneratorSettings": {}', raw)
    response = api.post(fake.url("/api/v2/jobs/"), data=text, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    answer = response.json()  # a parse error, or (a lone surrogate) a field error at its path
    assert answer["detail"].startswith("JSON parse error") if "detail" in answer else "jobvariables" in answer
    assert api.get(fake.url("/api/v2/jobs/")).json()["count"] == 0


def test_a_patch_of_a_saved_sweep_reads_its_templates_again(fake: Fake, api: requests.Session) -> None:
    ids = doe_files(fake)
    job = fake.create_job(**doe_body(ids))
    other = upload_typed(fake, "T.inp_template", b"T=${x_velocity?c}\n", 2)["id"]
    analyses = doe_body(ids)["jobanalyses"]
    analyses[0]["templateTasks"] = [{"templateFile": {"id": other}, "processedFilename": "T"}]
    response = api.patch(fake.url(f"/api/v2/jobs/{job['id']}/"), json={"jobanalyses": analyses})
    assert response.status_code == 200 and response.json()["jobanalyses"][0]["templateTasks"][0]["processedFilename"] == "T"
    bad = upload_typed(fake, "B.inp_template", b"${nope}\n", 2)["id"]
    analyses[0]["templateTasks"] = [{"templateFile": {"id": bad}, "processedFilename": "B"}]
    assert api.patch(fake.url(f"/api/v2/jobs/{job['id']}/"), json={"jobanalyses": analyses}).status_code == 400
    fake.submit(job["id"])
    fake.control.advance(EXECUTING_AFTER + RUN)
    files = api.get(fake.url(f"/api/v2/jobs/{job['id']}/runs/1/files/")).json()["results"]
    processed = next(f for f in files if f["name"] == "T")
    assert api.get(fake.url(f"/api/v2/files/{processed['id']}/contents/")).content == b"T=10\n"


def test_the_runs_page_limit_is_configurable(tmp_path: Any) -> None:
    from rescale_mock import create_app
    from rescale_mock.config import Config

    app = create_app(Config(data_dir=tmp_path, clock_mode="manual", api_keys=("k" * 32,), max_runs_page_size=3))
    client, headers = app.test_client(), {"Authorization": "Token " + "k" * 32}
    try:
        ids = {}
        for key, (name, data, type_id) in {"template": ("U", TEMPLATE, 2), "params": ("p.csv", CSV, 3)}.items():
            ids[key] = client.post("/api/v2/files/contents/", headers=headers, data={
                "file": (io.BytesIO(data), name), "typeId": str(type_id)}).get_json()["id"]
        body = doe_body({**ids, "input": ids["params"], "script": ids["params"]})
        job = client.post("/api/v2/jobs/", json=body, headers=headers).get_json()
        client.post(f"/api/v2/jobs/{job['id']}/submit/", headers=headers)
        client.post("/_fake/clock/advance/", json={"seconds": EXECUTING_AFTER}, headers=headers)
        page = client.get(f"/api/v2/jobs/{job['id']}/runs/?page_size=1848", headers=headers).get_json()
        assert page["count"] == 5 and len(page["results"]) == 3 and "page=2" in page["next"]
    finally:
        app.extensions["rescale_mock"].close()


def test_serve_takes_the_runs_page_limit() -> None:
    from rescale_mock.cli import build_parser, config_from

    assert config_from(build_parser().parse_args(["serve", "--max-runs-page-size", "5"])).max_runs_page_size == 5
    assert config_from(build_parser().parse_args(["serve"])).max_runs_page_size == 10_000


@pytest.mark.parametrize("variables", [[{"name": "a"}, 0] * 600, [0] + [{"name": "a"}] * 1200])
def test_too_many_variables_is_one_400_for_the_list(fake: Fake, api: requests.Session, variables: list[Any]) -> None:
    """Found by the contract test: a list both too long and with bad items made the error tree crash (500)."""
    response = api.post(fake.url("/api/v2/jobs/"), json=doe_body(doe_files(fake), jobvariables=variables))
    assert response.status_code == 400
    assert response.json() == {"jobvariables": ["Ensure this field has no more than 1000 elements."]}


def test_the_walltime_cuts_the_sweep(fake: Fake, api: requests.Session) -> None:
    body = doe_body(doe_files(fake), command="sleep 1500")
    body["jobanalyses"][0]["hardware"]["walltime"] = 1  # 3 waves of 1,500 s do not fit in an hour
    job = fake.create_job(**body)
    fake.submit(job["id"])
    fake.control.advance(EXECUTING_AFTER + 3 * 1500 + 600)
    page = runs(fake, api, job["id"])
    assert [seconds(r) for r in page["results"]] == [1500.0, 1500.0, 1500.0, 1500.0, 600.0]
    final = latest_status(fake, api, job["id"])
    assert (final["status"], final["statusReason"]) == ("Completed", "Job exceeded its walltime")
