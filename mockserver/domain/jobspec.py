"""Job definitions: what clients send (already shape-checked against the spec) checked against the catalog and the
tenant's files, and normalised into the stored document. Errors come back nested per analysis, as DRF does."""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

from .catalog import DEFAULT_CORES, Catalog, complete_core_type, complete_version, is_code, is_version
from .errors import InvalidInput
from .files import FileRecord

FindFiles = Callable[[list[str]], dict[str, FileRecord]]


def as_bool(value: Any, default: bool = False) -> bool:
    """Clients send booleans as JSON booleans or as "true"/"false" strings (seeds 000 and 001)."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def as_int(value: Any, default: int | None = None) -> int | None:
    """An integer or a string of digits; one longer than any valid value reads as 10**18 (out of every range)."""
    if value is None or value == "":
        return default
    if isinstance(value, str) and len(value.strip().lstrip("+-")) > 18:
        return 10**18
    return int(value)


def core_type_code(value: Any) -> str:
    """v2 sends `"coreType": "hpc-3"`, v3 `{"code": "hpc-3"}`; the fake takes both everywhere."""
    return value.get("code", "") if isinstance(value, dict) else str(value)


UNKNOWN_CORE_TYPE = {"cores": [1], "memory": 3750, "storage": 40}  # for a job whose core type left the catalog


def nodes_for(hardware: dict[str, Any], core_type: dict[str, Any]) -> int:
    """Nodes a job needs: its cores spread over the core type's largest node."""
    return max(1, math.ceil(hardware["coresPerSlot"] * hardware["slots"] / max(core_type["cores"])))


def core_summary(hardware: dict[str, Any], core_type: dict[str, Any]) -> dict[str, int]:
    """`hardware.coreSummary` as seed 003 shows it (standard-plus, 1 core: 3750 MB and 4000 of storage a node)."""
    per_node = min(hardware["coresPerSlot"] * hardware["slots"], max(core_type["cores"]))
    return {"memoryPerNode": core_type["memory"] * per_node, "numberOfNodes": nodes_for(hardware, core_type),
            "storagePerNode": core_type["storage"] * 100}


MAX_MONTE_CARLO = 100_000


def _doe_file_refs(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    refs = [task["templateFile"] for task in analysis.get("templateTasks") or []]
    return refs + [analysis[key] for key in ("preProcessScript", "postProcessScript") if analysis.get(key)]


def _relative_path(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    return not path.startswith(("/", "\\")) and "\0" not in path and ".." not in parts and all(parts)


def pk_error(value: Any) -> list[str]:
    return [f'Invalid pk "{value}" - object does not exist.']


class JobSpecs:
    def __init__(self, catalog: Catalog, lenient: bool = False,
                 learn: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.catalog = catalog
        # lenient catalog mode: a well-formed unknown analysis code/version or core type is accepted, and `learn`
        # adds it to the tenant's catalog once the whole definition is valid
        self.lenient, self.learn = lenient, learn
        self.learned: dict[str, list[dict[str, Any]]] = {"analyses": [], "coreTypes": []}

    def commit_learned(self) -> None:
        if self.learn is not None and any(self.learned.values()):
            self.learn(self.learned)
        self.learned = {"analyses": [], "coreTypes": []}

    def _lenient_version(self, code: str, version_code: str) -> dict[str, Any] | None:
        if not (self.lenient and is_code(code) and is_version(version_code)):
            return None
        self.learned["analyses"].append({"code": code, "versions": [{"versionCode": version_code}]})
        return complete_version({"versionCode": version_code}, [])

    def _lenient_core_type(self, code: str, cores: Any) -> dict[str, Any] | None:
        if not (self.lenient and is_code(code) and isinstance(cores, int) and 1 <= cores <= 100000):
            return None
        entry = {"code": code, "cores": sorted({*DEFAULT_CORES, cores})}
        self.learned["coreTypes"].append(entry)
        return complete_core_type(entry)

    def project(self, body: dict[str, Any], errors: dict[str, Any]) -> str | None:
        project = body.get("projectId", body.get("project_id"))
        if project is not None and project not in self.catalog.project_ids():
            errors["projectId"] = pk_error(project)
        return project

    def analyses(self, raw_list: list[dict[str, Any]], find_files: FindFiles) -> tuple[list[dict], list[dict]]:
        ids = [f["id"] for ja in raw_list for f in ja.get("inputFiles") or []]
        ids += [ref["id"] for ja in raw_list for ref in _doe_file_refs(ja)]
        files = find_files(ids)
        docs, errors = [], []
        for raw in raw_list:
            doc, error = self._analysis(raw, files)
            docs.append(doc)
            errors.append(error)
        return docs, errors

    def _analysis(self, raw: dict[str, Any], files: dict[str, FileRecord]) -> tuple[dict, dict]:
        errors: dict[str, Any] = {}
        code, version_code = raw["analysis"]["code"], str(raw["analysis"]["version"])
        analysis = self.catalog.analysis(code)
        version = self.catalog.analysis_version(code, version_code) if analysis else None
        if version is None:
            version = self._lenient_version(code, version_code)
        if version is None and analysis is None:
            errors["analysis"] = {"code": [f'"{code}" is not a valid analysis code.']}
        elif version is None:
            valid = [v["versionCode"] for v in analysis["versions"]]
            errors["analysis"] = {"version": [f'"{version_code}" is not a valid version of {code}. Valid: {valid}']}
        hardware, hardware_errors = self.hardware(raw["hardware"], version)
        if hardware_errors:
            errors["hardware"] = hardware_errors
        command = raw["command"]
        if code == "abaqus" and command.strip() not in ("#", "# ") and "interactive" not in command:
            errors["command"] = ["the 'interactive' flag must be present"]  # Abaqus' own check (IL fixture)
        inputs, input_errors = [], []
        for ref in raw.get("inputFiles") or []:
            record = files.get(ref["id"])
            input_errors.append({} if record else {"id": pk_error(ref["id"])})
            if record:
                inputs.append({"file": dataclasses.asdict(record), "decompress": as_bool(ref.get("decompress"), True)})
        if any(input_errors):
            errors["inputFiles"] = input_errors
        templates, scripts = self._doe_parts(raw, files, errors)
        doc = {
            "analysis": {
                "code": code,
                "version": version["versionCode"] if version else version_code,
                "name": analysis["name"] if analysis else code,
                "versionName": version["version"] if version else version_code,
            },
            "command": command,
            "useMpi": as_bool(raw.get("useMpi", raw.get("useMPI"))),
            "envVars": raw.get("envVars"),
            "flags": raw.get("flags") or {},
            "useRescaleLicense": as_bool(raw.get("useRescaleLicense")),
            "onDemandLicenseSeller": raw.get("onDemandLicenseSeller"),
            "userDefinedLicenseSettings": raw.get("userDefinedLicenseSettings"),
            "preProcessScriptCommand": raw.get("preProcessScriptCommand") or "",
            "postProcessScriptCommand": raw.get("postProcessScriptCommand") or "",
            "inputFiles": inputs,
            "hardware": hardware,
            "templateTasks": templates,
            **scripts,
        }
        return doc, errors

    @staticmethod
    def _doe_parts(raw: dict[str, Any], files: dict[str, FileRecord], errors: dict[str, Any]) -> tuple[list, dict]:
        """Template tasks and pre/post-process scripts, each a file saved whole in the job (as inputs are)."""
        templates, template_errors = [], []
        for task in raw.get("templateTasks") or []:
            record = files.get(task["templateFile"]["id"])
            problems: dict[str, Any] = {} if record else {"templateFile": {"id": pk_error(task["templateFile"]["id"])}}
            if not _relative_path(task["processedFilename"]):
                problems["processedFilename"] = ["Enter a relative path inside the run's work directory."]
            template_errors.append(problems)
            if record:
                templates.append({"templateFile": dataclasses.asdict(record),
                                  "processedFilename": task["processedFilename"]})
        if any(template_errors):
            errors["templateTasks"] = template_errors
        scripts: dict[str, Any] = {}
        for key in ("preProcessScript", "postProcessScript"):
            ref = raw.get(key)
            record = files.get(ref["id"]) if ref else None
            if ref and record is None:
                errors[key] = {"id": pk_error(ref["id"])}
            scripts[key] = dataclasses.asdict(record) if record else None
        return templates, scripts

    def hardware(self, raw: dict[str, Any], version: dict[str, Any] | None) -> tuple[dict, dict]:
        errors: dict[str, Any] = {}
        code = core_type_code(raw["coreType"])
        core_type = self.catalog.core_type(code)
        cores = as_int(raw["coresPerSlot"])
        if core_type is None:
            core_type = self._lenient_core_type(code, cores)
        if core_type is None or not core_type["isActive"]:
            errors["coreType"] = [f'"{code}" is not a valid core type.']
        elif version is not None and code not in version["allowedCoreTypes"] and not self.lenient:
            errors["coreType"] = [f'Core type {code} is not allowed for this analysis version. '
                                  f'Allowed: {version["allowedCoreTypes"]}']
        elif cores not in core_type["cores"]:
            errors["coresPerSlot"] = [f"{cores} is not a valid core count for coretype {code}. "
                                      f"Valid: {core_type['cores']}"]
        slots = as_int(raw.get("slots"), 1)  # the spec bounds counts (1 to a few digits) before they get here
        walltime = as_int(raw.get("walltime"))
        hardware = {"coreType": code, "coresPerSlot": cores, "slots": slots, "walltime": walltime,
                    "type": raw.get("type") or "compute", "isReusable": as_bool(raw.get("isReusable"))}
        return hardware, errors

    def build(self, body: dict[str, Any], find_files: FindFiles) -> dict[str, Any]:
        """A new job's document from a create body; raises InvalidInput with DRF-nested errors."""
        errors: dict[str, Any] = {}
        project = self.project(body, errors)
        analyses, analysis_errors = self.analyses(body["jobanalyses"], find_files)
        if any(analysis_errors):
            errors["jobanalyses"] = analysis_errors
        doe = self.doe(body, find_files, errors)
        if errors:
            raise InvalidInput(errors)
        self.commit_learned()
        return {
            "name": body["name"],
            "description": body.get("description") or "",
            "projectId": project,
            "isLowPriority": as_bool(body.get("isLowPriority")),
            "jobanalyses": analyses,
            "clusterId": body.get("clusterId"),
            "tags": list(body.get("tags") or []),
            # the rest of the python-sdk's full v3 template, stored to be echoed
            "autoTerminateCluster": as_bool(body.get("autoTerminateCluster"), True),
            "inputFileParseTask": body.get("inputFileParseTask") or "",
            "isTemplateDryRun": as_bool(body.get("isTemplateDryRun")),
            "archiveFilters": body.get("archiveFilters") or [],
            **doe,
        }

    @staticmethod
    def doe(body: dict[str, Any], find_files: FindFiles, errors: dict[str, Any]) -> dict[str, Any]:
        """The job-level DOE fields (D16 "Job level fields"); the sweep itself is read in `sweeps.py`."""
        param_ref = body.get("paramFile")
        param = find_files([param_ref["id"]]).get(param_ref["id"]) if param_ref else None
        if param_ref and param is None:
            errors["paramFile"] = {"id": pk_error(param_ref["id"])}
        iterations = as_int(body.get("monteCarloIterations"))
        if iterations is not None and not 1 <= iterations <= MAX_MONTE_CARLO:
            errors["monteCarloIterations"] = [f"Ensure this value is between 1 and {MAX_MONTE_CARLO}."]
        variables = [
            {"name": raw["name"], "variableType": raw.get("variableType") or "Param",
             "displayOrder": as_int(raw.get("displayOrder"), index),
             "valueGeneratorType": raw.get("valueGeneratorType") or "",
             "valueGeneratorSettings": raw.get("valueGeneratorSettings") or {}}
            for index, raw in enumerate(body.get("jobvariables") or [])
        ]
        names = [v["name"] for v in variables]
        if len(set(names)) != len(names):
            errors["jobvariables"] = ["Variable names must be unique."]
        return {
            "paramFile": dataclasses.asdict(param) if param else None,
            "jobvariables": variables,
            "includeNominalRun": as_bool(body.get("includeNominalRun")),
            "monteCarloIterations": iterations,
            "expectedRuns": 1,  # a sweep's count is set once its parameter file is read
        }

    def changes(self, body: dict[str, Any], find_files: FindFiles, definition_open: bool) -> dict[str, Any]:
        """The fields a PATCH may change: all of them on a saved job, only the labels once it was submitted."""
        errors: dict[str, Any] = {}
        changed: dict[str, Any] = {}
        for key in ("name", "description"):
            if key in body:
                changed[key] = body[key] or ("" if key == "description" else body[key])
        if "projectId" in body or "project_id" in body:
            changed["projectId"] = self.project(body, errors)
        if definition_open:
            if "isLowPriority" in body:
                changed["isLowPriority"] = as_bool(body["isLowPriority"])
            if "jobanalyses" in body:
                analyses, analysis_errors = self.analyses(body["jobanalyses"], find_files)
                if any(analysis_errors):
                    errors["jobanalyses"] = analysis_errors
                changed["jobanalyses"] = analyses
        if errors:
            raise InvalidInput(errors)
        self.commit_learned()
        return changed
