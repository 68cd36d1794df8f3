"""Job definitions checked against the catalog and the tenant's files (reference §4.1, §4.4, §5.1; notebook cells
28-30), what real clients send that must be accepted (seeds 000, 001, 002, 004), and bad input: each is a 4xx with
a Rescale-style body (`{"detail": ...}` or DRF field errors nested per job analysis) and changes nothing."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from rescale_mock.testing import Fake

NOT_FOUND = {"detail": "Not found."}


# -- helpers -----------------------------------------------------------------------------------------------------
def analysis(command: str = "echo hello", core: Any = "granite", cores: Any = 2, code: str = "user_included",
             version: str = "0", **extra: Any) -> dict[str, Any]:
    return {"analysis": {"code": code, "version": version}, "command": command,
            "hardware": {"coreType": core, "coresPerSlot": cores, "walltime": 1}, **extra}


def post_job(fake: Fake, api: requests.Session, *analyses: dict[str, Any], **body: Any) -> requests.Response:
    payload = {"name": "job", "jobanalyses": list(analyses) or [analysis()], **body}
    return api.post(fake.url("/api/v2/jobs/"), json=payload)


def created(fake: Fake, api: requests.Session, *analyses: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = post_job(fake, api, *analyses, **body)
    assert response.status_code == 201, response.text
    return response.json()


def rejected(response: requests.Response, status: int = 400) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def messages(body: Any) -> list[str]:
    """Every message string in a DRF error body, however nested."""
    if isinstance(body, str):
        return [body]
    if isinstance(body, list):
        return [m for item in body for m in messages(item)]
    if isinstance(body, dict):
        return [m for value in body.values() for m in messages(value)]
    return []


def is_rescale_error(body: Any) -> bool:
    if isinstance(body, dict) and set(body) == {"detail"}:
        return isinstance(body["detail"], str) and bool(body["detail"])
    return isinstance(body, dict) and bool(body) and bool(messages(body))


def job_ids(fake: Fake, api: requests.Session) -> list[str]:
    response = api.get(fake.url("/api/v2/jobs/"), params={"page_size": 1000})
    assert response.status_code == 200
    return [j["id"] for j in response.json()["results"]]


# -- the catalog ---------------------------------------------------------------------------------------------------
def test_granite_with_one_core_is_refused_and_says_what_is_allowed(fake: Fake, api: requests.Session) -> None:
    body = rejected(post_job(fake, api, analysis(cores=1)))
    (errors,) = body["jobanalyses"]
    (message,) = errors["hardware"]["coresPerSlot"]
    assert "granite" in message and "[2, 4, 8, 16, 32]" in message
    assert job_ids(fake, api) == []


def test_granite_with_two_cores_is_created(fake: Fake, api: requests.Session) -> None:
    job = created(fake, api, analysis(cores=2))
    assert job["jobanalyses"][0]["hardware"]["coresPerSlot"] == 2


def test_unknown_core_type_is_refused(fake: Fake, api: requests.Session) -> None:
    body = rejected(post_job(fake, api, analysis(core="marble2")))
    assert "marble2" in " ".join(body["jobanalyses"][0]["hardware"]["coreType"])
    assert job_ids(fake, api) == []


def test_core_type_not_allowed_for_the_version_lists_the_allowed_ones(fake: Fake, api: requests.Session) -> None:
    body = rejected(post_job(fake, api, analysis(core="granite", code="chainer", version="1.22.0-cuda8-gpu-centos")))
    (message,) = body["jobanalyses"][0]["hardware"]["coreType"]
    assert "obsidian" in message and "amethyst" in message


def test_unknown_analysis_code_is_refused(fake: Fake, api: requests.Session) -> None:
    body = rejected(post_job(fake, api, analysis(code="no_such_software")))
    assert "no_such_software" in " ".join(messages(body["jobanalyses"][0]["analysis"]))
    assert job_ids(fake, api) == []


def test_unknown_version_is_refused_and_lists_the_valid_ones(fake: Fake, api: requests.Session) -> None:
    body = rejected(post_job(fake, api, analysis("./Allrun", core="standard-plus", cores=1, code="openfoam",
                                                 version="9.9.9")))
    (message,) = body["jobanalyses"][0]["analysis"]["version"]
    assert "9.9.9" in message and "2.3.0-openmpi" in message and "2.1.1-openmpi" in message


def test_errors_are_nested_per_analysis(fake: Fake, api: requests.Session) -> None:
    body = rejected(post_job(fake, api, analysis(), analysis(core="granite", cores=1)))
    first, second = body["jobanalyses"]
    assert first == {}
    assert "coresPerSlot" in second["hardware"]


def test_unknown_project_is_refused(fake: Fake, api: requests.Session) -> None:
    body = rejected(post_job(fake, api, projectId="NoProj"))
    assert body["projectId"] and "NoProj" in body["projectId"][0]
    assert job_ids(fake, api) == []


# -- what real clients send ----------------------------------------------------------------------------------------
def test_core_type_as_an_object(fake: Fake, api: requests.Session) -> None:
    job = created(fake, api, analysis(core={"code": "hpc-3"}, cores=1))
    assert job["jobanalyses"][0]["hardware"]["coreType"] == "hpc-3"


def test_booleans_as_strings(fake: Fake, api: requests.Session) -> None:
    job = created(fake, api, analysis(useMpi="true"), isLowPriority="true")
    assert job["isLowPriority"] is True
    assert job["jobanalyses"][0]["useMpi"] is True
    job = created(fake, api, analysis(useMpi="false"), isLowPriority="false")
    assert job["isLowPriority"] is False and job["jobanalyses"][0]["useMpi"] is False


def test_use_mpi_spelled_use_MPI(fake: Fake, api: requests.Session) -> None:
    job = created(fake, api, analysis(useMPI=True))
    assert job["jobanalyses"][0]["useMpi"] is True


@pytest.mark.parametrize("key", ["projectId", "project_id"])
def test_project_id_in_either_spelling(fake: Fake, api: requests.Session, key: str) -> None:
    assert created(fake, api, **{key: "xDdRk"})["projectId"] == "xDdRk"


@pytest.mark.parametrize("key", ["projectId", "project_id"])
def test_null_project(fake: Fake, api: requests.Session, key: str) -> None:
    assert created(fake, api, **{key: None})["projectId"] is None


def test_slots_and_cores_as_strings(fake: Fake, api: requests.Session) -> None:
    job = created(fake, api, {"analysis": {"code": "user_included", "version": "0"}, "command": "echo",
                              "hardware": {"coreType": "granite", "coresPerSlot": "2", "slots": "1",
                                           "walltime": "2"}})
    hardware = job["jobanalyses"][0]["hardware"]
    assert (hardware["coresPerSlot"], hardware["slots"], hardware["walltime"]) == (2, 1, 2)


def test_slots_default_to_one(fake: Fake, api: requests.Session) -> None:
    assert created(fake, api)["jobanalyses"][0]["hardware"]["slots"] == 1


def test_several_analyses_with_one_real_command(fake: Fake, api: requests.Session) -> None:
    fluent = analysis("# ", code="ansys_fluent", version="2019r1")
    job = created(fake, api, analysis("python3 calculate_pi.py range.inp"), fluent)
    assert [ja["command"] for ja in job["jobanalyses"]] == ["python3 calculate_pi.py range.inp", "# "]


def test_env_vars_are_kept(fake: Fake, api: requests.Session) -> None:
    env = {"ANSYSLI_SERVERS": "2325@ansys.server.com", "ANSYSLMD_LICENSE_FILE": "1055@ansys.server.com"}
    job = created(fake, api, analysis(envVars=env))
    assert job["jobanalyses"][0]["envVars"] == env


def test_input_files_with_decompress(fake: Fake, api: requests.Session) -> None:
    first, second = fake.upload("a.zip", b"PK"), fake.upload("b.tar.gz", b"x")
    job = created(fake, api, analysis(inputFiles=[{"id": first["id"], "decompress": False},
                                                  {"id": second["id"], "decompress": "true"}]))
    assert [f["id"] for f in job["jobanalyses"][0]["inputFiles"]] == [first["id"], second["id"]]


def test_unknown_extra_keys_are_ignored(fake: Fake, api: requests.Session) -> None:
    hardware = {"coreType": "granite", "coresPerSlot": 2, "type": "compute", "isReusable": False, "cores": 2}
    job = created(fake, api, {"analysis": {"code": "user_included", "version": "0", "name": "BYOS"},
                              "command": "echo", "hardware": hardware, "flags": {"igCv": True}},
                  description="", isTemplate=False)
    assert job["jobanalyses"][0]["hardware"]["coreType"] == "granite"


def test_abaqus_without_interactive_is_refused(fake: Fake, api: requests.Session) -> None:
    body = rejected(post_job(fake, api, analysis("abaqus job=x cpus=2", code="abaqus", version="2022-2241")))
    assert body == {"jobanalyses": [{"command": ["the 'interactive' flag must be present"]}]}


# -- bad input: nothing changes ------------------------------------------------------------------------------------
def test_unknown_input_file_id(fake: Fake, api: requests.Session) -> None:
    good = fake.upload()["id"]
    body = rejected(post_job(fake, api, analysis(inputFiles=[{"id": good}, {"id": "NoFile"}])))
    errors = body["jobanalyses"][0]["inputFiles"]
    assert errors[0] == {} and "NoFile" in errors[1]["id"][0]
    assert job_ids(fake, api) == []


def test_input_file_of_another_tenant(fake: Fake, api: requests.Session, other: Fake) -> None:
    response = other.session().post(fake.url("/api/v2/files/contents/"), files={"file": ("theirs.txt", b"x")})
    theirs = response.json()["id"]
    body = rejected(post_job(fake, api, analysis(inputFiles=[{"id": theirs}])))
    assert theirs in body["jobanalyses"][0]["inputFiles"][0]["id"][0]
    assert job_ids(fake, api) == []


@pytest.mark.parametrize("payload", [
    {},
    {"name": "no analyses"},
    {"jobanalyses": [{"analysis": {"code": "user_included", "version": "0"}, "command": "x",
                      "hardware": {"coreType": "granite", "coresPerSlot": 2}}]},
    {"name": "empty", "jobanalyses": []},
    {"name": "not a list", "jobanalyses": {"command": "x"}},
    {"name": "no hardware", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"},
                                             "command": "x"}]},
    {"name": "no command", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"},
                                            "hardware": {"coreType": "granite", "coresPerSlot": 2}}]},
    {"name": "blank command", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"},
                                               "command": "", "hardware": {"coreType": "granite",
                                                                           "coresPerSlot": 2}}]},
    {"name": "bad cores", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"},
                                           "command": "x", "hardware": {"coreType": "granite",
                                                                        "coresPerSlot": "two"}}]},
    {"name": "bad slots", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"},
                                           "command": "x", "hardware": {"coreType": "granite",
                                                                        "coresPerSlot": 2, "slots": 0}}]},
    {"name": "bad bool", "isLowPriority": "perhaps", "jobanalyses": [
        {"analysis": {"code": "user_included", "version": "0"}, "command": "x",
         "hardware": {"coreType": "granite", "coresPerSlot": 2}}]},
    {"name": "bad input ref", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"},
                                               "command": "x", "inputFiles": [{"name": "a"}],
                                               "hardware": {"coreType": "granite", "coresPerSlot": 2}}]},
    [1, 2, 3],
    "a string",
], ids=["empty", "no-analyses", "no-name", "zero-analyses", "analyses-not-a-list", "no-hardware", "no-command",
        "blank-command", "cores-not-a-number", "zero-slots", "bad-boolean", "input-without-id", "array", "string"])
def test_malformed_job_definitions(fake: Fake, api: requests.Session, payload: Any) -> None:
    body = rejected(api.post(fake.url("/api/v2/jobs/"), json=payload))
    assert is_rescale_error(body), body
    assert job_ids(fake, api) == []


def test_missing_name_says_this_field_is_required(fake: Fake, api: requests.Session) -> None:
    body = rejected(api.post(fake.url("/api/v2/jobs/"), json={"jobanalyses": [analysis()]}))
    assert body == {"name": ["This field is required."]}


def test_invalid_json(fake: Fake, api: requests.Session) -> None:
    response = api.post(fake.url("/api/v2/jobs/"), data=b'{"name": "x", "jobanalyses": [',
                        headers={"Content-Type": "application/json"})
    body = rejected(response)
    assert set(body) == {"detail"} and body["detail"].startswith("JSON parse error")
    assert job_ids(fake, api) == []


def test_form_encoded_body_is_415(fake: Fake, api: requests.Session) -> None:
    response = api.post(fake.url("/api/v2/jobs/"), data={"name": "Basic Job", "jobanalyses": "x"})
    body = rejected(response, 415)
    assert set(body) == {"detail"} and "Unsupported media type" in body["detail"]
    assert job_ids(fake, api) == []


def test_huge_name(fake: Fake, api: requests.Session) -> None:
    body = rejected(post_job(fake, api, name="x" * 100_000))
    assert list(body) == ["name"] and body["name"]
    assert job_ids(fake, api) == []


def test_huge_command_is_accepted_or_refused_cleanly(fake: Fake, api: requests.Session) -> None:
    response = post_job(fake, api, analysis("echo " + "y" * 200_000))
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        assert is_rescale_error(response.json()) and job_ids(fake, api) == []


def test_bad_patch_changes_nothing(fake: Fake, api: requests.Session) -> None:
    job = created(fake, api)
    url = fake.url(f"/api/v2/jobs/{job['id']}/")
    for payload in ({"jobanalyses": [analysis(core="marble2")]}, {"name": ""}, {"name": "x" * 1000},
                    {"projectId": "NoProj"}, {"jobanalyses": [analysis(inputFiles=[{"id": "NoFile"}])]}):
        body = rejected(api.patch(url, json=payload))
        assert is_rescale_error(body), body
    response = api.patch(url, data=b"{", headers={"Content-Type": "application/json"})
    assert rejected(response)["detail"].startswith("JSON parse error")
    assert api.get(url).json() == job


def test_bad_query_parameters_are_field_errors(fake: Fake, api: requests.Session) -> None:
    for params in ({"job_status": "RUNNING"}, {"state": "finished"}, {"page_size": "abc"}):
        body = rejected(api.get(fake.url("/api/v2/jobs/"), params=params))
        assert list(body) == list(params), body


def test_malformed_submit_body(fake: Fake, api: requests.Session) -> None:
    job = created(fake, api)
    response = api.post(fake.url(f"/api/v2/jobs/{job['id']}/submit/"), data=b"{oops",
                        headers={"Content-Type": "application/json"})
    assert rejected(response)["detail"].startswith("JSON parse error")
    assert fake.statuses(job["id"]) == []


def test_submit_with_a_non_json_body_is_415(fake: Fake, api: requests.Session) -> None:
    job = created(fake, api)
    response = api.post(fake.url(f"/api/v2/jobs/{job['id']}/submit/"), data=b"go",
                        headers={"Content-Type": "text/plain"})
    assert "detail" in rejected(response, 415)
    assert fake.statuses(job["id"]) == []


def test_delete_with_a_bad_delete_input_files_value(fake: Fake, api: requests.Session) -> None:
    job = created(fake, api)
    response = api.delete(fake.url(f"/api/v2/jobs/{job['id']}/"), params={"deleteInputFiles": "maybe"})
    assert is_rescale_error(rejected(response))
    assert job_ids(fake, api) == [job["id"]]


# -- another tenant's job ------------------------------------------------------------------------------------------
@pytest.fixture
def their_job(fake: Fake, other: Fake) -> dict[str, Any]:
    response = other.session().post(fake.url("/api/v2/jobs/"), json={"name": "theirs", "jobanalyses": [analysis()]})
    assert response.status_code == 201
    return response.json()


@pytest.mark.parametrize("method, path", [
    ("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "submit/"), ("POST", "stop/"), ("GET", "statuses/"),
    ("GET", "cluster_statuses/"), ("GET", "files/"), ("GET", "runs/"), ("GET", "runs/1/"), ("GET", "instances/"),
])
def test_another_tenants_job_is_not_found(fake: Fake, api: requests.Session, other: Fake,
                                         their_job: dict[str, Any], method: str, path: str) -> None:
    kwargs: dict[str, Any] = {"json": {"name": "mine now"}} if method == "PATCH" else {}
    response = api.request(method, fake.url(f"/api/v2/jobs/{their_job['id']}/{path}"), **kwargs)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert other.session().get(fake.url(f"/api/v2/jobs/{their_job['id']}/")).json() == their_job
    assert other.session().get(fake.url(f"/api/v2/jobs/{their_job['id']}/statuses/")).json()["count"] == 0


def test_another_tenants_job_is_not_found_on_v3(fake: Fake, api: requests.Session, other: Fake,
                                               their_job: dict[str, Any]) -> None:
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "statuses/"), ("POST", "stop/")):
        response = api.request(method, fake.url(f"/api/v3/jobs/{their_job['id']}/{path}"))
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert other.session().get(fake.url(f"/api/v2/jobs/{their_job['id']}/")).status_code == 200


def test_a_deleted_job_is_gone_everywhere(fake: Fake, api: requests.Session) -> None:
    job = created(fake, api)
    assert api.delete(fake.url(f"/api/v2/jobs/{job['id']}/")).status_code == 204
    for method, path in (("POST", "submit/"), ("POST", "stop/"), ("GET", "statuses/"), ("PATCH", ""),
                         ("GET", "runs/"), ("GET", "instances/")):
        kwargs: dict[str, Any] = {"json": {"name": "back"}} if method == "PATCH" else {}
        response = api.request(method, fake.url(f"/api/v2/jobs/{job['id']}/{path}"), **kwargs)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path
    assert job_ids(fake, api) == []


def test_without_a_token_is_401(fake: Fake, api: requests.Session) -> None:
    response = requests.post(fake.url("/api/v2/jobs/"), json={"name": "x", "jobanalyses": [analysis()]})
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert job_ids(fake, api) == []
