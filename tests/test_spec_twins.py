"""Where the domain needs a table keyed by a spec enum (SQL for an ordering, the statuses behind a filter), the keys
must be the spec's enum exactly: the domain cannot import the spec (it sits below it, tests/test_layers.py), so this
test is what keeps the two from drifting apart."""
from __future__ import annotations

from typing import Any

import pytest

from rescale_mock.domain import files, jobs
from rescale_mock.spec import CompiledSpec, rescale_spec


def parameter_enums(spec: CompiledSpec, operation_ids: tuple[str, ...], name: str) -> list[list[Any]]:
    found = [spec.resolve(p.validator.schema).get("enum") for op_id in operation_ids
             for p in spec.operations[op_id].parameters if p.name == name]
    assert found, f"no parameter {name} on {operation_ids}"
    return found


@pytest.mark.parametrize("table, operation_ids, name", [
    (jobs.ORDERINGS, ("listJobsV3",), "ordering"),
    (jobs.JOB_STATUS_FILTER, ("listJobs",), "job_status"),
    (files.FILE_ORDERINGS, ("listFilesV3",), "ordering"),
])
def test_a_domain_table_covers_exactly_its_parameters_enum(table: dict[str, Any], operation_ids: tuple[str, ...],
                                                            name: str) -> None:
    for enum in parameter_enums(rescale_spec(), operation_ids, name):
        assert set(table) == set(enum)

