"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright (no browser is
ever downloaded), and web users made with the real `callcenter users` command."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.conftest import CALLCENTER, REPO, service_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 10_000  # the most any expected change on a page may take


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()


def users(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [*CALLCENTER, "users", *argv]
    return subprocess.run(command, env=service_env(), cwd=REPO, input=stdin, capture_output=True, text=True, timeout=60)


def web_user(name: str, role: str, extension: str = "") -> str:
    """The user ``name`` with a new random password (made, or its password replaced, and enabled): the password."""
    password = secrets.token_urlsafe(12)
    where = ["--extension", extension] if extension else []
    made = users("add", name, "--role", role, *where, "--password-stdin", stdin=password + "\n")
    if made.returncode != 0:
        assert "exists already" in made.stderr, made.stderr
        changed = users("passwd", name, "--password-stdin", stdin=password + "\n")
        assert changed.returncode == 0, changed.stderr
        assert users("enable", name).returncode == 0
    return password


def log_in(page: Page, base: str, name: str, password: str, path: str = "/wallboard") -> None:
    """Through the log-in form, as a person would: asking for ``path`` first lands on the form."""
    page.goto(base + path)
    assert "/login" in page.url, page.url
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#log-in")
    page.wait_for_url(base + path, timeout=WAIT_MS)
