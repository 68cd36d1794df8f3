"""The v3 surface driven the way Rescale's python-sdk (branch job-hps-builders, `rescale/client.py` and
`builders.py`) drives it: URLs joined onto `<base>/api/v3/`, `Content-Type: application/json` on every request
without files, PUT uploads, the full job template, submit, polling statuses, files, the job's clusters until
`Stopped`, the SSH line in the job's logs, delete (reference rescale-api-v3-and-catalog.md, "v3 jobs")."""
from __future__ import annotations

import copy
import json
import re
from typing import Any, Iterator
from urllib.parse import urljoin

import requests

from rescale_mock.testing import Fake

# The SDK's template, as its JobBuilder fills it (analysis, core type and command set below).
JOB_TEMPLATE: dict[str, Any] = {
    "archiveFilters": [], "autoTerminateCluster": True, "caseFile": None, "inputFileParseTask": "",
    "isTemplateDryRun": False,
    "jobanalyses": [{
        "envVars": {}, "postProcessScript": None, "templateTasks": [], "postProcessScriptCommand": "",
        "onDemandLicenseSeller": None, "useRescaleLicense": False, "preProcessScriptCommand": "", "analysis": {},
        "hardware": {"isReusable": False, "type": "compute", "coreType": {"code": "emerald"}},
        "preProcessScript": None, "flags": {}, "inputFiles": [],
    }],
}
SSH_LOG_RE = re.compile(r".*Command: ssh -i </path/to/key> (\S+);.*")


class SdkConnection:
    """What `RescaleConnect` does: relative URLs, JSON content type unless uploading, `_paginate` with 100 a page."""

    def __init__(self, fake: Fake) -> None:
        self.root = fake.url("/api/v3/")
        self.key = fake.api_key

    def request(self, method: str, relative: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": "Token " + self.key}
        if "files" not in kwargs:
            headers["Content-Type"] = "application/json"
        response = requests.request(method, urljoin(self.root, relative), headers=headers, timeout=30, **kwargs)
        response.raise_for_status()
        return response

    def paginate(self, url: str) -> Iterator[dict[str, Any]]:
        connector = "&" if "?" in url else "?"
        response = self.request("GET", f"{url}{connector}page_size=100").json()
        while True:
            yield from response.get("results", response.get("result"))
            if not response["next"]:
                return
            response = self.request("GET", response["next"]).json()


def build_job(sdk: SdkConnection, file_id: str, command: str) -> dict[str, Any]:
    job_def = copy.deepcopy(JOB_TEMPLATE)
    job_def["name"] = "sdk job"
    job_def["isLowPriority"] = False
    analysis = job_def["jobanalyses"][0]
    analysis["command"] = command
    analysis["analysis"] = {"code": "user_included", "version": "0"}
    analysis["hardware"].update(coresPerSlot=1, slots=1, walltime=4)
    analysis["inputFiles"] = [{"id": file_id}]
    return sdk.request("POST", "jobs/", data=json.dumps(job_def)).json()


def latest_status(sdk: SdkConnection, path: str) -> str | None:
    return next((s["status"] for s in sdk.paginate(path)), None)


def test_the_python_sdk_v3_flow(fake: Fake, tmp_path: Any) -> None:
    sdk = SdkConnection(fake)
    source = tmp_path / "input.txt"
    source.write_text("42\n")
    with open(source, "rb") as fp:
        uploaded = sdk.request("PUT", "files/contents/", files={"file": fp})
    assert uploaded.status_code == 201
    file_id = uploaded.json()["id"]
    assert sdk.request("GET", f"files/{file_id}").json()["name"] == "input.txt"
    assert next(sdk.paginate("files/?search=input.txt"))["id"] == file_id

    job = build_job(sdk, file_id, "cat input.txt; echo done")
    saved = sdk.request("GET", f"jobs/{job['id']}/").json()
    analysis = saved["jobanalyses"][0]
    assert analysis["hardware"]["type"] == "compute" and analysis["hardware"]["isReusable"] is False
    assert analysis["hardware"]["coreType"] == {"code": "emerald"} and analysis["hardware"]["walltime"] == 4
    assert saved["autoTerminateCluster"] is True and saved["inputFileParseTask"] == ""
    assert saved["isTemplateDryRun"] is False and saved["archiveFilters"] == []
    assert [f["id"] for f in analysis["inputFiles"]] == [file_id]

    assert list(sdk.paginate(f"jobs/{job['id']}/clusters/")) == []
    submitted = sdk.request("POST", f"jobs/{job['id']}/submit/")
    assert submitted.status_code == 200 and submitted.content == b""

    fake.control.advance(50)  # Executing: the cluster is up, the logs say how to reach it
    assert latest_status(sdk, f"jobs/{job['id']}/statuses/") == "Executing"
    logs = sdk.request("GET", f"jobs/{job['id']}/logs/?limit=10000").json()
    hosts = {m[1] for log in logs if (m := SSH_LOG_RE.match(log["message"]))}
    assert len(hosts) == 1 and next(iter(hosts)).startswith("uprod_")

    fake.control.advance(60)
    assert latest_status(sdk, f"jobs/{job['id']}/statuses/") == "Completed"
    log_file = next(sdk.paginate(f"jobs/{job['id']}/files/?search=process_output.log"))
    text = sdk.request("GET", f"files/{log_file['id']}/contents/").text
    assert "input.txt" in text and "done" in text
    runs = list(sdk.paginate(f"jobs/{job['id']}/runs/"))
    assert [r["id"] for r in runs] == ["1"]
    assert [f["name"] for f in sdk.paginate(f"jobs/{job['id']}/runs/1/files/")] == ["process_output.log"]

    clusters = [c["id"] for c in sdk.paginate(f"jobs/{job['id']}/clusters/")]
    assert len(clusters) == 1
    cluster = sdk.request("GET", f"clusters/{clusters[0]}/").json()
    assert cluster["name"] == "sdk job" and cluster["hardware"]["coreType"] == {"code": "emerald"}
    for _ in range(20):  # wait_for_cluster_shutdown, with the clock moved instead of sleeping
        if latest_status(sdk, f"clusters/{clusters[0]}/statuses/") == "Stopped":
            break
        fake.control.advance(30)
    assert latest_status(sdk, f"clusters/{clusters[0]}/statuses/") == "Stopped"
    assert sdk.request("DELETE", f"jobs/{job['id']}/").status_code == 204
    assert requests.get(urljoin(sdk.root, f"jobs/{job['id']}/"), headers={"Authorization": "Token " + sdk.key},
                        timeout=30).status_code == 404


def test_job_logs_before_submit_are_empty_and_limit_keeps_the_first(fake: Fake) -> None:
    sdk = SdkConnection(fake)
    job = sdk.request("POST", "jobs/", data=json.dumps({
        "name": "j", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"}, "command": "echo",
                                      "hardware": {"coreType": {"code": "emerald"}, "coresPerSlot": 1}}]})).json()
    assert sdk.request("GET", f"jobs/{job['id']}/logs/").json() == []
    sdk.request("POST", f"jobs/{job['id']}/submit/")
    fake.control.advance(200)
    every = sdk.request("GET", f"jobs/{job['id']}/logs/").json()
    assert every[0] == {"message": "Job status: Pending"} and len(every) > 5
    assert sdk.request("GET", f"jobs/{job['id']}/logs/?limit=2").json() == every[:2]
    assert any(m["message"].startswith("Job status: Completed") for m in every)


def test_unknown_cluster_and_job_are_404(fake: Fake) -> None:
    headers = {"Authorization": "Token " + fake.api_key}
    assert requests.get(fake.url("/api/v3/clusters/nope/"), headers=headers, timeout=30).status_code == 404
    assert requests.get(fake.url("/api/v3/clusters/nope/statuses/"), headers=headers, timeout=30).status_code == 404
    assert requests.get(fake.url("/api/v3/jobs/nope/logs/"), headers=headers, timeout=30).status_code == 404
    assert requests.post(fake.url("/api/v3/jobs/nope/submit/"), headers=headers, timeout=30).status_code == 404
