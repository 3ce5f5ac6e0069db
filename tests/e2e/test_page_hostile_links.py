"""The page against an address anybody can write and a user who edits the API key (real
headless Chromium): every value from the address is compared or set as text, never put into a
selector or markup, and one edit of the key reloads the models once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.conftest import Server, running
from tests.utils.browser import decoded_images, needs_browser, wait_for

pytestmark = needs_browser
MODEL_LISTINGS = (
    "return performance.getEntriesByType('resource')"
    ".filter(e => new URL(e.name).pathname === '/models').length"
)
# Values that break a CSS selector or would run as markup if they reached innerHTML.
HOSTILE = {
    "method": '"]',
    "model": "<img src=x onerror=window.pwned=1>",
    "label": "'><script>window.pwned=1</script>",
    "prior": '"]',
    "steps": "<b>8</b>",
    "animate": 'gif"]',
    "a": "z:<svg onload=window.pwned=1>",
}


@pytest.fixture(scope="module")
def page_server(weights_dir: Path) -> Iterator[Server]:
    with running(weights_dir) as live:
        yield live


def test_each_edit_of_the_api_key_reloads_the_models_once(
    browser: WebDriver, page_server: Server
) -> None:
    browser.get(page_server.url + "/")
    wait_for(lambda: len(decoded_images(browser, "#sample-grid img")) == 16)
    before = browser.execute_script(MODEL_LISTINGS)
    for edit in range(1, 4):
        browser.execute_script(
            "const key = document.getElementById('api-key'); key.value = arguments[0];"
            "key.dispatchEvent(new Event('change'));",
            f"key-{edit}",
        )
        wait_for(lambda edit=edit: browser.execute_script(MODEL_LISTINGS) >= before + edit)
    browser.execute_script("return new Promise(done => setTimeout(done, 1500))")
    # Before the fix each edit added a listener: 1 + 2 + 4 = 7 listings for three edits.
    assert browser.execute_script(MODEL_LISTINGS) == before + 3
    browser.execute_script("sessionStorage.clear()")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_address_value_cannot_stop_the_page(
    browser: WebDriver, page_server: Server, name: str
) -> None:
    browser.get(f"{page_server.url}/?{name}={quote(HOSTILE[name])}")
    # Every panel starts: the grid, the strip, the walk and the explorer's picture.
    wait_for(lambda: len(decoded_images(browser, "#sample-grid img")) == 16)
    wait_for(lambda: len(decoded_images(browser, "#strip img")) >= 2)
    wait_for(lambda: decoded_images(browser, "#walk") not in ([], [0]))
    wait_for(lambda: decoded_images(browser, "#explore-image") not in ([], [0]))
    assert browser.execute_script("return window.pwned === undefined")


def test_the_page_hides_what_a_model_cannot_do(
    browser: WebDriver, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A model whose N(0, I) draws are not pictures, with no fitted prior (a diffusion model's
    autoencoder): no sampling panels, no failed request, and the drawing and the pad work."""
    from contract.artifact import save_artifact
    from tests.utils.artifacts import tiny_metadata, tiny_vae

    weights = tmp_path_factory.mktemp("no-prior")
    metadata = {**tiny_metadata("no-prior"), "standard_prior": False}
    save_artifact(tiny_vae(), metadata, weights / "no-prior.pt")
    with running(weights) as live:
        browser.get(live.url + "/")
        wait_for(lambda: decoded_images(browser, "#explore-image") not in ([], [0]))
        hidden = browser.execute_script(
            "return ['sample-panel', 'interpolate-panel', 'walk-panel', 'explore-from-sample']"
            ".map(id => document.getElementById(id).hidden)"
        )
        assert hidden == [True, True, True, True]
        samples = browser.execute_script(
            "return performance.getEntriesByType('resource')"
            ".filter(e => new URL(e.name).pathname.startsWith('/sample')).length"
        )
        assert samples == 0
        assert browser.execute_script("return document.getElementById('error').hidden")
