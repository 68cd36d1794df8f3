"""`rescale-cli` (the Rescale CLI's verbs and flags) against a served fake, run as users run it: a console script in
a subprocess, often inside the shell scripts of seeds 001 and 004. Time moves by the control plane (the manual
clock advanced, or the poll clock for `submit -E`), never by sleeping."""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import requests

from rescale_mock.testing import Fake

BIN = Path(sys.executable).parent
RESCALE_CLI = str(BIN / "rescale-cli")
RESCALE_MOCK = str(BIN / "rescale-mock")
needs_shell = pytest.mark.skipif(not (shutil.which("bash") and shutil.which("curl") and shutil.which("jq")),
                                 reason="the seeds' shell scripts need bash, curl and jq")


@pytest.fixture
def fake(rescale_mock_served: Fake) -> Fake:
    return rescale_mock_served


def environment(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: no apiconfig or key of the developer's, the venv's scripts first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESCALE_")}
    env.update(HOME=str(home), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", RESCALE_CLI_POLL_SECONDS="0.02")
    env.update(extra)
    return env


def cli(fake: Fake, cwd: Path, *args: str, key: str | None = None, env: dict[str, str] | None = None,
        url: bool = True) -> subprocess.CompletedProcess[str]:
    argv = [RESCALE_CLI] + (["-X", fake.base_url + "/"] if url else []) + list(args)
    if key is not None or "-p" not in args:
        argv += ["-p", key if key is not None else fake.api_key]  # after the verb, as seed 001 puts it
    return subprocess.run(argv, cwd=cwd, env=env or environment(cwd), capture_output=True, text=True, timeout=120)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def failed(result: subprocess.CompletedProcess[str], *words: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 33, output
    assert "Traceback" not in output, output
    assert " - ERROR - " in result.stdout, output
    for word in words:
        assert word in output, output
    return output


def finish(fake: Fake, job_id: str) -> None:
    """Move the tenant's manual clock until the job has ended (bounded: a few hours of fake time)."""
    for _ in range(50):
        if fake.get(f"/api/v2/jobs/{job_id}/statuses/")["results"][0]["status"] == "Completed":
            return
        fake.control.advance(600)
    raise AssertionError(f"job {job_id} did not complete")


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


SCRIPT = """#!/bin/bash
#RESCALE_NAME="{name}"
#RESCALE_ANALYSIS=user_included
#RESCALE_CORE_TYPE=Emerald
#RESCALE_CORES=2
echo hello
"""


# -- seed 001, as written --------------------------------------------------------------------------------------------
SEED_001 = r"""
set -eu
mkdir ${WORK_DIR}/chainerAPI
cd ${WORK_DIR}/chainerAPI

cat << EOF > run_chainer_from_API.sh
#!/bin/sh
wget https://github.com/pfnet/chainer/archive/v1.22.0.tar.gz
tar xzf v1.22.0.tar.gz
python chainer-1.22.0/examples/mnist/train_mnist.py -g 0

EOF
FILENAME='run_chainer_from_API.sh'

JSON=$(rescale-cli \
-X ${PLATFORM} \
--quiet upload \
-p ${RESCALE_API_TOKEN} \
-f ${FILENAME} \
-e) && echo ${JSON}
FILE_ID=$(echo ${JSON} | jq -r .files[].id) && echo ${FILE_ID}

cat << EOF > rescale.json
{
    "name": "Hello Chainer!",
    "jobanalyses": [
        {
            "useMpi": "true",
            "command": "./${FILENAME}",
            "analysis": {
                "code": "chainer",
                "name": "Chainer",
                "version": "1.22.0-cuda8-gpu-centos"
            },
            "hardware": {
                "coresPerSlot": 2,
                "slots": 1,
                "coreType": "obsidian"
            },
            "inputFiles": [
                {
                    "id":"${FILE_ID}"
                }
            ]

        }
    ],
    "isLowPriority": "true"
}
EOF
MY_JSON=$(cat rescale.json)
JOB_JSON=$(curl -s -X POST \
-H "Authorization: Token ${RESCALE_API_TOKEN}" \
-H "Content-Type: application/json" \
${PLATFORM}api/v2/jobs/ \
-d "${MY_JSON}") && echo ${JOB_JSON}
JOB_ID=$(echo ${JOB_JSON} | jq -r .id) && echo ${JOB_ID}
curl -s -X POST -H "Authorization: Token ${RESCALE_API_TOKEN}" \
${PLATFORM}api/v2/jobs/${JOB_ID}/submit/

# The reader watches the statuses for a while; on the fake, time passes by the control plane.
rescale-mock clock advance 3600 --url ${PLATFORM} --key ${RESCALE_API_TOKEN} > /dev/null
curl -s -H "Authorization: Token ${RESCALE_API_TOKEN}" \
${PLATFORM}api/v2/jobs/${JOB_ID}/statuses/ \
| jq .

DOWNLOAD_FILES="*.log"
rescale-cli \
-X ${PLATFORM} sync \
-p "${RESCALE_API_TOKEN}" -j "${JOB_ID}" -f "${DOWNLOAD_FILES}"
ls rescale_job_*
"""


@needs_shell
def test_seed_001_runs_as_written(fake: Fake, tmp_path: Path) -> None:
    env = environment(tmp_path, WORK_DIR=str(tmp_path), PLATFORM=fake.base_url + "/",
                      RESCALE_API_TOKEN=fake.api_key)
    result = bash(SEED_001, tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout.splitlines()[0])
    assert document["success"] is True and isinstance(document["startTime"], int)
    assert document["endTime"] >= document["startTime"]
    (entry,) = document["files"]
    assert set(entry) == {"name", "storage", "pathParts", "isUploaded", "decryptedSize", "encodedEncryptionKey",
                          "typeId", "md5", "id"}
    script = tmp_path / "chainerAPI" / "run_chainer_from_API.sh"
    assert entry["name"] == script.name and entry["decryptedSize"] == script.stat().st_size
    assert entry["isUploaded"] is True and entry["typeId"] == 1 and set(entry["pathParts"]) == {"path", "container"}
    job_id = json.loads(result.stdout.splitlines()[2])["id"]
    log = tmp_path / "chainerAPI" / f"rescale_job_{job_id}" / "process_output.log"
    assert log.is_file() and script.name in log.read_text()
    assert "process_output.log" in result.stdout.splitlines()[-1]


# -- seed 004, as a shell script with the CLI ------------------------------------------------------------------------
def readme_block(marker: str) -> str:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text[text.index(marker):], re.DOTALL)
    assert block, f"no bash block after {marker!r} in README.md"
    return block[1]


SEED_004 = readme_block("Seed 004 (tar.gz inputs")  # the README's script is the one tested


@needs_shell
def test_seed_004_workflow_as_a_shell_script(fake: Fake, tmp_path: Path) -> None:
    env = environment(tmp_path, URL=fake.base_url + "/", KEY=fake.api_key)
    result = bash(SEED_004, tmp_path, env)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    job1 = next(line.split()[1] for line in out.splitlines() if line.endswith(": submitted"))
    seen = [line.split(" : ")[1] for line in out.splitlines() if line.startswith(f"Job {job1} : ")]
    order = ["submitted", "Pending", "Waiting for Queue", "Queued", "Started", "Validated", "Executing", "Completed"]
    assert seen == sorted(seen, key=order.index) and {"Executing", "Completed"} <= set(seen), seen  # 15 s steps
    tail = (tmp_path / "tail.txt").read_text().splitlines()
    assert 0 < len(tail) <= 20 and any("rescale.tar.gz  (unpacked)" in line for line in tail)
    log1 = (tmp_path / "batch1" / "results" / "process_output.log").read_text()
    assert "rescale.tar.gz  (unpacked)" in log1 and "./run.inp" in log1 and "./mesh.dat" in log1
    job = fake.get(f"/api/v2/jobs/{job1}/")
    analysis = job["jobanalyses"][0]
    assert analysis["envVars"] == {"LM_LICENSE_FILE": "27000@license-server"}
    assert analysis["hardware"]["walltime"] == 2 and analysis["analysis"]["version"] == "2022-2241"
    # the dependent job ran end to end on job 1's outputs and downloaded its own log into output/
    log2 = (tmp_path / "batch2" / "output" / "process_output.log").read_text()
    assert "process_output.log" in log2.split("Input files:")[1] and "Job " in out and "Status - Completed" in out
    assert "Software: Abaqus" in log2


# -- submit -i -------------------------------------------------------------------------------------------------------
EVERY_DIRECTIVE = """#!/bin/bash
#$ -N sge-name-ignored
#RESCALE_NAME="All directives"
#RESCALE_ANALYSIS=openfoam
#RESCALE_ANALYSIS_VERSION=2.2.2-openmpi
#RESCALE_CORE_TYPE=Cobalt
#RESCALE_CORES=4
#RESCALE_WALLTIME=1:30
#RESCALE_ENV_LM_LICENSE_FILE=27000@licenses
#RESCALE_ENV_OMP_NUM_THREADS=2
#RESCALE_EXISTING_FILES={existing}
#RESCALE_LOW_PRIORITY=on
#RESCALE_PROJECT_ID=xDdRk
#USE_RESCALE_LICENSE
#RESCALE_INBOUND_SSH_CIDR=50.123.22.112/32
#RESCALE_PUBLIC_KEY=ssh-rsa AAAA
#RESCALE_AUTO_TERMINATE_CLUSTER=true
module load openfoam
source /etc/profile.d/openfoam.sh
/usr/lib64/openmpi/bin/mpirun -np 4 simpleFoam -parallel
"""


def test_submit_reads_every_directive(fake: Fake, tmp_path: Path) -> None:
    existing = requests.post(fake.url("/api/v2/files/contents/"), headers=fake.headers,
                             files={"file": ("mesh.tar.gz", b"not really a tarball")}, timeout=30).json()["id"]
    (tmp_path / "case.sh").write_text(EVERY_DIRECTIVE.format(existing=existing))
    (tmp_path / "controlDict").write_text("application simpleFoam;\n")
    out = ok(cli(fake, tmp_path, "submit", "-i", "case.sh", "controlDict"))
    job_id = out.splitlines()[[i for i, line in enumerate(out.splitlines()) if line.endswith("Submitting")][0] + 1]
    job = fake.get(f"/api/v2/jobs/{job_id}/")
    assert job["name"] == "All directives" and job["isLowPriority"] is True and job["projectId"] == "xDdRk"
    (analysis,) = job["jobanalyses"]
    assert analysis["analysis"]["code"] == "openfoam" and analysis["analysis"]["version"] == "2.2.2-openmpi"
    assert analysis["hardware"]["coreType"] == "hpc" and analysis["hardware"]["coresPerSlot"] == 4
    assert analysis["hardware"]["walltime"] == 2  # 1:30 rounded up to whole hours, the API's unit
    assert analysis["envVars"] == {"LM_LICENSE_FILE": "27000@licenses", "OMP_NUM_THREADS": "2"}
    assert analysis["command"] == "./run.sh" and analysis["useRescaleLicense"] is True
    names = {f["name"]: f for f in analysis["inputFiles"]}
    assert set(names) == {"mesh.tar.gz", "run.sh", "input.zip"} and names["mesh.tar.gz"]["id"] == existing
    run_sh = requests.get(fake.url(f"/api/v2/files/{names['run.sh']['id']}/contents/"), headers=fake.headers,
                          timeout=30).text
    assert "#module load openfoam" in run_sh and "#source /etc/profile.d/openfoam.sh" in run_sh
    assert "\nmpirun -np 4 simpleFoam -parallel" in run_sh and "#RESCALE_CORES=4" in run_sh
    packed = requests.get(fake.url(f"/api/v2/files/{names['input.zip']['id']}/contents/"), headers=fake.headers,
                          timeout=30).content
    assert zipfile.ZipFile(io.BytesIO(packed)).namelist() == ["controlDict"]
    assert fake.get(f"/api/v2/jobs/{job_id}/statuses/")["results"][0]["status"] == "Pending"  # submitted


def test_submit_packs_the_working_directory_without_files(fake: Fake, tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text(SCRIPT.format(name="wd"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "in.dat").write_text("1\n")
    (tmp_path / ".hidden").write_text("x")
    out = ok(cli(fake, tmp_path, "--quiet", "submit", "-i", "run.sh"))
    (job_id,) = out.split()  # --quiet: only the job's id
    inputs = fake.get(f"/api/v2/jobs/{job_id}/")["jobanalyses"][0]["inputFiles"]
    archive = next(f for f in inputs if f["name"] == "input.zip")
    packed = requests.get(fake.url(f"/api/v2/files/{archive['id']}/contents/"), headers=fake.headers, timeout=30)
    assert zipfile.ZipFile(io.BytesIO(packed.content)).namelist() == ["sub/in.dat"]


def test_submit_end_to_end_follows_the_log_and_downloads(fake: Fake, tmp_path: Path) -> None:
    fake.control.set_clock(mode="poll")
    (tmp_path / "run.sh").write_text(SCRIPT.format(name="e2e"))
    out = ok(cli(fake, tmp_path, "submit", "-i", "run.sh", "-E", "-f", "*.log"))
    for line in ("Status - Queued", "Status - Executing", "Executing command: ./run.sh", "Status - Completed",
                 "Command exited with status 0", "Finished downloading files."):
        assert line in out, out
    assert out.index("Status - Executing") < out.index("Executing command") < out.index("Status - Completed")
    assert (tmp_path / "output" / "process_output.log").is_file()


def test_submit_end_to_end_fails_when_the_job_fails(fake: Fake, tmp_path: Path) -> None:
    fake.control.set_clock(mode="poll")
    fake.control.scenario(outcome="fail", exitCode=3, reason="Exit code 3")
    (tmp_path / "run.sh").write_text(SCRIPT.format(name="fails"))
    failed(cli(fake, tmp_path, "submit", "-i", "run.sh", "-E"), "ended Completed (Exit code 3)")
    assert "exited with status 3" in (tmp_path / "output" / "process_output.log").read_text()


def test_submit_end_to_end_of_a_job_that_never_ran(fake: Fake, tmp_path: Path) -> None:
    fake.control.set_clock(mode="poll")
    fake.control.scenario(outcome="no_resources")
    (tmp_path / "run.sh").write_text(SCRIPT.format(name="starved"))
    output = failed(cli(fake, tmp_path, "submit", "-i", "run.sh", "-E"), "Could not allocate compute resources")
    assert "Status - Executing" not in output and not any((tmp_path / "output").glob("*"))


@pytest.mark.parametrize("line, message", [
    ("#RESCALE_CORES=many", "line 2: RESCALE_CORES must be a positive whole number"),
    ("#RESCALE_WALLTIME=soon", "line 2: RESCALE_WALLTIME must be hours or H:MM"),
    ("#RESCALE_CORES=0", "line 2: RESCALE_CORES must be a positive whole number"),
    ("#RESCALE_LOW_PRIORITY=maybe", "line 2: RESCALE_LOW_PRIORITY must be true or false"),
    ("#RESCALE_NAME=", "line 2: #RESCALE_NAME has no value"),
])
def test_submit_refuses_a_bad_directive(fake: Fake, tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "run.sh").write_text("#!/bin/bash\n" + line + "\n" + SCRIPT.split("\n", 1)[1].format(name="x"))
    failed(cli(fake, tmp_path, "submit", "-i", "run.sh"), message)
    assert fake.get("/api/v2/jobs/")["count"] == 0


def test_submit_reports_and_ignores_an_unknown_directive(fake: Fake, tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text(SCRIPT.format(name="x").replace("echo", "#RESCALE_COLOUR=blue\necho"))
    out = ok(cli(fake, tmp_path, "submit", "-i", "run.sh"))
    assert "Ignoring line 6: #RESCALE_COLOUR: not a directive this CLI knows" in out
    assert fake.get("/api/v2/jobs/")["count"] == 1


def test_submit_refuses_unknown_software_and_hardware(fake: Fake, tmp_path: Path) -> None:
    (tmp_path / "a.sh").write_text(SCRIPT.format(name="x").replace("user_included", "no_such_code"))
    failed(cli(fake, tmp_path, "submit", "-i", "a.sh"), "no analysis with the code no_such_code")
    (tmp_path / "b.sh").write_text(SCRIPT.format(name="x").replace("Emerald", "unobtainium"))
    failed(cli(fake, tmp_path, "submit", "-i", "b.sh"), "no core type unobtainium")
    (tmp_path / "c.sh").write_text(SCRIPT.format(name="x").replace("#RESCALE_CORES=2", "#RESCALE_CORES=3"))
    failed(cli(fake, tmp_path, "submit", "-i", "c.sh"), "400 POST")  # the API's own refusal: 3 cores on emerald
    failed(cli(fake, tmp_path, "submit", "-i", "missing.sh"), "input script not found: missing.sh")


# -- status, sync, download-file, list-info, upload ------------------------------------------------------------------
def submitted_job(fake: Fake, tmp_path: Path, name: str = "job") -> str:
    (tmp_path / "run.sh").write_text(SCRIPT.format(name=name))
    return ok(cli(fake, tmp_path, "--quiet", "submit", "-i", "run.sh")).strip()


def test_status_sync_and_download_file(fake: Fake, tmp_path: Path) -> None:
    job_id = submitted_job(fake, tmp_path)
    assert ok(cli(fake, tmp_path, "status", "-j", job_id)).splitlines()[-1] == \
        f"The status of job {job_id} is Pending"
    finish(fake, job_id)
    assert ok(cli(fake, tmp_path, "-q", "status", "-j", job_id)) == f"The status of job {job_id} is Completed\n"
    last = json.loads(ok(cli(fake, tmp_path, "-q", "status", "-j", job_id, "-e")))["lastStatus"]
    assert last["status"] == "Completed" and last["statusReason"] == "Completed successfully"

    assert "Downloading" in ok(cli(fake, tmp_path, "sync", "-j", job_id, "-f", "*.out", "*.log"))
    synced = tmp_path / f"rescale_job_{job_id}" / "process_output.log"
    assert synced.is_file()
    assert "Skipping existing" in ok(cli(fake, tmp_path, "sync", "-j", job_id))  # a second sync fetches nothing new
    ok(cli(fake, tmp_path, "sync", "-j", job_id, "-o", "elsewhere", "-f", "*.out"))
    assert not (tmp_path / "elsewhere").exists() or not any((tmp_path / "elsewhere").iterdir())

    ok(cli(fake, tmp_path, "download-file", "-j", job_id, "-f", "process_output.log", "-o", "one.log"))
    assert (tmp_path / "one.log").read_bytes() == synced.read_bytes()
    file_id = fake.get(f"/api/v2/jobs/{job_id}/files/")["results"][0]["id"]
    (tmp_path / "by-id").mkdir()
    ok(cli(fake, tmp_path, "download-file", "-fid", file_id, "-o", "by-id"))
    assert (tmp_path / "by-id" / "process_output.log").read_bytes() == synced.read_bytes()
    document = json.loads(ok(cli(fake, tmp_path, "--quiet", "download-file", "--file-id", file_id, "-e")))
    assert document["success"] is True and document["files"][0]["id"] == file_id
    failed(cli(fake, tmp_path, "download-file", "-j", job_id, "-f", "nothing.txt"), "no file named nothing.txt")


def test_sync_newer_than_a_job(fake: Fake, tmp_path: Path) -> None:
    first, second, third = (submitted_job(fake, tmp_path, name) for name in ("one", "two", "three"))
    finish(fake, third)
    out = ok(cli(fake, tmp_path, "sync", "-n", second, "-o", "all", "-f", "*.log"))
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == sorted(f"rescale_job_{j}" for j in (second, third))
    assert out.index(f"Job {second}: syncing") < out.index(f"Job {third}: syncing")  # oldest first
    assert (tmp_path / "all" / f"rescale_job_{third}" / "process_output.log").is_file()
    assert first not in out
    failed(cli(fake, tmp_path, "sync", "-n", "nosuch"), "job nosuch not found")


def test_sync_with_an_interval_follows_the_job_until_it_ends(fake: Fake, tmp_path: Path) -> None:
    job_id = submitted_job(fake, tmp_path)
    fake.control.set_clock(mode="poll")  # each status read moves the job on: -d's loop ends without waiting long
    ok(cli(fake, tmp_path, "sync", "-j", job_id, "-d", "0.01"))
    assert fake.get(f"/api/v2/jobs/{job_id}/statuses/")["results"][0]["status"] == "Completed"
    assert (tmp_path / f"rescale_job_{job_id}" / "process_output.log").is_file()


def test_list_info_prints_a_stream_of_json_objects(fake: Fake, tmp_path: Path) -> None:
    for flag, key in (("-c", "code"), ("-a", "versions")):
        text = ok(cli(fake, tmp_path, "--quiet", "list-info", flag))
        decoder, position, items = json.JSONDecoder(), 0, []
        while position < len(text.rstrip()):
            item, position = decoder.raw_decode(text, position)
            items.append(item)
            position += len(text[position:]) - len(text[position:].lstrip())
        assert len(items) > 10 and all(key in item for item in items)
    failed(cli(fake, tmp_path, "list-info"), "one of -c (--core-types) or -a (--analyses)")


def test_upload_prints_file_ids_and_accepts_several_files(fake: Fake, tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(name)
    out = ok(cli(fake, tmp_path, "upload", "-f", "a.txt", "b.txt", "-f", "c.txt"))
    ids = [line.split()[-1] for line in out.splitlines() if line.startswith("File ID ")]
    assert len(ids) == 3
    assert {f["name"] for f in fake.get("/api/v2/files/")["results"]} == {"a.txt", "b.txt", "c.txt"}
    document = json.loads(ok(cli(fake, tmp_path, "--quiet", "upload", "-f", "*.txt", "-e")))  # an unexpanded glob
    assert [f["name"] for f in document["files"]] == ["a.txt", "b.txt", "c.txt"]
    failed(cli(fake, tmp_path, "upload", "-f", "missing.txt"), "file not found: missing.txt")
    failed(cli(fake, tmp_path, "upload", "-f", "."), "is a directory, not a file")


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_progress_bars_on_a_terminal_only_and_never_with_quiet(fake: Fake, tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    (tmp_path / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    seen = {}
    for quiet in ([], ["--quiet"]):
        master, terminal = pty.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # tqdm needs a width
        process = subprocess.Popen([RESCALE_CLI, "-X", fake.base_url, "-p", fake.api_key, *quiet, "upload", "-f",
                                    "big.bin"], cwd=tmp_path, env=environment(tmp_path), stdout=subprocess.PIPE,
                                   stderr=terminal)
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        assert process.wait(timeout=60) == 0
        seen[bool(quiet)] = b"".join(chunks).decode(errors="replace")
    assert "big.bin:" in seen[False] and "%|" in seen[False]
    assert seen[True] == ""
    piped = cli(fake, tmp_path, "upload", "-f", "big.bin")  # not a terminal: no bar either
    assert "%|" not in ok(piped) + piped.stderr


def test_upload_of_a_tar_gz_keeps_its_bytes(fake: Fake, tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "run.inp").write_text("*Heading\n")
    with tarfile.open(tmp_path / "rescale.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "work", arcname=".")
    document = json.loads(ok(cli(fake, tmp_path, "--quiet", "upload", "-f", "rescale.tar.gz", "-e")))
    body = requests.get(fake.url(f"/api/v2/files/{document['files'][0]['id']}/contents/"), headers=fake.headers,
                        timeout=30).content
    assert body == (tmp_path / "rescale.tar.gz").read_bytes()


# -- configuration: flags before or after the verb, apiconfig profiles, environment --------------------------------
def test_the_key_and_url_come_from_flags_profiles_or_the_environment(fake: Fake, tmp_path: Path) -> None:
    before = [RESCALE_CLI, "-X", fake.base_url, "-p", fake.api_key, "--quiet", "list-info", "-c"]
    assert subprocess.run(before, cwd=tmp_path, env=environment(tmp_path), capture_output=True,
                          timeout=60).returncode == 0
    config = tmp_path / ".config" / "rescale" / "apiconfig"
    config.parent.mkdir(parents=True)
    config.write_text(f"[default]\napibaseurl = http://127.0.0.1:1\napikey = wrong\n\n"
                      f"[fake]\napibaseurl = {fake.base_url}\napikey = {fake.api_key}\n")
    profile = [RESCALE_CLI, "--profile", "fake", "--quiet", "list-info", "-a"]
    assert subprocess.run(profile, cwd=tmp_path, env=environment(tmp_path), capture_output=True,
                          timeout=60).returncode == 0
    from_env = environment(tmp_path, RESCALE_API_BASE_URL=fake.base_url, RESCALE_API_KEY=fake.api_key)
    config.unlink()
    assert subprocess.run([RESCALE_CLI, "--quiet", "list-info", "-c"], cwd=tmp_path, env=from_env,
                          capture_output=True, timeout=60).returncode == 0
    nothing = subprocess.run([RESCALE_CLI, "list-info", "-c"], cwd=tmp_path, env=environment(tmp_path),
                             capture_output=True, text=True, timeout=60)
    failed(nothing, "no API key: pass -p API-TOKEN, set RESCALE_API_KEY")


def test_python_dash_m_is_the_same_command(fake: Fake, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "rescale_client.cli", "-X", fake.base_url, "-p", fake.api_key,
                             "-q", "status", "-j", "nosuch"], cwd=tmp_path, env=environment(tmp_path),
                            capture_output=True, text=True, timeout=60)
    failed(result, "job nosuch not found")


# -- errors ----------------------------------------------------------------------------------------------------------
def test_a_bad_key_is_a_clear_error(fake: Fake, tmp_path: Path) -> None:
    failed(cli(fake, tmp_path, "status", "-j", "abcde", key="not-a-key"), "authentication failed",
           "refused the API key")
    output = failed(cli(fake, tmp_path, "--quiet", "upload", "-f", __file__, key="not-a-key"), "401")
    assert "not-a-key" not in output  # the key is never printed


def test_an_unknown_job_is_a_clear_error(fake: Fake, tmp_path: Path) -> None:
    for verb in ("status", "sync", "stop", "delete"):
        failed(cli(fake, tmp_path, verb, "-j", "nosuch"), "job nosuch not found")
    assert not (tmp_path / "rescale_job_nosuch").exists()


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run([RESCALE_CLI, "-X", "http://127.0.0.1:9", "-p", "key", "status", "-j", "abcde"],
                            cwd=tmp_path, env=environment(tmp_path), capture_output=True, text=True, timeout=60)
    failed(result, "cannot reach http://127.0.0.1:9", "Connection refused")


def test_usage_errors_exit_33(tmp_path: Path) -> None:
    for argv in (["status"], ["no-such-verb"], ["upload"], ["submit", "-E"], ["sync", "-j", "abcde", "-d", "nan"],
                 ["sync", "-j", "abcde", "-d", "-1"], ["sync", "-j", "abcde", "-d", "inf"]):
        result = subprocess.run([RESCALE_CLI, *argv], cwd=tmp_path, env=environment(tmp_path), capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 33 and "usage:" in result.stderr and "ERROR" in result.stdout, argv
    odd = subprocess.run([RESCALE_CLI, "-X", "http://127.0.0.1:9", "-p", "k", "status", "-j", b"\xff".decode(
        "utf-8", "surrogateescape")], cwd=tmp_path, env=environment(tmp_path), capture_output=True, timeout=60)
    assert odd.returncode == 33 and b"argument 7 is not valid UTF-8 text" in odd.stdout and b"Traceback" not in odd.stderr
    version = subprocess.run([RESCALE_CLI, "-v"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.strip()
