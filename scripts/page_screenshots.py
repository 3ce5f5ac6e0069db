"""Screenshots of the web page over the shipped weights, for the README (run by hand).

python scripts/page_screenshots.py   # docs/page-desktop.png, page-phone.png, page-colour.png
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
from selenium.webdriver.support.ui import Select

REPO = Path(__file__).resolve().parents[1]
SEVEN = [(-60, -70), (60, -70), (40, -20), (10, 40), (-10, 90)]  # canvas offsets of a "7"
# A yellow face with two eyes, dropped onto the colour model's canvas as a PNG file.
DRAW_FACE = """
const source = document.createElement("canvas");
source.width = source.height = 128;
const pen = source.getContext("2d");
pen.fillStyle = "#ffcc33"; pen.beginPath(); pen.arc(64, 64, 56, 0, 2 * Math.PI); pen.fill();
pen.fillStyle = "#664400";
for (const x of [44, 84]) { pen.beginPath(); pen.arc(x, 52, 9, 0, 2 * Math.PI); pen.fill(); }
pen.lineWidth = 7; pen.strokeStyle = "#664400";
pen.beginPath(); pen.arc(64, 70, 30, 0.2 * Math.PI, 0.8 * Math.PI); pen.stroke();
source.toBlob((blob) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([blob], "face.png", { type: "image/png" }));
  arguments[0].dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true }));
}, "image/png");
"""


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
            browser.find_element(By.ID, "animate").click()  # the strip as a WebP, there and back
            time.sleep(1.5)
            browser.save_screenshot(str(REPO / "docs" / "page-desktop.png"))
            browser.set_window_size(390, 2300)
            time.sleep(1)
            browser.save_screenshot(str(REPO / "docs" / "page-phone.png"))
            # The colour model: its own labels, a colour picker, a dropped emoji-like picture.
            browser.set_window_size(1280, 1250)
            Select(browser.find_element(By.ID, "model")).select_by_value("emoji-gaussian")
            time.sleep(3)
            Select(browser.find_element(By.ID, "sample-label")).select_by_value("smileys-emotion")
            browser.find_element(By.CSS_SELECTOR, "#sample-form button[type=submit]").click()
            time.sleep(3)
            canvas = browser.find_element(By.ID, "draw-canvas")
            browser.execute_script(DRAW_FACE, canvas)
            time.sleep(3)
            browser.save_screenshot(str(REPO / "docs" / "page-colour.png"))
        finally:
            browser.quit()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
