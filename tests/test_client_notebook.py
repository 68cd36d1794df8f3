"""The seed notebook's story (seeds/002, Rescale's UserAPI reference: cells 5-56, 71 and 73-75) rewritten with
rescale_client, against the fake over HTTP. Each block is labelled with the notebook cell it replaces; where the
notebook hand-rolls a helper (paging, polling, uploads, downloads, checksums, chunked downloads) the client's own
feature takes its place. Waits move the fake's manual clock instead of sleeping."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from pprint import pprint
from typing import Any

import pytest
from rescale_client import BadRequest, NotFound, RescaleClient, Unauthorized
from rescale_mock.testing import Fake

from .notebook import write_job_inputs

pytestmark = pytest.mark.twins("inprocess", "served", "postgres", "proxied", requests_clean=True)

JOB_FLOW = ["Pending", "Waiting for Queue", "Queued", "Started", "Validated", "Executing", "Completed"]


@pytest.fixture
def client(fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RescaleClient]:
    """cell 3 (`config.get_profile()`): the client reads the same apiconfig profile; here, in the notebook's
    folder with its `job_inputs/`."""
    monkeypatch.chdir(tmp_path)
    write_job_inputs(tmp_path)
    config = tmp_path / "home" / ".config" / "rescale" / "apiconfig"
    config.parent.mkdir(parents=True)
    config.write_text(f"[default]\napibaseurl = {fake.base_url}\napikey = {fake.api_key}\n")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RESCALE_API_BASE_URL", raising=False)
    monkeypatch.delenv("RESCALE_API_KEY", raising=False)
    with RescaleClient(progress=False, sleep=lambda seconds: fake.control.advance(seconds)) as c:
        yield c


def verbose(status: Any) -> None:
    """The notebook's `verbose=True`: print each status as it comes."""
    print(f"{status['status']}" + (f" ({status['statusReason']})" if status.get("statusReason") else ""))


def job_definition(name: str, command: str, **analysis: Any) -> dict[str, Any]:
    return {
        "name": name,
        "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"}, "command": command,
                         "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1}, **analysis}],
        "projectId": None,
        "isLowPriority": True,
    }


def test_cells_05_to_19_user_coretypes_prices_analyses(client: RescaleClient) -> None:
    # cell 5: without a valid key the API answers 401
    with pytest.raises(Unauthorized), RescaleClient(client.base_url, "no-such-key") as anonymous:
        anonymous.users.get_current_user()
    # cell 7
    pprint(client.users.get_current_user())
    # cell 10: one page, and the reference to the next
    coretypes_page = client.catalog.list_core_types()
    print(f"Count: {coretypes_page['count']}; Length: {len(coretypes_page['results'])}")
    print(f"Next page: {coretypes_page['next']}")
    assert coretypes_page["count"] > len(coretypes_page["results"]) and coretypes_page["next"]
    # cell 12-13: `get_all_result_pages` is the client's lazy iterator
    coretypes = list(client.catalog.iter_core_types())
    print(f"Length: {len(coretypes)}")
    assert len(coretypes) == coretypes_page["count"]
    # cell 15
    general_coretypes = {c["code"]: {"cores": c["cores"], "processorInfo": c["processorInfo"]}
                         for c in coretypes if "general" in c["categoryCodes"]}
    assert general_coretypes["granite"]["cores"][0] == 2
    # cell 17: the cheapest On-Demand Economy linux core type among them
    prices = client.catalog.list_compute_prices()
    linux_ode_coretypes = {p["coreType"]: float(p["value"]["amount"]) for p in prices
                           if p["planType"].endswith("on-demand") and p["os"] == "linux" and p["isActive"]
                           and p["coreType"] in general_coretypes}
    min_price_coretype = min(linux_ode_coretypes, key=lambda code: linux_ode_coretypes[code])
    print(f"Lowest price coretype: {min_price_coretype} at {linux_ode_coretypes[min_price_coretype]}")
    # cell 19
    analyses = list(client.catalog.iter_analyses())
    versions_count = sum(len(a["versions"]) for a in analyses)
    print(f"Total number of analyses: {len(analyses)}, Total number of versions: {versions_count}")
    assert "user_included" in {a["code"] for a in analyses} and versions_count >= len(analyses)


def test_cells_22_to_26_job_definition_listing_projects(client: RescaleClient, fake: Fake) -> None:
    # "a job made in the portal" to copy the definition from
    portal = client.jobs.create_job(body=job_definition("Made in the portal", "python3 calculate_pi.py range.inp"))
    client.jobs.submit_job(job_id=portal["id"])
    fake.control.advance(3600)
    # cell 22
    job = client.jobs.get_job(job_id=portal["id"])
    pprint(job["jobanalyses"][0]["analysis"])
    assert job["jobanalyses"][0]["analysis"]["code"] == "user_included"
    # cell 24: completed jobs of this year
    jobs = client.jobs.iter_jobs(state="completed", job_status="COMPLETED")
    this_year = datetime.now(UTC).year
    this_year_jobs = [j for j in jobs if datetime.fromisoformat(j["dateInserted"]).year == this_year]
    print(f"Total jobs: {jobs.count}, Jobs in {this_year}: {len(this_year_jobs)}")
    assert [j["id"] for j in this_year_jobs] == [portal["id"]]
    # cell 26
    for p in client.users.iter_projects():
        print(f"{p['id']}\t{p['name']}")
    assert client.users.iter_projects().count >= 1


def test_cells_28_to_47_first_job_patch_resubmit_delete(client: RescaleClient, capsys: pytest.CaptureFixture[str],
                                                        fake: Fake) -> None:
    # cell 28: granite does not take 1 core per slot; the error names the field
    definition = job_definition("Rescale UserApi Reference Tutorial", "python3 calculate_pi.py range.inp")
    definition["jobanalyses"][0]["hardware"]["coresPerSlot"] = 1
    with pytest.raises(BadRequest) as caught:
        client.jobs.create_job(body=definition)
    pprint(caught.value.field_errors)
    assert list(caught.value.field_errors) == ["jobanalyses[0].hardware.coresPerSlot"]
    # cell 30
    definition["jobanalyses"][0]["hardware"]["coresPerSlot"] = 2
    job_id = client.jobs.create_job(body=definition)["id"]
    # cell 32
    client.jobs.submit_job(job_id=job_id)
    # cells 34-35: `poll_for_job_status` is the waiter
    result = client.wait_for_job(job_id, delay=30, on_status=verbose)
    assert result.statuses == JOB_FLOW and capsys.readouterr().out.splitlines()[-1].startswith("Completed")
    # cell 37: the job's output files named like "output"
    output_files = list(client.jobs.iter_job_files(job_id=job_id, search="output"))
    pprint(output_files)
    assert [f["name"] for f in output_files] == ["process_output.log"]
    # cell 39
    for line in client.files.get_file_lines(file_id=output_files[0]["id"])["lines"]:
        print(line, end="")
    assert "python3 calculate_pi.py range.inp" in capsys.readouterr().out
    # cells 41-42
    file1_id = client.upload_file("job_inputs/calculate_pi.py")["id"]
    file2_id = client.upload_file("job_inputs/range.inp")["id"]
    # cell 44: PATCH and re-submit a Completed job: 200, and no effect (cell 45), as the notebook observed it
    fake.control.settings(finishedJobChanges="ignore")  # the default is the announced 400
    before = client.jobs.get_job(job_id=job_id)
    history = list(client.jobs.iter_job_statuses(job_id=job_id))
    definition["jobanalyses"][0]["inputFiles"] = [{"id": file1_id}, {"id": file2_id}]
    client.jobs.update_job(job_id=job_id, body=definition)
    client.jobs.submit_job(job_id=job_id)
    assert client.jobs.get_job(job_id=job_id) == before
    assert list(client.jobs.iter_job_statuses(job_id=job_id)) == history
    # cells 46-47: wait for the job's cluster to stop, then delete the job
    client.wait_for_job_cluster(job_id, until="Stopped", delay=30)
    client.jobs.delete_job(job_id=job_id)
    with pytest.raises(NotFound):
        client.jobs.get_job(job_id=job_id)


def test_cells_49_to_56_job_with_inputs_download_verify_delete(client: RescaleClient, fake: Fake) -> None:
    file1_id = client.upload_file("job_inputs/calculate_pi.py")["id"]
    file2_id = client.upload_file("job_inputs/range.inp")["id"]
    # cell 49
    definition = job_definition("Rescale UserApi Reference Tutorial (with inputs)",
                                "python3 calculate_pi.py range.inp",
                                inputFiles=[{"id": file1_id}, {"id": file2_id}])
    job_id = client.jobs.create_job(body=definition)["id"]
    client.jobs.submit_job(job_id=job_id)
    client.wait_for_job(job_id, delay=30, on_status=verbose)
    # cells 51-52: every output file, downloaded (each checked against its sha512 on the way)
    out_dir = Path("job_outputs")
    downloaded = client.download_job_outputs(job_id, out_dir)
    assert [p.name for p in downloaded] == ["process_output.log"] and downloaded[0].stat().st_size > 0
    # cell 54: the metadata's checksums, compared by hand as the notebook does
    for f in client.jobs.iter_job_files(job_id=job_id):
        remote = client.files.get_file(file_id=f["id"])
        local = hashlib.sha512(Path(out_dir, f["relativePath"]).read_bytes()).hexdigest()
        print(("OK" if local == remote["fileChecksums"][0]["fileHash"] else "FAIL") + f"\t{f['name']}")
        assert local == remote["fileChecksums"][0]["fileHash"]
    # cell 56: delete the job with its input files once its cluster stopped
    client.wait_for_job_cluster(job_id, until="Stopped", delay=30)
    client.jobs.delete_job(job_id=job_id, delete_input_files=True)
    for gone in (file1_id, file2_id):
        with pytest.raises(NotFound):
            client.files.get_file(file_id=gone)


def test_cell_71_zipped_inputs(client: RescaleClient, capsys: pytest.CaptureFixture[str]) -> None:
    # `create_zip` + `file_upload`: one call; the archive keeps the folder, so the command can `cd` into it
    archive = client.upload_directory("job_inputs", format="zip")
    assert archive["name"] == "job_inputs.zip"
    definition = job_definition("Rescale UserApi Reference Tutorial (with zipped inputs)",
                                "cd job_inputs; python calculate_pi.py range.inp",
                                inputFiles=[{"id": archive["id"]}])
    definition["project_id"] = definition.pop("projectId")
    job_id = client.jobs.create_job(body=definition)["id"]
    client.jobs.submit_job(job_id=job_id)
    # `poll_for_job_status` + `get_process_output_lines`: the log, followed while the job runs
    for line in client.follow_log(job_id, delay=30):
        print(line, end="")
    printed = capsys.readouterr().out
    assert "job_inputs.zip  (unpacked)" in printed and "job_inputs/calculate_pi.py" in printed
    assert "Command exited with status 0" in printed
    assert client.wait_for_job(job_id).succeeded


def test_cells_73_to_75_concurrent_download(client: RescaleClient, fake: Fake) -> None:
    # cell 73 (the notebook's 792917038 base64 bytes, about 1 GB, are 3,000,000 here to keep the test quick)
    test_file_name = "testfile"
    definition = job_definition("Rescale UserApi Reference Tutorial (1GB result file)",
                                f"openssl rand -out {test_file_name} -base64 3000000")
    job_id = client.jobs.create_job(body=definition)["id"]
    client.jobs.submit_job(job_id=job_id)
    client.wait_for_job(job_id, delay=30, on_status=verbose)
    # cell 75: `concurrent_download` (threads, chunk files, concatenation, sha512 check) is `download_file`
    test_file = client.jobs.iter_job_files(job_id=job_id, search=test_file_name).first()
    assert test_file is not None and test_file["decryptedSize"] > 3_000_000
    timings = {}
    for workers in (10, 1):
        started = time.time()
        path = client.download_file(test_file["id"], f"{test_file_name}.{workers}", workers=workers,
                                    chunk_size=256 * 1024)
        timings[workers] = time.time() - started
        assert hashlib.sha512(path.read_bytes()).hexdigest() == test_file["fileChecksums"][0]["fileHash"]
    print(f"Time with 10 threads: {timings[10]} s\nTime with 1 thread: {timings[1]} s")
    ranged = [e for e in fake.control.journal(method="GET", path="/api/v2/files/*/contents/")]
    assert len(ranged) == 2 * -(-test_file["decryptedSize"] // (256 * 1024))
