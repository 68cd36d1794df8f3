"""SSH into a running job (issue 19): the seed notebook's quasi-persistent cluster (cells 63-68) as written, with
paramiko and scp, against a fake that really runs the job (`--execute`), in-process and served. Only the base URL
and the key differ from the notebook; cell 61's `ssh-keygen` is paramiko's RSA key generation here, and cell 62's
"paste it into your profile" is `PUT /_fake/ssh-keys/`.

Time: the tenant's clock is manual. The notebook's `time.sleep(interval)` in `poll_for_status` becomes a move of the
clock plus a short real pause (the supervisor thread starts the process), at most 500 times; the end of a job is
awaited with the client's waiter and a bounded timeout. Nothing sleeps blindly."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
import requests
import scp
from rescale_client import RescaleClient
from rescale_mock.runner import sandbox
from rescale_mock.testing import Control, Fake

from .notebook import JobStatus, clock_of, get_all_result_pages, poll_for_status, write_job_inputs

pytestmark = pytest.mark.rescale_mock_execute
DELAY, TIMEOUT = 1.0, 900.0  # fake seconds per poll of the client's waiter; at most TIMEOUT of them


@pytest.fixture
def _ticking_clock(fake: Fake) -> Iterator[None]:
    """The notebook's time.sleep(interval) moves the clock, with a short real pause: the supervisor thread gets
    the CPU."""
    with clock_of(fake, pause=0.02):
        yield


def new_key(path: Path) -> str:
    """cell 61 (`ssh-keygen -f rescale-key -P ""`), with paramiko: the private key file and the public line."""
    key = paramiko.RSAKey.generate(2048)
    key.write_private_key_file(str(path))
    return f"{key.get_name()} {key.get_base64()} test@{path.name}"


@pytest.fixture
def notebook(fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _ticking_clock: None) -> tuple[str, dict[str, str]]:
    """The notebook's folder (job_inputs/, job_outputs/, rescale-key) and cell 62: the key in the profile."""
    monkeypatch.chdir(tmp_path)
    write_job_inputs(tmp_path)
    Path("job_outputs").mkdir()
    fake.control.set_ssh_keys([new_key(Path("rescale-key"))])
    return fake.base_url, {"Authorization": f"Token {fake.api_key}"}


# cell 65
def key_based_connect(host, port, username, pkey_path):
    pkey = paramiko.RSAKey.from_private_key_file(pkey_path)
    client = paramiko.SSHClient()
    policy = paramiko.AutoAddPolicy()
    client.set_missing_host_key_policy(policy)
    client.connect(host, port, username, pkey=pkey)

    return client


def sleep_inf_job(api_url: str, headers: dict[str, str]) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """cell 63, as written: a `sleep inf` job, Executing, and its instances."""
    project_id = None

    job_definition = {
        "name": "Rescale UserApi Reference Tutorial (sleep inf)",
        "jobanalyses": [
            {
                "analysis": {"code": "user_included", "version": "0"},
                "command": "sleep inf",
                "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1},
            }
        ],
        "project_id": project_id,
        "isLowPriority": True,
    }
    job_create_res = requests.post(
        f"{api_url}/api/v2/jobs/", headers=headers, json=job_definition
    )
    job_create_res.raise_for_status()
    job_id = job_create_res.json()["id"]

    job_create_res = requests.post(
        f"{api_url}/api/v2/jobs/{job_id}/submit/", headers=headers
    )
    job_create_res.raise_for_status()

    poll_for_status(api_url, headers, job_id, JobStatus.EXECUTING, verbose=True)

    instances = get_all_result_pages(f"{api_url}/api/v2/jobs/{job_id}/instances/", headers)
    return job_id, instances, job_definition


def refused(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(5)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_notebook_cells_63_to_68_quasi_persistent_cluster(notebook: tuple[str, dict[str, str]],
                                                          client: RescaleClient, capsys: pytest.CaptureFixture) -> None:
    api_url, headers = notebook
    job_id, instances, job_definition = sleep_inf_job(api_url, headers)
    assert instances[0]["supportedServices"] == ["ssh"] and instances[0]["publicIp"] == "127.0.0.1"

    # cell 66, as written
    PKEY_PATH = "rescale-key"

    public_ip = instances[0]["publicIp"]
    ssh_port = instances[0]["sshPort"]
    username = instances[0]["username"]

    print(f"Connecting to {username}@{public_ip}:{ssh_port}")

    ssh_client = key_based_connect(public_ip, ssh_port, username, PKEY_PATH)
    scp_client = scp.SCPClient(ssh_client.get_transport())

    scp_client.put("job_inputs/calculate_pi.py", "work/calculate_pi.py")
    scp_client.put("job_inputs/range.inp", "work/range.inp")

    _, stdout, _ = ssh_client.exec_command("cd work && python3 calculate_pi.py range.inp")
    for line in iter(stdout.readline, ""):
        print(line, end="")

    scp_client.get("work/pi_estimate.res", "job_outputs/pi_estimate.res_ssh.log")
    with open("job_outputs/pi_estimate.res_ssh.log") as f:
        print(f.read())

    pi = 4 * sum((-1) ** k / (2 * k + 1) for k in range(100000))
    assert stdout.channel.recv_exit_status() == 0
    printed = capsys.readouterr().out
    assert printed.count(f"{pi}\n") == 2  # the command's output line, then the copied result file

    # cell 68, as written
    job_stop_res = requests.post(
        f"{api_url}/api/v2/jobs/{job_id}/stop/", headers=headers, json=job_definition
    )
    job_stop_res.raise_for_status()
    print(job_stop_res)
    assert "<Response [202]>" in capsys.readouterr().out

    result = client.wait_for_job(job_id, delay=DELAY, timeout=TIMEOUT, raise_on_failure=False)
    assert (result.status, result.reason) == ("Completed", "User Terminated")
    assert refused(ssh_port)  # the port closed with the job
    assert get_all_result_pages(f"{api_url}/api/v2/jobs/{job_id}/instances/", headers) == [] or \
        client.jobs.list_job_instances(job_id=job_id)["results"][0]["supportedServices"] == []
    # what the session wrote in work/ is part of the job's outputs
    outputs = {f["relativePath"]: f for f in client.jobs.iter_job_files(job_id=job_id)}
    assert {"calculate_pi.py", "range.inp", "pi_estimate.res", "process_output.log"} <= set(outputs)
    assert "".join(client.files.get_file_lines(file_id=outputs["pi_estimate.res"]["id"])["lines"]) == f"{pi}\n"
    ssh_client.close()


def test_the_jobs_platform_events_name_the_ssh_command(notebook: tuple[str, dict[str, str]],
                                                        client: RescaleClient) -> None:
    """What Rescale's python-sdk reads from `jobs/{id}/logs/` to reach the cluster, while the real run answers SSH."""
    api_url, headers = notebook
    job_id, instances, _definition = sleep_inf_job(api_url, headers)
    logs = requests.get(f"{api_url}/api/v3/jobs/{job_id}/logs/", headers=headers, timeout=30)
    logs.raise_for_status()
    wanted = f"Command: ssh -i </path/to/key> -p {instances[0]['sshPort']} {instances[0]['username']}@127.0.0.1;"
    assert any(wanted in entry["message"] for entry in logs.json()), logs.json()
    client.jobs.stop_job(job_id=job_id)
    client.wait_for_job(job_id, raise_on_failure=False, delay=0.2, timeout=60)


def test_a_wrong_key_and_another_tenants_key_are_refused(fake: Fake, notebook: tuple[str, dict[str, str]],
                                                         client: RescaleClient) -> None:
    api_url, headers = notebook
    job_id, instances, job_definition = sleep_inf_job(api_url, headers)
    port, username = instances[0]["sshPort"], instances[0]["username"]
    new_key(Path("stranger-key"))  # registered nowhere
    other_key = Control(fake.base_url).create_tenant()["apiKey"]
    other = Control(fake.base_url, other_key)
    other.set_ssh_keys([new_key(Path("other-tenant-key"))])
    try:
        for key in ("stranger-key", "other-tenant-key"):
            with pytest.raises(paramiko.AuthenticationException):
                key_based_connect("127.0.0.1", port, username, key)
        with pytest.raises(paramiko.AuthenticationException):  # the right key, but another instance's user
            key_based_connect("127.0.0.1", port, "uprod_someone", "rescale-key")
        transport = paramiko.Transport(("127.0.0.1", port))  # no passwords
        transport.connect()
        with pytest.raises(paramiko.AuthenticationException):
            transport.auth_password(username, "password")
        transport.close()
        key_based_connect("127.0.0.1", port, username, "rescale-key").close()  # the tenant's own key works
    finally:
        other.reset()
    client.jobs.stop_job(job_id=job_id)
    client.wait_for_job(job_id, delay=DELAY, timeout=TIMEOUT, raise_on_failure=False)


@pytest.mark.skipif(sandbox.bwrap() is None, reason="needs bubblewrap (bwrap) allowed to create namespaces")
def test_a_session_cannot_write_outside_the_jobs_home(notebook: tuple[str, dict[str, str]], client: RescaleClient,
                                                      tmp_path: Path) -> None:
    api_url, headers = notebook
    job_id, instances, job_definition = sleep_inf_job(api_url, headers)
    ssh_client = key_based_connect("127.0.0.1", instances[0]["sshPort"], instances[0]["username"], "rescale-key")
    outside = tmp_path / "escaped.txt"
    _, stdout, _ = ssh_client.exec_command(f"echo escaped > {outside}; echo escaped > /usr/escaped.txt; "
                                           "echo kept > work/kept.txt; pwd; ls; ln -s / work/root")
    listing = stdout.read().decode()
    assert stdout.channel.recv_exit_status() == 0
    assert listing.splitlines()[1:] == ["work"]  # the home folder holds work/, as on Rescale
    assert not outside.exists() and not Path("/usr/escaped.txt").exists()
    sftp = ssh_client.open_sftp()
    assert sftp.open("work/kept.txt").read() == b"kept\n"
    with pytest.raises(PermissionError):  # a link out of the home is not followed
        sftp.open("work/root/tmp/escaped-by-sftp.txt", "w")
    with sftp.open("../../escaped.txt", "w") as f:  # `..` stops at the home folder, as under a chroot
        f.write("inside")
    assert sorted(sftp.listdir(".")) == ["escaped.txt", "work"]
    ssh_client.close()
    client.jobs.stop_job(job_id=job_id)
    client.wait_for_job(job_id, delay=DELAY, timeout=TIMEOUT, raise_on_failure=False)
    assert not Path("/tmp/escaped-by-sftp.txt").exists()


def test_an_interactive_shell_starts_in_the_home_with_the_jobs_environment(notebook: tuple[str, dict[str, str]],
                                                                           client: RescaleClient) -> None:
    api_url, headers = notebook
    job_id, instances, job_definition = sleep_inf_job(api_url, headers)
    ssh_client = key_based_connect("127.0.0.1", instances[0]["sshPort"], instances[0]["username"], "rescale-key")
    shell = ssh_client.invoke_shell()
    shell.settimeout(30)
    shell.resize_pty(width=101, height=41)
    shell.sendall(b"echo cores=$RESCALE_CORES_PER_SLOT; echo size=$(stty size); cd work && pwd; exit\n")
    seen = b""
    while chunk := shell.recv(4096):
        seen += chunk
    text = seen.decode(errors="replace")
    assert "cores=2" in text and "size=41 101" in text and "/home/work" in text
    assert shell.recv_exit_status() == 0
    ssh_client.close()
    client.jobs.stop_job(job_id=job_id)
    client.wait_for_job(job_id, delay=DELAY, timeout=TIMEOUT, raise_on_failure=False)


@pytest.mark.parametrize("fake", ["inprocess"], indirect=True)
def test_a_simulated_job_has_no_ssh(fake: Fake, notebook: tuple[str, dict[str, str]]) -> None:
    api_url, headers = notebook
    fake.control.set_execute(False)
    job_id, instances, job_definition = sleep_inf_job(api_url, headers)
    assert len(instances) == 1
    assert (instances[0]["supportedServices"], instances[0]["sshPort"]) == ([], 0)
    assert refused(instances[0]["sshPort"])


def test_ssh_keys_control_plane(fake: Fake, tmp_path: Path) -> None:
    public = new_key(tmp_path / "k")
    shown = fake.control.set_ssh_keys([public, public])  # the same key twice is kept once
    assert shown["publicKeys"] == [public] and shown["fingerprints"][0].startswith("SHA256:")
    assert shown["ssh"] == "asyncssh"
    url = f"{fake.base_url}/_fake/ssh-keys/"
    bad = ["ssh-rsa AAAA", (tmp_path / "k").read_text(), "ssh-ed25519 " + public.split()[1], "\ud800 x", "x" * 20000]
    for value in bad:
        response = requests.put(url, headers=fake.headers, json={"publicKeys": [value]})
        assert response.status_code == 400, (value[:40], response.text)
    assert requests.put(url, headers=fake.headers, json={"publicKeys": "ssh-rsa"}).status_code == 400
    assert fake.control.ssh_keys()["publicKeys"] == [public]  # refused changes stored nothing
    other = Control(fake.base_url, Control(fake.base_url).create_tenant()["apiKey"])
    assert other.ssh_keys()["publicKeys"] == []  # a tenant's keys are its own
    other.reset()


@pytest.mark.parametrize("fake", ["inprocess"], indirect=True)
def test_a_server_without_asyncssh_says_so(fake: Fake, client: RescaleClient,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from rescale_mock.runner import ssh

    monkeypatch.setattr(ssh, "available", lambda: False)
    job_id = client.jobs.create_job(body={"name": "no ssh", "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"}, "command": "sleep inf",
        "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1}}]})["id"]
    client.jobs.submit_job(job_id=job_id)
    client.wait_for_job(job_id, until="Executing", delay=DELAY, timeout=TIMEOUT)
    (instance,) = client.jobs.list_job_instances(job_id=job_id)["results"]
    assert (instance["supportedServices"], instance["sshPort"]) == ([], 0)
    log = client.runs.tail_job_run_file(job_id=job_id, run_id="1", path="process_output.log", lines=20)["lines"]
    assert any("needs asyncssh" in line and "rescale-mockkit[ssh]" in line for line in log)
    assert fake.control.ssh_keys()["ssh"] == "unavailable"
    client.jobs.stop_job(job_id=job_id)
    client.wait_for_job(job_id, delay=DELAY, timeout=TIMEOUT, raise_on_failure=False)


def test_serve_ssh_authorized_keys_and_a_clean_shutdown(tmp_path: Path) -> None:
    """`serve --ssh-authorized-keys FILE`: the file's keys work for every tenant; Ctrl-C closes the ports."""
    import signal

    from rescale_mock.testing import ServedProcess

    public = tmp_path / "team.pub"
    public.write_text("# the team's key\n" + new_key(tmp_path / "team") + "\n")
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key\n")
    import subprocess
    import sys

    failed = subprocess.run([sys.executable, "-m", "rescale_mock.cli", "serve", "--port", "0", "--data-dir",
                             str(tmp_path / "bad"), "--ssh-authorized-keys", str(bad)], capture_output=True,
                            text=True, timeout=60)
    assert failed.returncode == 2 and "bad.pub: line 1: " in failed.stderr
    served = ServedProcess(tmp_path / "data", ("key-0123456789abcdef",), "--execute", "--clock-mode", "manual",
                           "--ssh-authorized-keys", str(public))
    try:
        fake = Fake(served.base_url, "key-0123456789abcdef", Control(served.base_url, "key-0123456789abcdef"),
                    "served")
        assert fake.control.ssh_keys()["publicKeys"] == []  # the tenant registered none of its own
        assert len(Control(served.base_url).ssh_keys()["publicKeys"]) == 1  # server-wide

        def tick(seconds: float) -> None:
            fake.control.advance(seconds)
            time.sleep(0.02)

        with RescaleClient(fake.base_url, fake.api_key, progress=False, sleep=tick) as c:
            job_id = c.jobs.create_job(body={"name": "team", "jobanalyses": [{
                "analysis": {"code": "user_included", "version": "0"}, "command": "sleep inf",
                "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1}}]})["id"]
            c.jobs.submit_job(job_id=job_id)
            c.wait_for_job(job_id, until="Executing", delay=DELAY, timeout=TIMEOUT)
            (instance,) = c.jobs.list_job_instances(job_id=job_id)["results"]
        ssh_client = key_based_connect("127.0.0.1", instance["sshPort"], instance["username"], str(tmp_path / "team"))
        _, stdout, _ = ssh_client.exec_command("echo $HOME")
        assert stdout.read().decode().strip().endswith("/home")
        served.process.send_signal(signal.SIGINT)  # Ctrl-C
        assert served.process.wait(timeout=30) == 0
        assert refused(instance["sshPort"])
        ssh_client.close()
    finally:
        served.close()


@pytest.mark.skipif(not all(map(shutil.which, ("ssh", "scp", "sftp", "ssh-keygen"))), reason="needs OpenSSH's clients")
@pytest.mark.parametrize("fake", ["inprocess"], indirect=True)
def test_openssh_clients_work_too(fake: Fake, notebook: tuple[str, dict[str, str]], client: RescaleClient) -> None:
    """What the README shows by hand: ssh, scp (over SFTP and the legacy protocol) and sftp, with an ed25519 key."""
    api_url, headers = notebook
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-f", "mine", "-N", ""], check=True, timeout=30)
    fake.control.set_ssh_keys([Path("mine.pub").read_text()])
    job_id, instances, _ = sleep_inf_job(api_url, headers)
    port, user = str(instances[0]["sshPort"]), instances[0]["username"]
    options = ["-F", "/dev/null", "-i", "mine", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]

    def run(*argv: str, stdin: str | None = None) -> str:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert run("ssh", *options, "-p", port, f"{user}@127.0.0.1", "cd work && pwd && echo $RESCALE_NODES_PER_SLOT"
               ).splitlines()[1:] == ["1"]
    run("scp", *options, "-P", port, "job_inputs/range.inp", f"{user}@127.0.0.1:work/over_sftp.inp")
    run("scp", "-O", *options, "-P", port, "job_inputs/range.inp", f"{user}@127.0.0.1:work/over_scp.inp")
    listing = run("sftp", *options, "-P", port, "-b", "-", f"{user}@127.0.0.1", stdin="cd work\nls -1\n")
    assert "over_sftp.inp" in listing and "over_scp.inp" in listing
    client.jobs.stop_job(job_id=job_id)
    client.wait_for_job(job_id, delay=DELAY, timeout=TIMEOUT, raise_on_failure=False)
    outputs = {f["relativePath"] for f in client.jobs.iter_job_files(job_id=job_id)}
    assert {"over_sftp.inp", "over_scp.inp"} <= outputs


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds processes through /proc (Linux)")
def test_sessions_end_with_the_job(notebook: tuple[str, dict[str, str]], client: RescaleClient) -> None:
    """A command left running in a session is killed when the job is stopped, and its connection drops."""
    api_url, headers = notebook
    job_id, instances, _ = sleep_inf_job(api_url, headers)
    ssh_client = key_based_connect("127.0.0.1", instances[0]["sshPort"], instances[0]["username"], "rescale-key")
    _, stdout, _ = ssh_client.exec_command("echo $RESCALE_MOCK_RUN_TOKEN; exec sleep 1000")
    token = stdout.readline().strip()
    assert len(token) == 32
    marker = f"{sandbox.TOKEN_VAR}={token}".encode()

    def carrying_token() -> list[str]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(entry.name)
            except OSError:
                continue
        return found

    assert carrying_token()  # the job's command and the session's sleep
    client.jobs.stop_job(job_id=job_id)
    client.wait_for_job(job_id, delay=DELAY, timeout=TIMEOUT, raise_on_failure=False)
    stdout.channel.settimeout(30)
    assert stdout.read() == b""  # the channel closed with the job
    deadline = time.monotonic() + 30
    while carrying_token() and time.monotonic() < deadline:  # the kernel reaps killed processes asynchronously
        time.sleep(0.05)
    assert carrying_token() == []
    ssh_client.close()


@pytest.mark.parametrize("fake", ["inprocess"], indirect=True)
def test_each_node_of_a_multi_node_job_answers(fake: Fake, notebook: tuple[str, dict[str, str]],
                                               client: RescaleClient) -> None:
    job_id = client.jobs.create_job(body={"name": "two nodes", "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"}, "command": "sleep inf",
        "hardware": {"coreType": "granite", "coresPerSlot": 32, "slots": 2, "walltime": 1}}]})["id"]
    client.jobs.submit_job(job_id=job_id)
    client.wait_for_job(job_id, until="Executing", delay=DELAY, timeout=TIMEOUT)
    instances = client.jobs.list_job_instances(job_id=job_id)["results"]
    assert [i["role"] for i in instances] == ["MPI_MASTER", "MPI_SLAVE"]
    assert len({i["sshPort"] for i in instances}) == 2
    for instance in instances:  # one machine here: every node sees the same home, with work/shared/
        ssh_client = key_based_connect("127.0.0.1", instance["sshPort"], instance["username"], "rescale-key")
        _, stdout, _ = ssh_client.exec_command("ls work; echo $RESCALE_NODES_PER_SLOT")
        assert stdout.read().decode().split() == ["shared", "2"]
        ssh_client.close()
    client.jobs.stop_job(job_id=job_id)
    client.wait_for_job(job_id, delay=DELAY, timeout=TIMEOUT, raise_on_failure=False)
