"""The web page in a real headless Chromium (Debian's chromium + chromedriver, via Selenium)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.conftest import Server, running
from tests.utils.browser import ARTIFACTS, decoded_images, needs_browser, wait_for

pytestmark = needs_browser


@pytest.fixture(scope="module")
def page_server(weights_dir: Path) -> Iterator[Server]:
    with running(weights_dir) as live:
        yield live


@pytest.fixture
def page(browser: WebDriver, page_server: Server) -> WebDriver:
    browser.get(page_server.url + "/")
    wait_for(lambda: len(decoded_images(browser, "#sample-grid img")) == 16)
    return browser


def test_sample_grid_loads_and_its_images_decode(page: WebDriver) -> None:
    assert wait_for(lambda: all(w == 28 for w in decoded_images(page, "#sample-grid img")))
    seed = page.find_element(By.ID, "sample-seed-used").text
    assert seed.isdigit()
    page.find_element(By.ID, "sample-again").click()
    wait_for(lambda: page.find_element(By.ID, "sample-seed-used").text != seed)
    summary = page.find_element(By.ID, "model-summary").text
    assert "tiny" in summary
    assert "fitted-prior samples score Fréchet distance 27.4 (real pictures: 25.8)" in summary


def test_the_prior_selector_defaults_to_fitted_and_switches(page: WebDriver) -> None:
    choices = page.find_element(By.ID, "sample-prior")
    options = [o.get_attribute("value") for o in choices.find_elements(By.TAG_NAME, "option")]
    assert options == ["fitted", "standard"]
    assert wait_for(lambda: page.find_element(By.ID, "sample-prior-used").text == "fitted")
    choices.find_element(By.CSS_SELECTOR, "option[value=standard]").click()
    page.find_element(By.CSS_SELECTOR, "#sample-form button[type=submit]").click()
    assert wait_for(lambda: page.find_element(By.ID, "sample-prior-used").text == "standard")
    assert wait_for(lambda: all(w == 28 for w in decoded_images(page, "#sample-grid img")))


def test_a_stroke_on_the_canvas_gives_a_reconstruction(page: WebDriver) -> None:
    canvas = page.find_element(By.ID, "draw-canvas")
    page.execute_script("arguments[0].scrollIntoView()", canvas)
    strokes = ActionChains(page).move_to_element_with_offset(canvas, 0, -80).click_and_hold()
    for _ in range(8):
        strokes = strokes.move_by_offset(2, 20)
    strokes.release().perform()
    image = wait_for(lambda: decoded_images(page, "#draw-reconstruction"))
    assert wait_for(lambda: decoded_images(page, "#draw-reconstruction") == [112]), image
    bars = page.find_elements(By.CSS_SELECTOR, "#draw-bars div")
    assert len(bars) == 4  # one per latent dimension of the tiny model


def test_interpolation_shows_steps_images(page: WebDriver) -> None:
    wait_for(lambda: len(decoded_images(page, "#strip img")) == 8)
    page.execute_script(
        "const s = document.getElementById('steps'); s.value = 5;"
        "s.dispatchEvent(new Event('input'));"
    )
    assert wait_for(lambda: decoded_images(page, "#strip img") == [28] * 5)
    page.find_element(By.CSS_SELECTOR, "input[value=linear]").click()
    assert wait_for(lambda: len(decoded_images(page, "#strip img")) == 5)


def test_an_api_error_is_shown_on_the_page(page: WebDriver) -> None:
    page.execute_script("document.getElementById('sample-n').value = 999")
    page.find_element(By.CSS_SELECTOR, "#sample-form button[type=submit]").click()
    error = wait_for(
        lambda: (
            page.find_element(By.ID, "error").is_displayed() and page.find_element(By.ID, "error")
        )
    )
    assert "422" in error.text
    assert "query.n: Input should be less than or equal to 64" in error.text


def test_the_pad_works_from_the_keyboard(page: WebDriver) -> None:
    pad = page.find_element(By.ID, "pad")
    page.execute_script("arguments[0].focus()", pad)
    pad.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_UP)
    assert wait_for(lambda: pad.get_attribute("aria-valuetext") == "x 0.10, y 0.10")
    assert wait_for(lambda: decoded_images(page, "#explore-image") == [168])


@pytest.mark.parametrize(
    ("name", "width", "height"), [("desktop", 1280, 1400), ("phone", 390, 2400)]
)
def test_screenshots(page: WebDriver, name: str, width: int, height: int) -> None:
    page.set_window_size(width, height)
    wait_for(lambda: all(w == 28 for w in decoded_images(page, "#sample-grid img")))
    overflow = page.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, f"page is {overflow}px wider than a {width}px screen"
    ARTIFACTS.mkdir(exist_ok=True)
    assert page.save_screenshot(str(ARTIFACTS / f"page-{name}.png"))
    page.set_window_size(1280, 1400)


def test_api_docs_render_offline(browser: WebDriver, page_server: Server) -> None:
    """/docs loads Swagger UI from this server (no CDN), and it renders every operation."""
    browser.get(page_server.url + "/docs")
    operations = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"), seconds=30
    )
    paths = {element.text.replace("\u200b", "") for element in operations}
    assert {"/sample", "/decode", "/encode", "/interpolate", "/score", "/models"} <= paths
    sources = browser.execute_script(
        "return [...document.querySelectorAll('script[src], link[href]')].map(e => e.src || e.href)"
    )
    assert sources
    assert all(source.startswith(page_server.url) for source in sources), sources
