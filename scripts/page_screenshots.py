"""Screenshots of the web page over the shipped weights, for the README (run by hand).

python scripts/page_screenshots.py          # writes docs/page-desktop.png, docs/page-phone.png
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

REPO = Path(__file__).resolve().parents[1]
SEVEN = [(-60, -70), (60, -70), (40, -20), (10, 40), (-10, 90)]  # canvas offsets of a "7"


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "VAE_WEIGHTS": str(REPO / "weights")},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={tempfile.mkdtemp()}",
            "--window-size=1280,1250",
        ):
            options.add_argument(flag)
        browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            browser.get(url + "/")
            time.sleep(2)
            canvas = browser.find_element(By.ID, "draw-canvas")
            actions = ActionChains(browser).move_to_element_with_offset(canvas, *SEVEN[0])
            actions = actions.click_and_hold()
            for (x0, y0), (x1, y1) in zip(SEVEN, SEVEN[1:], strict=False):
                for step in range(1, 6):
                    actions = actions.move_to_element_with_offset(
                        canvas, x0 + (x1 - x0) * step // 5, y0 + (y1 - y0) * step // 5
                    )
            actions.release().perform()
            time.sleep(1.5)
            browser.find_element(By.ID, "draw-to-b").click()
            time.sleep(1.5)
            browser.save_screenshot(str(REPO / "docs" / "page-desktop.png"))
            browser.set_window_size(390, 2300)
            time.sleep(1)
            browser.save_screenshot(str(REPO / "docs" / "page-phone.png"))
        finally:
            browser.quit()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
