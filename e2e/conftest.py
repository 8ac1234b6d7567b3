"""Browser tests: Playwright for Python driving Debian's chromium (Playwright cannot download its
own browsers here). Without a chromium they are skipped, unless REMIT_REQUIRE_BROWSER=1 (CI), where
a missing browser is a failure."""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "e2e" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("REMIT_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is required (REMIT_REQUIRE_BROWSER=1) but was not found")
        pytest.skip("no chromium on this machine: apt-get install chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make to
    # set up data happen in that same thread, outside any coroutine. Only while browsers run.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


# Accessibility: axe-core (bundled in the axe-playwright-python package, never from a CDN) checks
# WCAG 2.0, 2.1 and 2.2, levels A and AA, at a desktop and a phone width.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
WIDTHS = ((1280, 900), (390, 844))
_checked_paths: set[str] = set()  # page shapes already checked in this session


def accessibility_problems(page, screenshot_name: str | None = None) -> list[str]:
    """axe violations, and a page wider than the screen, at each width; the viewport is restored.
    With REMIT_SCREENSHOTS=1, each width is also saved under artifacts/screenshots/pages/."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    viewport = page.viewport_size
    problems = []
    try:
        for width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            results = axe.run(
                page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}}
            ).response
            for violation in results["violations"]:
                targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
                problems.append(f"{width}px {violation['id']}: {violation['help']} at {targets}")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                problems.append(f"{width}px: the page scrolls sideways by {overflow}px")
            if screenshot_name and os.environ.get("REMIT_SCREENSHOTS") == "1":
                (SCREENSHOTS / "pages").mkdir(parents=True, exist_ok=True)
                name = screenshot_name.strip("/").replace("/", "_") or "root"
                page.screenshot(
                    path=str(SCREENSHOTS / "pages" / f"{name}-{width}.png"), full_page=True
                )
    finally:
        page.set_viewport_size(viewport)
    return problems


# axe and Playwright's screenshots add <style> elements of their own; a page's CSP refuses them
# (rightly) and says so in the console. Those messages are the checker's, not the page's.
CHECKER_STYLE_REFUSED = "Applying inline style violates the following Content Security Policy"


def assert_accessible(page, screenshot_name: str | None = None) -> None:
    """Check the page as it is now (an open dialog included) at both widths; with
    REMIT_SCREENSHOTS=1 and a `screenshot_name`, each width is saved under
    artifacts/screenshots/pages/ as <name>-<width>.png."""
    errors = getattr(page, "console_errors", None)
    before = len(errors) if errors is not None else 0
    problems = accessibility_problems(page, screenshot_name)
    if errors is not None:
        errors[before:] = [e for e in errors[before:] if not e.startswith(CHECKER_STYLE_REFUSED)]
    assert problems == [], f"{page.url} is not accessible:\n" + "\n".join(problems)


def _page_shape(url: str) -> str:
    """/invoices/12/pay/ and /invoices/7/pay/ are one page to check."""
    return re.sub(r"/\d+(?=/|$)", "/N", urlsplit(url).path)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    page.console_errors = errors  # a test that expects an error page may clear them
    visited: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: visited.append(frame.url) if frame == page.main_frame else None,
    )
    yield page
    # Every page a browser test opened is checked for accessibility, as the user it was opened by
    # (same cookies), once per page shape a session.
    problems = []
    for url in dict.fromkeys(visited):
        shape = _page_shape(url)
        if not url.startswith(live_server.url) or shape in _checked_paths:
            continue
        _checked_paths.add(shape)
        probe = context.new_page()
        try:
            if probe.goto(url).ok:
                found = accessibility_problems(probe, screenshot_name=shape)
                problems += [f"{shape} {problem}" for problem in found]
        finally:
            probe.close()
    context.close()
    assert errors == [], f"the page logged errors: {errors}"
    assert problems == [], "pages not accessible:\n" + "\n".join(problems)


@pytest.fixture
def screenshot(page, request):
    """screenshot("name") saves artifacts/screenshots/<test>-<name>.png for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page, caret="initial")
        return path

    return take


@pytest.fixture
def demo_data(transactional_db):
    from django.core.management import call_command

    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115


def sign_in(page, email: str, password: str = "remit-demo-2026") -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
