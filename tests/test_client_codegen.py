"""The generated half of the client: regenerated from the spec it must equal the checked-in files byte for byte, so
spec and client cannot drift; and it must cover every operation of the spec with the documented shapes."""
from __future__ import annotations

import inspect
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import requests
import rescale_client
import yaml
from rescale_client import api, codegen, models
from rescale_client.pagination import Paginator
from rescale_mock.testing import Fake

PACKAGE = Path(rescale_client.__file__).resolve().parent
SPEC = codegen.default_spec()
DOC = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
OPERATIONS = {op["operationId"]: (method.upper(), path, op) for path, item in DOC["paths"].items()
              for method, op in item.items() if method in codegen.METHODS}


def test_checked_in_files_are_what_the_spec_generates(tmp_path: Path) -> None:
    assert codegen.main(["--spec", str(SPEC), "--out", str(tmp_path)]) == 0
    generated = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.py"))
    assert generated == sorted(codegen.generate(SPEC))
    for relative in generated:
        fresh, checked_in = (tmp_path / relative).read_bytes(), (PACKAGE / relative).read_bytes()
        assert fresh == checked_in, f"client/{relative} differs from the spec: run `make generate`"


def test_generation_is_deterministic() -> None:
    assert codegen.generate(SPEC) == codegen.generate(SPEC)


def test_check_mode_reports_drift(tmp_path: Path) -> None:
    assert codegen.main(["--spec", str(SPEC), "--out", str(tmp_path)]) == 0
    assert codegen.main(["--check", "--spec", str(SPEC), "--out", str(tmp_path)]) == 0
    (tmp_path / "api" / "jobs.py").write_text("# edited by hand\n", encoding="utf-8")
    assert codegen.main(["--check", "--spec", str(SPEC), "--out", str(tmp_path)]) == 1


def test_make_generate_entry_point_runs_as_a_module() -> None:
    done = subprocess.run([sys.executable, "-m", "rescale_client.codegen", "--check"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_generated_files_say_they_are_generated() -> None:
    for relative in codegen.generate(SPEC):
        assert (PACKAGE / relative).read_text(encoding="utf-8").startswith(codegen.HEADER)


def test_every_operation_has_one_method_in_its_tag_class() -> None:
    assert set(api.OPERATIONS) == set(OPERATIONS)
    assert len(OPERATIONS) == 81
    tags = [t["name"] for t in DOC["tags"]]
    assert {info.tag for info in api.OPERATIONS.values()} == set(tags)
    for op_id, info in api.OPERATIONS.items():
        method, path, op = OPERATIONS[op_id]
        cls = getattr(api, codegen.pascal(info.tag) + "Api")
        function = getattr(cls, info.method)
        assert (info.http_method, info.path, info.tag) == (method, path, op["tags"][0])
        assert info.method == codegen.snake(op_id)
        doc = inspect.getdoc(function) or ""
        assert doc.startswith(op["summary"]) and f"`{method} {path}`" in doc, op_id
        params = inspect.signature(function).parameters
        assert all(p.kind is p.KEYWORD_ONLY for name, p in params.items() if name != "self"), op_id


def test_parameters_become_keyword_arguments() -> None:
    params = inspect.signature(api.JobsApi.list_jobs).parameters
    assert list(params)[1:] == ["page", "page_size", "state", "job_status"]
    assert "body" in inspect.signature(api.JobsApi.create_job).parameters
    assert inspect.signature(api.JobsApi.create_job).parameters["body"].default is inspect.Parameter.empty
    assert inspect.signature(api.JobsApi.submit_job).parameters["body"].default is None
    assert list(inspect.signature(api.FilesApi.download_file).parameters)[1:] == [
        "file_id", "range", "if_range", "if_none_match"]
    assert list(inspect.signature(api.FilesApi.upload_file).parameters)[1:] == ["fields", "progress"]
    assert list(inspect.signature(api.RunsApi.tail_job_run_file).parameters)[1:] == [
        "job_id", "run_id", "path", "lines"]


def test_return_types_follow_the_spec() -> None:
    def returns(function: object) -> object:
        return typing.get_type_hints(function)["return"]

    assert returns(api.JobsApi.create_job) is models.Job
    assert returns(api.JobsApi.list_jobs) is models.JobSummaryPage
    assert returns(api.JobsApi.delete_job) is type(None)
    assert returns(api.CatalogApi.list_compute_prices) == list[models.ComputePrice]
    assert returns(api.FilesApi.download_file) is requests.Response
    assert returns(api.JobsApi.iter_job_statuses) == Paginator[models.JobStatus]


def test_paged_operations_get_an_iterator() -> None:
    paged = {op_id for op_id, (_, _, op) in OPERATIONS.items()
             if "Page" in str(op["responses"].get("200", {}).get("content", {}).get("application/json", {}))}
    with_iterator = {op_id for op_id, info in api.OPERATIONS.items() if info.iterator}
    assert with_iterator == paged and len(paged) == 27
    assert api.OPERATIONS["listJobs"].iterator == "iter_jobs"
    assert api.OPERATIONS["listJobStatusesV3"].iterator == "iter_job_statuses_v3"
    assert "page" not in inspect.signature(api.JobsApi.iter_jobs).parameters


def test_models_cover_every_component_schema() -> None:
    for name in DOC["components"]["schemas"]:
        assert hasattr(models, name), name
    assert models.File.__total__ is False
    assert set(models.Job.__annotations__) >= {"id", "name", "jobanalyses", "dateInserted", "projectId"}
    assert typing.get_type_hints(models.JobCreate)["jobanalyses"] == list[models.JobAnalysisCreate]
    unknown_keys_kept: models.Project = {"id": "x", "name": "y"}
    assert dict(unknown_keys_kept, extra=1)["extra"] == 1


def test_all_of_becomes_typeddict_inheritance() -> None:
    """A schema made with `allOf` inherits what it names instead of repeating it; a page narrows `Page[Item]`."""
    source = (PACKAGE / "models.py").read_text(encoding="utf-8")
    assert "class Job(JobBase, total=False):" in source and "class CoreType(CoreTypeBase, total=False):" in source
    assert "class JobSummaryPage(Page[JobSummary], total=False):" in source
    assert "class Page(TypedDict, Generic[Item], total=False):" in source
    assert source.count("    results: ") == 1 and source.count("    jobanalyses: list[JobAnalysis]\n") == 1
    assert set(typing.get_type_hints(models.Job)) >= set(typing.get_type_hints(models.JobBase)) | {"jobanalyses"}
    assert typing.get_type_hints(models.JobSummaryPage)["results"] == list[models.Item]  # type: ignore[attr-defined]


def test_the_control_plane_client_is_generated_from_control_yaml(fake: Fake) -> None:
    """`rescale_client.control_api.ControlApi` has one method per operation of openapi/control.yaml; the testing
    helper `Control` (`fake.control`) only gives them short names."""
    from rescale_client import control_api

    control_doc = yaml.safe_load(codegen.default_spec("control.yaml").read_text(encoding="utf-8"))
    operations = {op["operationId"]: op for item in control_doc["paths"].values()
                  for method, op in item.items() if method in codegen.METHODS}
    assert {name for name in vars(control_api.ControlApi) if not name.startswith("_")} == {
        codegen.snake(op_id) for op_id in operations}
    assert (inspect.getdoc(control_api.ControlApi.advance_clock) or "").startswith(
        operations["advanceClock"]["summary"])
    assert isinstance(fake.control.api, control_api.ControlApi)
    before = fake.control.api.get_clock()["now"]
    assert fake.control.advance(60)["now"] != before
    requests.get(fake.url("/api/v2/users/me/"), headers=fake.headers, timeout=30)
    page = fake.control.api.list_journal(operation_id="getCurrentUser", limit=5)
    assert [e["operationId"] for e in page["results"]] == ["getCurrentUser"]
    assert fake.control.journal(operationId="getCurrentUser") == page["results"]
    for control_schema in control_doc["components"]["schemas"]:
        assert hasattr(control_api, control_schema), control_schema


def test_generated_code_is_what_the_formatter_writes() -> None:
    """Layout comes from the templates and `ruff format` (line length 120), not from hand-wrapping."""
    for relative, content in codegen.generate(SPEC).items():
        assert codegen.ruff_format(content, relative) == content, relative
    assert not hasattr(codegen, "wrap_signature") and not hasattr(codegen, "wrap_statement")


@pytest.mark.parametrize("name, expected", [
    ("listJobsV3", "list_jobs_v3"), ("getCurrentUserV3", "get_current_user_v3"), ("If-None-Match", "if_none_match"),
    ("isActive", "is_active"), ("deleteInputFiles", "delete_input_files"), ("page_size", "page_size"),
])
def test_snake_case(name: str, expected: str) -> None:
    assert codegen.snake(name) == expected


def test_type_hints_resolve_at_run_time() -> None:
    """Aliases come after the names they use, so tools that read annotations (typing.get_type_hints) work."""
    for name in dir(models):
        value = getattr(models, name)
        if isinstance(value, type) and issubclass(value, dict) and value is not dict:
            typing.get_type_hints(value)
    for info in api.OPERATIONS.values():
        cls = getattr(api, codegen.pascal(info.tag) + "Api")
        for method in filter(None, (info.method, info.iterator)):
            typing.get_type_hints(getattr(cls, method))
