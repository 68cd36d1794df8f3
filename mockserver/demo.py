"""The walkthrough `make run` shows a newcomer: the seed notebook's story against the fake, over HTTP, with plain
`requests` — upload inputs, create and submit a job, watch its statuses, read its log, download its outputs."""
from __future__ import annotations

import hashlib
import io
import time
import zipfile

import requests

CALCULATE_PI = """import sys
n = int(open(sys.argv[1]).read())
pi = 4 * sum((-1) ** k / (2 * k + 1) for k in range(n))
open("pi_estimate.res", "w").write(f"{pi}\\n")
print(pi)
"""


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def run_demo(base_url: str, api_key: str, timeout: float = 120.0, interval: float = 0.2) -> bool:
    api = requests.Session()
    api.headers["Authorization"] = f"Token {api_key}"
    url = f"{base_url}/api/v2"
    try:
        me = api.get(f"{url}/users/me/", timeout=10).json()
        say(f"GET /users/me/ -> {me['email']} ({me['company']['name']})")

        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("job_inputs/calculate_pi.py", CALCULATE_PI)  # runs for real under `make run-execute`
            zf.writestr("job_inputs/range.inp", "1000000\n")
        upload = api.post(f"{url}/files/contents/", files={"file": ("job_inputs.zip", archive.getvalue())}, timeout=30)
        upload.raise_for_status()
        file_id = upload.json()["id"]
        say(f"POST /files/contents/ -> {upload.status_code}, file {file_id} ({upload.json()['decryptedSize']} bytes)")

        job = {
            "name": "rescale-mockkit demo",
            "jobanalyses": [{
                "analysis": {"code": "user_included", "version": "0"},
                "command": "cd job_inputs; echo estimating pi; python calculate_pi.py range.inp; sleep 20",
                "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1},
                "inputFiles": [{"id": file_id}],
            }],
        }
        created = api.post(f"{url}/jobs/", json=job, timeout=30)
        created.raise_for_status()
        job_id = created.json()["id"]
        say(f"POST /jobs/ -> {created.status_code}, job {job_id}")
        say(f"POST /jobs/{job_id}/submit/ -> {api.post(f'{url}/jobs/{job_id}/submit/', timeout=30).status_code}")

        seen, deadline = "", time.monotonic() + timeout
        while time.monotonic() < deadline:
            latest = api.get(f"{url}/jobs/{job_id}/statuses/", timeout=10).json()["results"][0]
            if latest["status"] != seen:
                seen = latest["status"]
                say(f"status: {seen}" + (f" ({latest['statusReason']})" if latest["statusReason"] else ""))
            if seen == "Completed":
                break
            time.sleep(interval)  # polls like a user's script; the fake's clock runs 60x faster

        outputs = api.get(f"{url}/jobs/{job_id}/files/", timeout=10).json()["results"]
        for output in outputs:
            body = api.get(output["downloadUrl"], timeout=30).content
            ok = hashlib.sha512(body).hexdigest() == output["fileChecksums"][0]["fileHash"]
            say(f"downloaded {output['relativePath']} ({len(body)} bytes, sha512 {'OK' if ok else 'MISMATCH'})")
            if output["name"] == "process_output.log":
                for line in body.decode().splitlines():
                    say(f"  | {line}")
        say(f"done. Try: curl -H 'Authorization: Token {api_key}' {url}/jobs/{job_id}/statuses/")
        say(f"API docs: {base_url}/docs")
        say(f"see job {job_id} in the portal (sign in with the key above): {base_url}/portal/jobs/{job_id}")
        return True
    except (requests.RequestException, KeyError, IndexError) as err:
        say(f"failed: {err!r}")
        return False
