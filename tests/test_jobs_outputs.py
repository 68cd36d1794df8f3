"""What a running or finished job shows (reference §2.1, §4.3, §4.7, §4.9, §5.3): the cluster's instances while it
runs, runs and their files, the live tail of `process_output.log`, and the output files once the job finished —
`process_output.log` (typeId 5) naming the command, the inputs as placed in the work directory (zip and tar.gz
unpacked unless `decompress` is false) and the exit status, plus what `openssl rand -out F N` leaves."""
from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
import zipfile
from typing import Any

import pytest
import requests

from rescale_mock.testing import Fake, job_analysis

pytestmark = pytest.mark.twins("inprocess", "served", "postgres", "proxied", "s3", "s3-served")  # some tests send bad requests on purpose

NOT_FOUND = {"detail": "Not found."}
Z_DATE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
EXECUTING_AT, SYNC = 45.0, 15.0
COMPLETED_AT = EXECUTING_AT + 10 + SYNC
STOPPED_AT = COMPLETED_AT + 41
INSTANCE_KEYS = {"id", "clusterId", "dateStarted", "instanceGroup", "isBehindNat", "privateHostname", "privateIp",
                 "publicHostname", "publicIp", "role", "sshPort", "supportedServices", "tenancy", "username"}
RUN_KEYS = {"id", "type", "displayOrder", "parent", "isOptimal", "dateStarted", "dateCompleted", "outputFileCount",
            "outputFileSize", "variables"}


# -- helpers -----------------------------------------------------------------------------------------------------
def run_job(fake: Fake, api: requests.Session, command: str = "echo hello", inputs: list[dict] | None = None,
            cores: int = 2, slots: int = 1) -> str:
    return fake.start_job(jobanalyses=[job_analysis(command, cores=cores, hardware={"slots": slots},
                                                    inputFiles=inputs or [])])


def results(fake: Fake, api: requests.Session, path: str, **params: Any) -> list[dict[str, Any]]:
    return fake.get(path, page_size=1000, **params)["results"]


def current(fake: Fake, api: requests.Session, job_id: str) -> str:
    return results(fake, api, f"/api/v2/jobs/{job_id}/statuses/")[0]["status"]


def output(fake: Fake, api: requests.Session, job_id: str, name: str) -> dict[str, Any]:
    (found,) = [f for f in results(fake, api, f"/api/v2/jobs/{job_id}/files/") if f["name"] == name]
    return found


def download(fake: Fake, api: requests.Session, file_id: str) -> bytes:
    response = api.get(fake.url(f"/api/v2/files/{file_id}/contents/"))
    assert response.status_code == 200, response.text
    return response.content


def log_lines(fake: Fake, api: requests.Session, job_id: str) -> list[str]:
    log = output(fake, api, job_id, "process_output.log")
    return download(fake, api, log["id"]).decode().splitlines()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_gz_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# -- instances -----------------------------------------------------------------------------------------------------
def test_no_instances_before_the_cluster_started(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "sleep inf")
    fake.control.advance(30)
    page = fake.get(f"/api/v2/jobs/{job_id}/instances/")
    assert (page["count"], page["results"]) == (0, [])


def test_instances_while_the_cluster_runs(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "sleep inf")
    fake.control.advance(EXECUTING_AT + 1)
    (instance,) = results(fake, api, f"/api/v2/jobs/{job_id}/instances/")
    assert set(instance) == INSTANCE_KEYS
    assert instance["role"] == "CUSTOM"
    assert isinstance(instance["publicIp"], str) and instance["publicIp"]
    assert isinstance(instance["username"], str) and instance["username"]
    # a simulated job has nothing to SSH into, and says so (a real run's instances answer: tests/test_ssh.py)
    assert (instance["supportedServices"], instance["sshPort"]) == ([], 0)
    assert re.fullmatch(Z_DATE, instance["dateStarted"])
    cluster_id = results(fake, api, f"/api/v2/jobs/{job_id}/cluster_statuses/")[0]["clusterId"]
    assert instance["clusterId"] == cluster_id


def test_no_instances_once_the_cluster_stopped(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api)
    fake.control.advance(STOPPED_AT + 1)
    assert results(fake, api, f"/api/v2/jobs/{job_id}/instances/") == []


def test_a_multi_node_cluster_has_a_head_and_workers(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "sleep inf", cores=32, slots=2)  # granite: up to 32 cores per node
    fake.control.advance(EXECUTING_AT + 1)
    roles = sorted(i["role"] for i in results(fake, api, f"/api/v2/jobs/{job_id}/instances/"))
    assert roles == ["MPI_MASTER", "MPI_SLAVE"]


# -- runs ----------------------------------------------------------------------------------------------------------
def test_no_runs_before_executing(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api)
    fake.control.advance(EXECUTING_AT - 1)
    assert results(fake, api, f"/api/v2/jobs/{job_id}/runs/") == []
    assert api.get(fake.url(f"/api/v2/jobs/{job_id}/runs/1/")).status_code == 404


def test_one_active_run_while_executing(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "sleep 100")
    fake.control.advance(EXECUTING_AT + 5)
    (run,) = results(fake, api, f"/api/v2/jobs/{job_id}/runs/")
    assert set(run) == RUN_KEYS
    assert (run["id"], run["type"], run["displayOrder"], run["parent"], run["isOptimal"]) == ("1", 3, 1, None, False)
    assert re.fullmatch(Z_DATE, run["dateStarted"]) and run["dateCompleted"] is None
    assert (run["outputFileCount"], run["outputFileSize"], run["variables"]) == (0, None, [])
    assert fake.get(f"/api/v2/jobs/{job_id}/runs/1/") == run


def test_a_completed_run(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "openssl rand -out data.bin 1000")
    fake.control.advance(COMPLETED_AT + 1)
    run = fake.get(f"/api/v2/jobs/{job_id}/runs/1/")
    assert re.fullmatch(Z_DATE, run["dateCompleted"]) and run["dateCompleted"] > run["dateStarted"]
    files = results(fake, api, f"/api/v2/jobs/{job_id}/files/")
    assert run["outputFileCount"] == len(files) == 2
    assert run["outputFileSize"] == sum(f["decryptedSize"] for f in files)


def test_unknown_run_is_404(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api)
    fake.control.advance(COMPLETED_AT + 1)
    for path in ("runs/2/", "runs/2/files/", "runs/2/tail/process_output.log"):
        assert api.get(fake.url(f"/api/v2/jobs/{job_id}/{path}")).status_code == 404, path


def test_run_files_are_the_outputs(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "openssl rand -out data.bin 1000")
    fake.control.advance(COMPLETED_AT + 1)
    run_files = results(fake, api, f"/api/v2/jobs/{job_id}/runs/1/files/")
    assert sorted(f["name"] for f in run_files) == ["data.bin", "process_output.log"]
    assert all(f["typeId"] == 5 for f in run_files)


def test_run_files_are_empty_while_the_run_is_in_progress(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "sleep 100")
    fake.control.advance(EXECUTING_AT + 5)
    assert results(fake, api, f"/api/v2/jobs/{job_id}/runs/1/files/") == []


# -- tail ----------------------------------------------------------------------------------------------------------
def test_tail_lines_while_executing(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "echo one; echo two; echo three; sleep 100")
    fake.control.advance(EXECUTING_AT + 5)
    tail = fake.get(f"/api/v2/jobs/{job_id}/runs/1/tail/process_output.log", lines=2)
    assert set(tail) == {"fileType", "lines"} and isinstance(tail["fileType"], str)
    assert tail["lines"] == ["two", "three"]


def test_tail_lines_have_no_trailing_newlines(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "echo one; sleep 100")
    fake.control.advance(EXECUTING_AT + 5)
    tail = fake.get(f"/api/v2/jobs/{job_id}/runs/1/tail/process_output.log", lines=20)
    assert 1 < len(tail["lines"]) <= 20
    assert not any(line.endswith("\n") for line in tail["lines"])
    assert any("echo one; sleep 100" in line for line in tail["lines"])


def test_tail_without_lines_is_the_raw_file(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "echo one; sleep 100")
    fake.control.advance(EXECUTING_AT + 5)
    response = api.get(fake.url(f"/api/v2/jobs/{job_id}/runs/1/tail/process_output.log"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.endswith("one\n")


def test_tail_is_404_once_the_run_finished(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api)
    fake.control.advance(COMPLETED_AT + 1)
    response = api.get(fake.url(f"/api/v2/jobs/{job_id}/runs/1/tail/process_output.log"), params={"lines": 20})
    assert response.status_code == 404 and response.json() == NOT_FOUND


def test_tail_is_404_before_the_run(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api)
    fake.control.advance(10)
    response = api.get(fake.url(f"/api/v2/jobs/{job_id}/runs/1/tail/process_output.log"), params={"lines": 20})
    assert response.status_code == 404


def test_tail_of_a_missing_file_is_404(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "sleep 100")
    fake.control.advance(EXECUTING_AT + 5)
    assert api.get(fake.url(f"/api/v2/jobs/{job_id}/runs/1/tail/no/such/file.txt")).status_code == 404


# -- process_output.log --------------------------------------------------------------------------------------------
def test_no_output_files_until_the_job_finished(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "sleep 100")
    fake.control.advance(EXECUTING_AT + 50)
    assert results(fake, api, f"/api/v2/jobs/{job_id}/files/") == []


def test_every_job_leaves_process_output_log(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api)
    fake.control.advance(COMPLETED_AT + 1)
    log = output(fake, api, job_id, "process_output.log")
    assert log["typeId"] == 5 and log["relativePath"] == "process_output.log"
    assert re.fullmatch(rf"user/user_\w+/output/job_{job_id}/run1/process_output\.log", log["path"])
    assert log["viewInBrowser"] is True


def test_process_output_names_the_command_its_output_and_exit_status(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "echo hello world; exit 3")
    fake.control.advance(COMPLETED_AT + 1)
    lines = log_lines(fake, api, job_id)
    assert any("echo hello world; exit 3" in line for line in lines)
    assert "hello world" in lines
    assert re.search(r"\bexit\w*\b.*\b3\b", lines[-1], re.I), lines[-1]


def test_a_failing_command_still_ends_completed(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "exit 2")
    fake.control.advance(COMPLETED_AT + 1)
    assert current(fake, api, job_id) == "Completed"
    assert re.search(r"\b2\b", log_lines(fake, api, job_id)[-1])


def test_process_output_lists_plain_inputs(fake: Fake, api: requests.Session) -> None:
    ids = [fake.upload("calculate_pi.py", b"print(3.14)\n")["id"], fake.upload("range.inp", b"1000\n")["id"]]
    job_id = run_job(fake, api, "python3 calculate_pi.py range.inp", [{"id": i} for i in ids])
    fake.control.advance(COMPLETED_AT + 1)
    lines = [line.strip() for line in log_lines(fake, api, job_id)]
    assert "calculate_pi.py" in lines and "range.inp" in lines


def test_process_output_unpacks_a_zip(fake: Fake, api: requests.Session) -> None:
    archive = zip_bytes({"airFoil2D/Allrun": b"#!/bin/sh\n", "airFoil2D/system/controlDict": b"x\n"})
    job_id = run_job(fake, api, "./airFoil2D/Allrun", [{"id": fake.upload("airfoil2d.zip", archive)["id"]}])
    fake.control.advance(COMPLETED_AT + 1)
    lines = [line.strip() for line in log_lines(fake, api, job_id)]
    assert any(line.startswith("airfoil2d.zip") for line in lines)
    assert "airFoil2D/Allrun" in lines and "airFoil2D/system/controlDict" in lines


def test_process_output_unpacks_a_tar_gz(fake: Fake, api: requests.Session) -> None:
    archive = tar_gz_bytes({"model/input.inp": b"*HEADING\n", "model/run.sh": b"echo\n"})
    job_id = run_job(fake, api, "sh model/run.sh", [{"id": fake.upload("rescale.tar.gz", archive)["id"],
                                                     "decompress": True}])
    fake.control.advance(COMPLETED_AT + 1)
    lines = [line.strip() for line in log_lines(fake, api, job_id)]
    assert "model/input.inp" in lines and "model/run.sh" in lines


def test_decompress_false_keeps_the_archive_packed(fake: Fake, api: requests.Session) -> None:
    archive = zip_bytes({"inner/secret.txt": b"x\n"})
    job_id = run_job(fake, api, "unzip packed.zip", [{"id": fake.upload("packed.zip", archive)["id"],
                                                      "decompress": False}])
    fake.control.advance(COMPLETED_AT + 1)
    lines = [line.strip() for line in log_lines(fake, api, job_id)]
    assert "packed.zip" in lines
    assert not any("inner/secret.txt" in line for line in lines)


def test_process_output_of_several_analyses_runs_only_real_commands(fake: Fake, api: requests.Session) -> None:
    fluent = {"analysis": {"code": "ansys_fluent", "version": "2019r1"}, "command": "# ",
              "hardware": {"coreType": "granite", "coresPerSlot": 2}}
    body = {"name": "multi", "jobanalyses": [job_analysis("echo from the first tile"), fluent]}
    job_id = api.post(fake.url("/api/v2/jobs/"), json=body).json()["id"]
    api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/")).raise_for_status()
    fake.control.advance(COMPLETED_AT + 1)
    lines = log_lines(fake, api, job_id)
    assert "from the first tile" in lines
    assert not any(line.rstrip().endswith("# ") or line.strip() == "#" for line in lines)


# -- output files --------------------------------------------------------------------------------------------------
def test_openssl_rand_leaves_an_output_file(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "openssl rand -out results/data.bin 123457")
    fake.control.advance(COMPLETED_AT + 1)
    data_file = output(fake, api, job_id, "data.bin")
    assert data_file["typeId"] == 5 and data_file["relativePath"] == "results/data.bin"
    assert re.fullmatch(rf"user/user_\w+/output/job_{job_id}/run1/results/data\.bin", data_file["path"])
    assert data_file["decryptedSize"] == 123457
    content = download(fake, api, data_file["id"])
    assert len(content) == 123457
    assert hashlib.sha512(content).hexdigest() == data_file["fileChecksums"][0]["fileHash"]
    assert hashlib.md5(content).hexdigest() == data_file["md5"]


def test_openssl_rand_base64_leaves_base64_text(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "openssl rand -out testfile -base64 3000")
    fake.control.advance(COMPLETED_AT + 1)
    content = download(fake, api, output(fake, api, job_id, "testfile")["id"])
    assert len(base64.b64decode(content)) == 3000


def test_job_files_search(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "openssl rand -out testfile 10; openssl rand -out other.dat 10")
    fake.control.advance(COMPLETED_AT + 1)
    path = f"/api/v2/jobs/{job_id}/files/"
    assert [f["name"] for f in results(fake, api, path, search="process_output.log")] == ["process_output.log"]
    assert [f["name"] for f in results(fake, api, path, search="testfile")] == ["testfile"]
    assert {f["name"] for f in results(fake, api, path, search="output")} == {"process_output.log"}
    assert results(fake, api, path, search="nothing-like-this") == []
    assert len(results(fake, api, path)) == 3


def test_job_files_are_only_that_jobs_outputs(fake: Fake, api: requests.Session) -> None:
    fake.upload("input.txt", b"x")
    first = run_job(fake, api, "openssl rand -out a.bin 10")
    second = run_job(fake, api, "openssl rand -out b.bin 10")
    fake.control.advance(COMPLETED_AT + 1)
    assert {f["name"] for f in results(fake, api, f"/api/v2/jobs/{first}/files/")} == {"a.bin", "process_output.log"}
    assert {f["name"] for f in results(fake, api, f"/api/v2/jobs/{second}/files/")} == {"b.bin",
                                                                                          "process_output.log"}


def test_outputs_are_also_in_the_users_files(fake: Fake, api: requests.Session) -> None:
    job_id = run_job(fake, api, "openssl rand -out testfile 10")
    fake.control.advance(COMPLETED_AT + 1)
    found = results(fake, api, "/api/v2/files/", search="testfile")
    assert [f["id"] for f in found] == [output(fake, api, job_id, "testfile")["id"]]


def test_outputs_are_listed_in_pages(fake: Fake, api: requests.Session) -> None:
    command = "; ".join(f"openssl rand -out out{i:02d}.dat 8" for i in range(11))
    job_id = run_job(fake, api, command)
    fake.control.advance(COMPLETED_AT + 1)
    page = fake.get(f"/api/v2/jobs/{job_id}/files/")
    assert page["count"] == 12 and len(page["results"]) == 10 and page["next"].startswith(fake.base_url)


def test_output_can_be_an_input_of_another_job(fake: Fake, api: requests.Session) -> None:
    first = run_job(fake, api, "openssl rand -out result.bin 64")
    fake.control.advance(COMPLETED_AT + 1)
    result_id = output(fake, api, first, "result.bin")["id"]
    second = run_job(fake, api, "cat result.bin", [{"id": result_id}])
    fake.control.advance(COMPLETED_AT + 1)
    assert "result.bin" in [line.strip() for line in log_lines(fake, api, second)]


def test_deleted_input_still_lets_the_job_run(fake: Fake, api: requests.Session) -> None:
    file_id = fake.upload("gone.txt", b"x")["id"]
    body = {"name": "j", "jobanalyses": [job_analysis("cat gone.txt", inputFiles=[{"id": file_id}])]}
    job_id = api.post(fake.url("/api/v2/jobs/"), json=body).json()["id"]
    assert api.delete(fake.url(f"/api/v2/files/{file_id}/")).status_code == 204
    api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/")).raise_for_status()
    fake.control.advance(COMPLETED_AT + 1)
    assert current(fake, api, job_id) == "Completed"
    assert any("gone.txt" in line for line in log_lines(fake, api, job_id))


def test_file_listing_works_while_a_job_runs_forever(fake: Fake, api: requests.Session) -> None:
    """`sleep inf` has an infinite run time, which must never reach the store as non-JSON."""
    body = {"name": "forever", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"},
            "command": "sleep inf", "hardware": {"coreType": "granite", "coresPerSlot": 2}}]}
    job_id = api.post(fake.url("/api/v2/jobs/"), json=body).json()["id"]
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/")).status_code == 200
    fake.control.advance(3600)
    assert api.get(fake.url("/api/v2/files/")).status_code == 200
    assert api.get(fake.url(f"/api/v2/jobs/{job_id}/statuses/")).json()["results"][0]["status"] == "Executing"
