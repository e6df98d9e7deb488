"""Playwright driving Debian's Chromium (headless) through the Airflow UI, as a person would.

No browser is downloaded: Playwright launches the system Chromium by ``executable_path``.
Every step can be saved as a screenshot in the artifacts folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class Browser:
    def __init__(self, page: Any, base_url: str, artifacts: Path, prefix: str) -> None:
        self.page = page
        self.prefix = prefix
        self.base_url = base_url
        self.artifacts = artifacts
        artifacts.mkdir(parents=True, exist_ok=True)
        self.shots: list[Path] = []

    def shot(self, name: str, *, element: Any = None, **kwargs: Any) -> Path:
        path = self.artifacts / f"{self.prefix}-{len(self.shots) + 1:02d}-{name}.png"
        (element or self.page).screenshot(path=str(path), **kwargs)
        self.shots.append(path)
        return path

    def sign_in(self, username: str, password: str) -> None:
        page = self.page
        page.goto(self.base_url + "/")
        page.wait_for_url("**/auth/login**")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        self.shot("sign-in")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(self.base_url + "/")
        page.get_by_role("button", name="Admin").wait_for()

    def away(self) -> None:
        """Move the pointer off any tooltip, which would take the next click."""
        self.page.mouse.move(1, 1)
        self.page.wait_for_timeout(300)


@contextmanager
def browser(executable: str, base_url: str, artifacts: Path, prefix: str) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            context = chromium.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(30_000)
            yield Browser(context.new_page(), base_url, artifacts, prefix)
        finally:
            chromium.close()
