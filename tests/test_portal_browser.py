"""The portal and the API docs in a real browser: the OS's headless Chromium (Debian's `chromium` package), driven
by Playwright's Python package pointed at it (no browser download). Without that Chromium these tests ERROR with a
message saying what to install: they never skip in silence.

Screenshots are taken on the way; with RESCALE_MOCK_SCREENSHOTS=docs (`make screenshots`) they are written to
docs/ for the README, else to a temporary folder."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from rescale_mock.config import Config
from rescale_mock.testing import Control, InProcessServer

CHROMIUM = os.environ.get("RESCALE_MOCK_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # plus --headless and a fresh --user-data-dir, below
KEY_A = "browser-tenant-a-0123456789abcdef0123456789"
KEY_B = "browser-tenant-b-0123456789abcdef0123456789"
DOCS = Path(__file__).resolve().parents[1] / "docs"
WAIT_MS = 15_000  # live regions refresh every 1.5 s; a loaded CI machine gets ten times that


def _missing_browser(chromium: str = CHROMIUM) -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the `playwright` Python package is not installed (pip install -e '.[test]')"
    if not (Path(chromium).exists() or shutil.which(chromium)):
        return (f"no Chromium at {chromium}: install the OS's browser, e.g. `apt-get install -y chromium "
                "chromium-driver` on Debian/Ubuntu (as .ci/run does), or point RESCALE_MOCK_CHROMIUM at one")
    return None


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    missing = _missing_browser()
    if missing:
        pytest.fail(f"BROWSER TESTS CANNOT RUN: {missing}", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    served = InProcessServer(Config(data_dir=tmp_path_factory.mktemp("portal-browser"), api_keys=(KEY_A, KEY_B),
                                    clock_mode="manual", validate_responses=True))
    yield served
    assert not served.backend.violations
    served.close()


@pytest.fixture
def browser(playwright: Any, tmp_path: Path) -> Iterator[Any]:
    """A fresh browser profile per test (its own cookies), headless, JavaScript on."""
    context = _context(playwright, tmp_path / "profile")
    yield context
    context.close()


def _context(playwright: Any, profile: Path, **options: Any) -> Any:
    options = {"viewport": {"width": 1200, "height": 800}, **options}
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS, accept_downloads=True, **options)
    context.set_default_timeout(WAIT_MS)
    return context


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("RESCALE_MOCK_SCREENSHOTS") == "docs" else tmp_path


@pytest.fixture
def api(server: InProcessServer) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {KEY_A}"
    yield session
    for key in (KEY_A, KEY_B):
        Control(server.base_url, key).reset()


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def sign_in(page: Any, base_url: str, key: str) -> None:
    page.goto(f"{base_url}/portal/jobs")
    assert page.url == f"{base_url}/portal/sign-in"
    page.get_by_label("API key").fill(key)
    page.get_by_label("API key").press("Enter")  # the keyboard submits the form


def create_job(server: InProcessServer, api: requests.Session, command: str, name: str = "browser job") -> str:
    body = {"name": name, "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"}, "command": command,
        "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 2}}]}
    created = api.post(f"{server.base_url}/api/v2/jobs/", json=body, timeout=30)
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    assert api.post(f"{server.base_url}/api/v2/jobs/{job_id}/submit/", timeout=30).status_code == 200
    return str(job_id)


def screenshot(page: Any, folder: Path, name: str, height: int | None = None) -> None:
    path = folder / name
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": page.viewport_size["width"],
                                          "height": height or page.viewport_size["height"]})
    assert path.stat().st_size < 200_000, f"{name} is {path.stat().st_size} bytes; keep README images small"


# -- tests ---------------------------------------------------------------------------------------------------------
def test_without_chromium_the_browser_tests_say_what_to_install() -> None:
    message = _missing_browser("/nonexistent/chromium")
    assert message and "apt-get install -y chromium chromium-driver" in message


def test_docs_page_renders_the_operations_and_try_it_out_calls_the_fake(browser: Any, server: InProcessServer,
                                                                        shots: Path) -> None:
    page = browser.new_page()
    offsite: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((server.base_url, "data:")) else offsite.append(r.url))
    page.goto(f"{server.base_url}/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=WAIT_MS)
    assert page.locator(".opblock").count() > 40
    expect(page.locator(".opblock-summary-path", has_text="/api/v2/users/me/").first).to_be_visible()
    expect(page.get_by_text("rescale-mock", exact=True)).to_be_visible()
    page.set_viewport_size({"width": 1200, "height": 1000})
    screenshot(page, shots, "portal-docs.png")

    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    page.get_by_label("Value:").fill(KEY_A)  # the bare key: the page adds `Token `
    page.get_by_role("button", name="Apply credentials").click()
    page.locator(".auth-container button.btn-done").click()
    path = page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v2/users/me/$"))
    block = page.locator(".opblock", has=path)
    block.locator(".opblock-summary").first.click()
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table tr.response .response-col_status").first
    expect(status).to_have_text("200", timeout=WAIT_MS)
    expect(block.locator(".live-responses-table .microlight").first).to_contain_text("@example.com")

    page.get_by_label("Select a definition").select_option(label="Control plane (/_fake/)")
    expect(page.locator(".opblock-summary-path", has_text="/_fake/clock/advance/").first).to_be_visible()
    assert offsite == [], f"the docs page reached out of the fake: {offsite}"


def test_a_wrong_key_is_refused_and_the_right_one_signs_in(browser: Any, server: InProcessServer) -> None:
    page = browser.new_page()
    sign_in(page, server.base_url, "not-the-key-of-anyone")
    expect(page.get_by_role("alert")).to_have_text("Invalid token.")
    assert page.url == f"{server.base_url}/portal/sign-in"
    page.get_by_label("API key").fill(KEY_A)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    assert KEY_A not in page.url and KEY_A not in page.content()
    page.keyboard.press("Tab")  # the first stop is the skip link, then the navigation
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in with an API key")).to_be_visible()


def test_job_created_through_the_api_appears_and_its_page_follows_the_clock(
        browser: Any, server: InProcessServer, api: requests.Session, shots: Path) -> None:
    page = browser.new_page()
    sign_in(page, server.base_url, KEY_A)
    expect(page.get_by_text("0 jobs.")).to_be_visible()
    job_id = create_job(server, api, "echo estimating pi; echo 3.14159; sleep 600; openssl rand -out result.bin 4096",
                        name="rescale-mockkit demo")
    row = page.get_by_role("row", name=re.compile(job_id))
    expect(row).to_contain_text("Pending", timeout=WAIT_MS)  # the list updates itself: no reload
    link = row.get_by_role("link", name=job_id)
    link.focus()  # a keyboard user on the row: the live update keeps their place
    control = Control(server.base_url, KEY_A)
    control.advance(30)
    expect(row.locator(".badge").first).to_have_text("Queued", timeout=WAIT_MS)
    expect(link).to_be_focused()
    screenshot(page, shots, "portal-jobs.png", height=330)

    page.keyboard.press("Enter")
    timeline = page.locator("#job-timeline")
    expect(timeline).to_contain_text("Queued")
    expect(timeline).not_to_contain_text("Executing")
    expect(page.locator("#log")).to_have_count(0)
    control.advance(60)  # the run starts: statuses move on and the live log appears, without a reload
    expect(timeline).to_contain_text("Executing", timeout=WAIT_MS)
    expect(page.locator("#log")).to_contain_text("estimating pi\n3.14159", timeout=WAIT_MS)
    assert "Command exited" not in page.locator("#log").inner_text()
    screenshot(page, shots, "portal-job.png")
    control.advance(3600)
    expect(page.locator("#job-status")).to_have_text("Completed", timeout=WAIT_MS)
    expect(page.locator("#log")).to_contain_text("Command exited with status 0", timeout=WAIT_MS)
    expect(page.locator("#cluster-timeline")).to_contain_text("Stopped")

    outputs = api.get(f"{server.base_url}/api/v2/jobs/{job_id}/files/", timeout=30).json()["results"]
    result = next(o for o in outputs if o["name"] == "result.bin")
    expect(page.locator("#outputs")).to_contain_text(result["fileChecksums"][0]["fileHash"][:16])
    with page.expect_download() as info:
        page.get_by_role("link", name="Download result.bin").click()
    download = info.value
    assert download.suggested_filename == "result.bin"
    data = Path(download.path()).read_bytes()
    assert len(data) == 4096 and hashlib.sha512(data).hexdigest() == result["fileChecksums"][0]["fileHash"]


def create_device(server: InProcessServer, api: requests.Session, name: str = "browser scratch") -> str:
    body = {"name": name, "storageSize": 1, "hardware": {"walltime": 4, "coresPerSlot": 2, "coreType": "hps-3"}}
    created = api.post(f"{server.base_url}/api/v2/storage-devices/", json=body, timeout=30)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_storage_device_appears_and_its_page_follows_the_clock(browser: Any, server: InProcessServer,
                                                                api: requests.Session) -> None:
    device_id = create_device(server, api)
    page = browser.new_page()
    sign_in(page, server.base_url, KEY_A)
    page.get_by_role("link", name="Storage devices").click()
    row = page.get_by_role("row", name=re.compile(device_id))
    expect(row.locator(".badge")).to_have_text("Not Started")
    row.get_by_role("link", name=device_id).click()
    expect(page.get_by_role("heading", name=re.compile("browser scratch"))).to_be_visible()
    expect(page.locator("#device-status")).to_have_text("Not Started")
    assert api.post(f"{server.base_url}/api/v2/storage-devices/{device_id}/submit/", timeout=30).status_code == 200
    Control(server.base_url, KEY_A).advance(3600)
    expect(page.locator("#device-status")).to_have_text("Started", timeout=WAIT_MS)  # no reload: the live region
    expect(page.locator("#device-timeline .badge").last).to_have_text("Started")
    expect(page.locator("#device-timeline")).to_contain_text("Starting")


def test_fault_added_in_the_portal_answers_the_next_api_call_and_shows_in_the_journal(
        browser: Any, server: InProcessServer, api: requests.Session, shots: Path) -> None:
    page = browser.new_page()
    sign_in(page, server.base_url, KEY_A)
    page.get_by_role("link", name="Control plane").click()
    form = page.locator("#add-fault")
    form.get_by_label("Action").select_option("status")
    form.get_by_label("Method").fill("GET")
    form.get_by_label("Path (glob)").fill("/api/v2/users/*")
    form.get_by_label("Status").fill("503")
    form.get_by_label("Times").fill("1")
    form.get_by_role("button", name="Add rule").click()
    expect(page.get_by_role("status")).to_contain_text("Fault rule added.")
    expect(page.locator("#faults")).to_contain_text("/api/v2/users/*")

    assert api.get(f"{server.base_url}/api/v2/users/me/", timeout=30).status_code == 503
    assert api.get(f"{server.base_url}/api/v2/users/me/", timeout=30).status_code == 200
    faulted = page.locator("#journal tr.faulted")
    expect(faulted).to_have_count(1, timeout=WAIT_MS)  # the journal updates itself
    expect(faulted).to_contain_text("503")
    expect(faulted).to_contain_text("getCurrentUser")
    expect(page.locator("#journal tbody tr")).to_have_count(2)
    page.locator("#seconds").fill("900")
    page.get_by_role("button", name="Advance").click()
    expect(page.get_by_role("status")).to_contain_text("Clock advanced by 900 s.")
    page.set_viewport_size({"width": 1200, "height": 1240})
    screenshot(page, shots, "portal-control.png")


def test_no_page_shows_another_tenants_data(browser: Any, playwright: Any, server: InProcessServer,
                                            api: requests.Session, tmp_path: Path) -> None:
    theirs = create_job(server, api, "echo private to tenant a", name="tenant a's job")
    Control(server.base_url, KEY_A).add_fault("latency", path="/api/private-a/*", latencyMs=1)
    page = browser.new_page()
    sign_in(page, server.base_url, KEY_B)
    expect(page.get_by_text("0 jobs.")).to_be_visible()
    for path in ("/portal/jobs", "/portal/clusters", "/portal/control", "/portal/jobs?state=not_completed"):
        page.goto(f"{server.base_url}{path}")
        content = page.content()
        assert theirs not in content and "tenant a" not in content and "private-a" not in content, path
    response = page.goto(f"{server.base_url}/portal/jobs/{theirs}")
    assert response.status == 404
    expect(page.get_by_role("heading", name="404 Not Found")).to_be_visible()


def test_pages_work_without_javascript_and_fit_a_phone(playwright: Any, server: InProcessServer,
                                                       api: requests.Session, tmp_path: Path, shots: Path) -> None:
    job_id = create_job(server, api, "echo on a phone")
    device_id = create_device(server, api, "phone device")
    context = _context(playwright, tmp_path / "phone", java_script_enabled=False,
                       viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        sign_in(page, server.base_url, KEY_A)
        for path in ("/portal/jobs", f"/portal/jobs/{job_id}", "/portal/clusters", "/portal/storage-devices",
                     f"/portal/storage-devices/{device_id}", "/portal/control"):
            page.goto(f"{server.base_url}{path}")
            expect(page.get_by_text("a local fake of the Rescale API")).to_be_visible()
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow}px wider than a phone"
        page.goto(f"{server.base_url}/portal/jobs")
        expect(page.get_by_role("link", name=job_id)).to_be_visible()
        screenshot(page, shots, "portal-phone.png")
    finally:
        context.close()
