"""The page with a colour model, in a real headless Chromium: colour tiles, the model's own
labels, a colour picker, and a dropped picture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.conftest import Server, running
from tests.utils.artifacts import save_tiny_colour
from tests.utils.browser import ARTIFACTS, decoded_images, needs_browser, wait_for

pytestmark = needs_browser

# In the browser: does the first <img> under the selector hold a pixel whose R, G, B differ?
HAS_COLOUR = """
const image = document.querySelector(arguments[0]);
// A reconstruction may be swapped for a newer one while this runs: not decoded yet is "no".
if (!image || !image.complete || !image.naturalWidth) return false;
const canvas = document.createElement("canvas");
canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
const context = canvas.getContext("2d");
context.drawImage(image, 0, 0);
const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
for (let i = 0; i < data.length; i += 4) {
  if (data[i] !== data[i + 1] || data[i + 1] !== data[i + 2]) return true;
}
return false;
"""


@pytest.fixture(scope="module")
def colour_page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    weights = tmp_path_factory.mktemp("colour-weights")
    save_tiny_colour(weights)
    with running(weights) as live:
        yield live


@pytest.fixture
def colour_page(browser: WebDriver, colour_page_server: Server) -> WebDriver:
    browser.get(colour_page_server.url + "/")
    wait_for(lambda: decoded_images(browser, "#sample-grid img") == [16] * 16)
    return browser


def test_samples_are_colour_tiles(colour_page: WebDriver) -> None:
    assert wait_for(lambda: colour_page.execute_script(HAS_COLOUR, "#sample-grid img"))
    summary = colour_page.find_element(By.ID, "model-summary").text
    assert "16×16 colour pictures" in summary
    assert "Test pictures by the test suite" in summary


def test_the_label_selector_has_the_models_names(colour_page: WebDriver) -> None:
    choices = colour_page.find_element(By.ID, "sample-label")
    options = [o.get_attribute("value") for o in choices.find_elements(By.TAG_NAME, "option")]
    assert options == ["", "leaves", "suns"]
    choices.find_element(By.CSS_SELECTOR, "option[value=suns]").click()
    colour_page.find_element(By.CSS_SELECTOR, "#sample-form button[type=submit]").click()
    assert wait_for(lambda: colour_page.find_element(By.ID, "sample-prior-used").text == "class")


def test_drawing_in_colour_gives_a_colour_reconstruction(colour_page: WebDriver) -> None:
    picker = colour_page.find_element(By.ID, "draw-colour")
    assert picker.is_displayed()
    canvas = colour_page.find_element(By.ID, "draw-canvas")
    colour_page.execute_script("arguments[0].scrollIntoView()", canvas)
    assert colour_page.execute_script(
        "return getComputedStyle(arguments[0]).backgroundColor", canvas
    ) == "rgb(200, 220, 255)"  # the model's background, from its metadata
    strokes = ActionChains(colour_page).move_to_element_with_offset(canvas, 0, -80)
    strokes = strokes.click_and_hold()
    for _ in range(8):
        strokes = strokes.move_by_offset(2, 20)
    strokes.release().perform()
    assert wait_for(lambda: decoded_images(colour_page, "#draw-reconstruction") == [64])
    assert wait_for(lambda: colour_page.execute_script(HAS_COLOUR, "#draw-reconstruction"))
    assert len(colour_page.find_elements(By.CSS_SELECTOR, "#draw-bars div")) == 4


def test_a_dropped_picture_is_encoded(colour_page: WebDriver) -> None:
    colour_page.execute_script(
        """
        const source = document.createElement("canvas");
        source.width = 40; source.height = 30;
        const context = source.getContext("2d");
        context.fillStyle = "orange"; context.fillRect(5, 5, 30, 20);
        source.toBlob((blob) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([blob], "dropped.png", { type: "image/png" }));
          const drop = new DragEvent("drop", { dataTransfer: transfer, bubbles: true });
          document.getElementById("draw-canvas").dispatchEvent(drop);
        }, "image/png");
        """
    )
    assert wait_for(lambda: decoded_images(colour_page, "#draw-reconstruction") == [64])


def test_interpolate_and_explore_work_in_colour(colour_page: WebDriver) -> None:
    assert wait_for(lambda: decoded_images(colour_page, "#strip img") == [16] * 8)
    assert wait_for(lambda: colour_page.execute_script(HAS_COLOUR, "#strip img"))
    pad = colour_page.find_element(By.ID, "pad")
    colour_page.execute_script("arguments[0].focus()", pad)
    pad.send_keys(Keys.ARROW_RIGHT)
    assert wait_for(lambda: decoded_images(colour_page, "#explore-image") == [96])  # scale 6
    ARTIFACTS.mkdir(exist_ok=True)
    assert colour_page.save_screenshot(str(ARTIFACTS / "page-colour.png"))
