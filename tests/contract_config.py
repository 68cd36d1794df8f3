"""What the contract tests (in-process and served) tell schemathesis about the fake, in one place."""
from __future__ import annotations

from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parent.parent / "openapi"

# Valid by the schema yet refused by the fake for reasons the schema cannot state (the catalog, other objects,
# the object's state): a 400 with a Rescale-style body is the right answer there, so the check is told so.
STATEFUL_OR_CATALOG = [
    "createJob", "createJobV3", "updateJob", "deleteJob", "deleteJobV3", "createCluster", "startCluster",
    "stopCluster", "submitJobToCluster", "submitJobToClusterUnversioned", "getFileLines", "uploadFile",
    "uploadFilePut", "updateFile", "setExecution", "submitJob", "submitJobV3", "getFileLinesV3", "uploadFileV3",
    "uploadFilePutV3", "updateFileV3", "createStorageDevice", "submitStorageDevice", "submitStorageDeviceV3",
    "shutdownStorageDevice", "shutdownStorageDeviceV3", "downloadFilesToStorageDevice",
    "downloadFilesToStorageDeviceV3", "attachStorageDevice", "attachStorageDeviceV3",
    "setSshKeys",  # setSshKeys: a string that is no public key
]
ACCEPT_400 = {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409"]}}}
# Multipart: every part travels as bytes, so a "negative" upload (say, a `file` that is a number) reaches the server
# as a valid form and the violation is lost in encoding. The server does check what it can see (a missing `file`
# part, a bad `typeId`: tests/test_files.py).
MULTIPART = ["uploadFile", "uploadFilePut", "uploadFileV3", "uploadFilePutV3"]
NO_NEGATIVE = {"checks": {"negative_data_rejection": {"enabled": False}}}
# Every operation: a generated body that breaks the schema may also be over the server's JSON body limit (2.5 MiB; a
# catalog addition lists 700+ analyses, a job's template tasks and env vars grow as large), and a 413 refuses it as
# well as a 400 does.
REJECT_413 = {"checks": {"negative_data_rejection": {"expected-statuses": [
    "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]}}}
