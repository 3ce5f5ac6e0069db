"""Answers fixed by their URL carry a strong ETag and may be cached; If-None-Match gets a 304
before any model work; answers that draw a fresh seed, and POST answers, are not cacheable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import caching
from app.caching import entity_tag, matches
from tests.app.conftest import make_client, wait_ready

YEAR = "public, max-age=31536000, immutable"


def batches(client: TestClient) -> float:
    """How many model batches the server has run (vae_batch_size's count)."""
    histogram = client.app.state.metrics.batch_size  # type: ignore[attr-defined]
    return sum(
        sample.value
        for metric in histogram.collect()
        for sample in metric.samples
        if sample.name.endswith("_count")
    )


def test_a_seeded_sample_is_cacheable_for_a_year(client: TestClient) -> None:
    response = client.get("/sample?seed=7&n=4")
    assert response.status_code == 200
    assert response.headers["cache-control"] == YEAR
    assert response.headers["vary"] == "Accept"  # the PNG route's JSON fallback
    etag = response.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert len(etag) == 34
    as_json = client.get("/sample.json?seed=7&n=4")
    assert as_json.headers["cache-control"] == YEAR
    assert "vary" not in as_json.headers
    assert as_json.headers["etag"] != etag


def test_the_tag_ignores_order_and_spelled_out_defaults(client: TestClient) -> None:
    tag = client.get("/sample?seed=7&n=2").headers["etag"]
    spelled = "/sample?n=2&temperature=1.0&scale=1&model=tiny&prior=fitted&seed=7"
    assert client.get(spelled).headers["etag"] == tag
    for other in ("seed=8&n=2", "seed=7&n=3", "seed=7&n=2&scale=2", "seed=7&n=2&prior=standard"):
        assert client.get(f"/sample?{other}").headers["etag"] != tag, other
    as_json = client.get("/sample?seed=7&n=2", headers={"Accept": "application/json"})
    assert as_json.headers["etag"] != tag  # another representation, another tag


def test_if_none_match_answers_304_without_model_work(client: TestClient) -> None:
    first = client.get("/sample?seed=11&n=3")
    etag = first.headers["etag"]
    before = batches(client)
    for offered in (etag, f"W/{etag}", f'"stale", {etag}', "*"):
        again = client.get("/sample?seed=11&n=3", headers={"If-None-Match": offered})
        assert again.status_code == 304, offered
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == YEAR
    assert batches(client) == before
    stale = client.get("/sample?seed=11&n=3", headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200
    assert stale.content == first.content
    assert batches(client) == before + 1


def test_unseeded_and_post_answers_are_not_stored(client: TestClient) -> None:
    unseeded = client.get("/sample", headers={"If-None-Match": "*"})
    assert unseeded.status_code == 200  # a fresh seed is never "not modified"
    assert unseeded.headers["cache-control"] == "no-store"
    assert "etag" not in unseeded.headers
    posted = client.post("/sample", json={"seed": 7})
    assert posted.status_code == 200
    assert "etag" not in posted.headers
    assert "cache-control" not in posted.headers


def test_an_invalid_query_is_422_whatever_the_tag(client: TestClient) -> None:
    response = client.get("/sample?seed=7&n=0", headers={"If-None-Match": "*"})
    assert response.status_code == 422


@pytest.mark.parametrize("path", ["/models", "/models/tiny"])
def test_the_model_listing_revalidates(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, no-cache"
    etag = response.headers["etag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert (
        client.get("/models/tiny-gauss").headers["etag"]
        != client.get("/models/tiny").headers["etag"]
    )


@pytest.fixture(scope="module")
def keyed(weights_dir: Path) -> Iterator[TestClient]:
    with make_client(weights_dir, api_key="k") as test_client:
        wait_ready(test_client)
        yield test_client


def test_with_an_api_key_answers_are_private(keyed: TestClient) -> None:
    response = keyed.get("/sample?seed=7", headers={"X-API-Key": "k"})
    assert response.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert response.headers["vary"] == "Accept, Authorization, X-API-Key"
    listing = keyed.get("/models", headers={"X-API-Key": "k"})
    assert listing.headers["cache-control"] == "private, no-cache"
    # The key is checked before the tag: a 304 is never a way round the 401.
    tag = response.headers["etag"]
    assert keyed.get("/sample?seed=7", headers={"If-None-Match": tag}).status_code == 401


def test_cache_max_age_zero_means_revalidate(weights_dir: Path) -> None:
    with make_client(weights_dir, cache_max_age=0) as test_client:
        wait_ready(test_client)
        response = test_client.get("/sample?seed=7")
        assert response.headers["cache-control"] == "public, no-cache"


def test_tags_change_with_the_rendering_version(monkeypatch: pytest.MonkeyPatch) -> None:
    tag = entity_tag("sha", "/sample", {"seed": 7})
    assert entity_tag("sha", "/sample", {"seed": 7}) == tag
    monkeypatch.setattr(caching, "RENDERING_VERSION", caching.RENDERING_VERSION + 1)
    assert entity_tag("sha", "/sample", {"seed": 7}) != tag


def test_if_none_match_uses_the_weak_comparison() -> None:
    assert matches('"a"', '"a"')
    assert matches('W/"a"', '"a"')
    assert matches('"b" , W/"a"', '"a"')
    assert matches("*", '"a"')
    assert not matches('"b"', '"a"')
    assert not matches(None, '"a"')
    assert not matches("", '"a"')


def test_a_request_with_credentials_gets_a_private_answer_without_a_key_set(
    client: TestClient,
) -> None:
    """An ingress in front may have checked them: RFC 9111 §3.5 lets a shared cache reuse a
    `public` answer to an authorised request for anyone."""
    for route in ("/sample?seed=7&n=2", "/walk.webp?seed=7&n=2&steps=2", "/models"):
        plain = client.get(route)
        keyed = client.get(route, headers={"Authorization": "Bearer from-the-ingress"})
        assert plain.headers["cache-control"].startswith("public"), route
        assert keyed.headers["cache-control"].startswith("private"), route
        assert keyed.headers["etag"] == plain.headers["etag"]


def test_without_fixed_size_calls_the_tags_are_weak_and_not_immutable(weights_dir: Path) -> None:
    """VAE_CALL_ROWS=0 batches rows in calls of any size, whose last bits can differ: the
    answer is the same picture, not the same bytes, and its headers say only that."""
    with make_client(weights_dir, call_rows=0) as loose:
        wait_ready(loose)
        answer = loose.get("/sample?seed=7&n=2")
        assert answer.headers["etag"].startswith('W/"')
        assert answer.headers["cache-control"] == "public, max-age=31536000"
        again = loose.get("/sample?seed=7&n=2", headers={"If-None-Match": answer.headers["etag"]})
        assert again.status_code == 304


def test_an_oversized_header_is_refused_before_it_is_parsed(client: TestClient) -> None:
    huge = '"' + "0" * 40_000 + '"'
    response = client.get("/sample?seed=7", headers={"If-None-Match": huge})
    assert response.status_code == 431
    assert "VAE_MAX_HEADER_BYTES" in response.json()["detail"]
