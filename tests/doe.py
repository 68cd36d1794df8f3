"""Rescale's DOE example (an OpenFOAM airfoil sweep: a CSV of parameters, a template, a post-processing script), as
the sweep, share and catalog tests upload and submit it."""
from __future__ import annotations

from typing import Any

import requests

from rescale_mock.testing import Fake


def upload_typed(fake: Fake, name: str, data: bytes, type_id: int) -> dict[str, Any]:
    """As Rescale's DOE example uploads: `files={'file': fp, 'typeId': type_id}` (typeId a part with a filename)."""
    response = requests.post(fake.url("/api/v2/files/contents/"), headers=fake.headers, timeout=30,
                             files={"file": (name, data), "typeId": type_id})  # type: ignore[dict-item]
    assert response.status_code == 201, response.text
    return response.json()


CSV = b"x_velocity,y_velocity,label\n10,0.5,a\n12.5,0.25,b\n15,0,c\n17.125,-0.125,d\n20,1e-1,e\n"
TEMPLATE = (b'internalField uniform (${x_velocity?string("0.00")} ${y_velocity?c} 0); // ${label}\n'
            b"#include \"initialConditions\"\n")
EXECUTING_AFTER = 45.0  # seconds from submission to Executing (lifecycle.EXECUTING)
RUN = 60.0


def doe_files(fake: Fake, csv: bytes = CSV, template: bytes = TEMPLATE) -> dict[str, str]:
    return {
        "input": upload_typed(fake, "airfoil2D_DOE.zip", b"PK\x05\x06" + b"\0" * 18, 1)["id"],
        "template": upload_typed(fake, "U.inp_template", template, 2)["id"],
        "params": upload_typed(fake, "openfoam.csv", csv, 3)["id"],
        "script": upload_typed(fake, "extract.py", b"print('Cd Cl')\n", 4)["id"],
    }


def doe_body(ids: dict[str, str], slots: int = 2, command: str = f"cd airfoil2D_DOE\nsleep {RUN:g}",
             **extra: Any) -> dict[str, Any]:
    """The shape of Rescale's DOE example (an OpenFOAM airfoil sweep), on a core type and code in the catalog."""
    return {
        "name": "OpenFOAM: Airfoil Parametric Analysis - CSV params", "description": "", "clonedFrom": "Qanyhb",
        "archiveFilters": [], "isLowPriority": True,
        "jobanalyses": [{
            "analysis": {"code": "user_included", "version": "0"}, "command": command, "flags": {},
            "hardware": {"coresPerSlot": 1, "slots": slots, "walltime": 10, "type": "compute", "coreType": "emerald"},
            "inputFiles": [{"id": ids["input"], "decompress": True}], "onDemandLicenseSeller": None, "envVars": None,
            "postProcessScript": {"id": ids["script"]},
            "postProcessScriptCommand": "python extract.py airfoil2D_DOE/log.simpleFoam Cd Cl",
            "templateTasks": [{"templateFile": {"id": ids["template"]}, "processedFilename": "airfoil2D_DOE/0/U"}],
        }],
        "paramFile": {"id": ids["params"]}, "jobvariables": [], "inputFileParseTask": "", "isTemplate": False,
        "templatedFrom": None, "includeNominalRun": False, **extra,
    }
