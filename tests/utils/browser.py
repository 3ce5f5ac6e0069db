"""Helpers for the page tests in a real headless Chromium (Debian's chromium + chromedriver)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")

# In CI a missing browser is a failure (.ci/run installs it); elsewhere, a skip.
needs_browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("CI"),
    reason="needs Debian's chromium and chromium-driver",
)


def wait_for(condition: Callable[[], Any], seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def decoded_images(browser: WebDriver, selector: str) -> list[int]:
    """naturalWidth of each <img> in `selector`: 0 means the browser could not decode it."""
    return browser.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map(i => i.complete ? i.naturalWidth : 0)",
        selector,
    )
