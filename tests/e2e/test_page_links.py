"""Every panel's state lives in the page's address: a copied link, opened in a new tab, shows
the same pictures, byte for byte (real headless Chromium)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.conftest import Server, running
from tests.utils.browser import decoded_images, needs_browser, wait_for

pytestmark = needs_browser
# Each picture's bytes, base64: data: URLs as they are, blob: URLs read back through fetch.
SNAPSHOT = """
const done = arguments[arguments.length - 1];
const bytes = async (image) => {
  if (!image.src) return null;
  if (image.src.startsWith("data:")) return image.src.split(",")[1];
  const buffer = new Uint8Array(await (await fetch(image.src)).arrayBuffer());
  return btoa(String.fromCharCode(...buffer));
};
const pictures = async (selector) =>
  Promise.all([...document.querySelectorAll(selector)].map(bytes));
Promise.all(["#sample-grid img", "#strip img", "#animation", "#walk", "#explore-image"]
  .map(pictures)).then(done);
"""
PICTURES = ("#sample-grid img", "#strip img", "#animation", "#walk", "#explore-image")


@pytest.fixture(scope="module")
def link_server(weights_dir: Path) -> Iterator[Server]:
    with running(weights_dir) as live:
        yield live


def settled(browser: WebDriver, shown: tuple[str, ...] = PICTURES) -> list[list[str | None]]:
    """The pictures once those `shown` have loaded and two looks a moment apart agree."""

    def look() -> list[list[str | None]] | None:
        if not all(decoded_images(browser, s) and all(decoded_images(browser, s)) for s in shown):
            return None
        first = browser.execute_async_script(SNAPSHOT)
        time.sleep(0.3)
        return first if browser.execute_async_script(SNAPSHOT) == first else None

    found: list[list[str | None]] = wait_for(look, seconds=30)
    return found


def test_a_copied_link_shows_the_same_pictures(browser: WebDriver, link_server: Server) -> None:
    browser.set_script_timeout(30)
    browser.get(link_server.url + "/?model=tiny-gauss")
    settled(browser, tuple(s for s in PICTURES if s != "#animation"))
    # Move every panel away from its defaults: a random grid, new ends, animated as GIF,
    # another walk, the pad moved.
    browser.find_element(By.ID, "sample-again").click()
    browser.find_element(By.ID, "pick-a").click()
    browser.find_element(By.ID, "animate-format").find_element(
        By.CSS_SELECTOR, "option[value=gif]"
    ).click()
    browser.find_element(By.ID, "animate").click()
    browser.find_element(By.ID, "walk-again").click()
    pad = browser.find_element(By.ID, "pad")
    browser.execute_script("arguments[0].scrollIntoView()", pad)
    pad.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_UP)
    wait_for(lambda: "animate=gif" in browser.current_url and "explore_z" in browser.current_url)
    before = settled(browser)
    link = browser.current_url
    state = parse_qs(urlparse(link).query)
    assert state["model"] == ["tiny-gauss"]
    for name in ("seed", "n", "temperature", "a", "b", "steps", "method", "walk_seed"):
        assert state.get(name), f"{name} is not in {link}"
    assert [len(pictures) for pictures in before] == [16, 8, 1, 1, 1]

    original = browser.current_window_handle
    browser.switch_to.new_window("tab")
    try:
        browser.get(link)
        after = settled(browser)
        assert browser.find_element(By.ID, "model").get_attribute("value") == "tiny-gauss"
        for selector, was, now in zip(PICTURES, before, after, strict=True):
            assert now == was, f"{selector} differs in the new tab"
    finally:
        browser.close()
        browser.switch_to.window(original)
