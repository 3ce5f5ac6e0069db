import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import b64, digit_png


def test_json_multipart_and_raw_bodies_agree(client: TestClient) -> None:
    png = digit_png()
    from_json = client.post("/encode", json={"images": [b64(png)]}).json()
    from_raw = client.post("/encode", content=png, headers={"Content-Type": "image/png"}).json()
    from_form = client.post("/encode", files={"file": ("one.png", png, "image/png")}).json()
    for other in (from_raw, from_form):
        assert other["mean"][0] == pytest.approx(from_json["mean"][0], abs=1e-6)
        assert other["logvar"][0] == pytest.approx(from_json["logvar"][0], abs=1e-6)
    assert set(from_json) == {"model", "mean", "logvar"}
    assert len(from_json["mean"]) == 1
    assert len(from_json["mean"][0]) == 4


def test_several_files_and_data_urls(client: TestClient) -> None:
    png, other = digit_png(), digit_png(size=(56, 56))
    form = client.post(
        "/encode",
        files=[("file", ("a.png", png, "image/png")), ("file", ("b.png", other, "image/png"))],
    ).json()
    assert len(form["mean"]) == 2
    data_url = client.post("/encode", json={"images": ["data:image/png;base64," + b64(png)]}).json()
    assert data_url["mean"][0] == pytest.approx(form["mean"][0], abs=1e-6)


def test_seed_adds_a_reproducible_sample(client: TestClient) -> None:
    png = digit_png()
    first = client.post("/encode?seed=4", content=png, headers={"Content-Type": "image/png"})
    assert first.headers["x-seed"] == "4"
    assert len(first.json()["z"][0]) == 4
    again = client.post("/encode?seed=4", content=png, headers={"Content-Type": "image/png"})
    assert again.json()["z"] == first.json()["z"]


def test_dark_on_light_inverts_by_default_and_on_request(client: TestClient) -> None:
    plain = client.post("/encode", json={"images": [b64(digit_png())]}).json()["mean"]
    paper = client.post("/encode", json={"images": [b64(digit_png(dark_on_light=True))]}).json()[
        "mean"
    ]
    assert paper[0] == pytest.approx(plain[0], abs=1e-5)
    kept = client.post(
        "/encode?invert=false", json={"images": [b64(digit_png(dark_on_light=True))]}
    ).json()
    assert kept["mean"][0] != pytest.approx(paper[0], abs=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"content": b"not an image", "headers": {"Content-Type": "image/png"}}, 400, "Pillow"),
        ({"content": b"", "headers": {"Content-Type": "image/png"}}, 400, "empty"),
        ({"json": {"images": ["@@@"]}}, 400, "base64"),
        ({"content": b"hello", "headers": {"Content-Type": "text/plain"}}, 415, "text/plain"),
        ({"content": b"hello"}, 415, "Content-Type"),
        ({"json": {"images": []}}, 422, "at least one"),
        ({"json": {"pictures": ["x"]}}, 422, "images"),
        (
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            422,
            "not valid JSON",
        ),
        ({"files": {"upload": ("a.png", b"x", "image/png")}}, 422, "'file'"),
    ],
)
def test_bad_input(
    client: TestClient, kwargs: dict[str, object], status: int, fragment: str
) -> None:
    response = client.post("/encode", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert fragment in response.json()["detail"]


def test_too_many_images_is_422(client: TestClient) -> None:
    response = client.post("/encode", json={"images": [b64(digit_png())] * 65})
    assert response.status_code == 422
    assert "VAE_MAX_IMAGES" in response.json()["detail"]
