"""Parameter sweeps (DOE): one job, many runs, templates filled per run (issue 20; reference
rescale-api-surface.md §4.1, §4.7, §5.6 and rescale-api-v3-and-catalog.md "DOE")."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from rescale_mock.testing import Fake


def upload(fake: Fake, api: requests.Session, name: str, data: bytes, type_id: int) -> dict[str, Any]:
    """As Rescale's DOE example uploads: `files={'file': fp, 'typeId': type_id}` (typeId a part with a filename)."""
    response = api.post(fake.url("/api/v2/files/contents/"), files={"file": (name, data), "typeId": type_id})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("type_id", [1, 2, 3, 4])
def test_upload_takes_type_id_as_a_file_part(fake: Fake, api: requests.Session, type_id: int) -> None:
    created = upload(fake, api, "U.inp_template", b"x ${x}\n", type_id)
    assert created["typeId"] == type_id
    assert api.get(fake.url(f"/api/v2/files/{created['id']}/")).json()["typeId"] == type_id
    assert api.get(fake.url(f"/api/v2/files/{created['id']}/contents/")).content == b"x ${x}\n"


@pytest.mark.parametrize("value", [b"6", b"abc", b"\xff\xfe", b"1" * 5000])
def test_a_bad_type_id_part_is_400(fake: Fake, api: requests.Session, value: bytes) -> None:
    response = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("x.txt", b"x"), "typeId": ("t", value)})
    assert response.status_code == 400
    assert list(response.json()) == ["typeId"]
    assert api.get(fake.url("/api/v2/files/")).json()["count"] == 0
