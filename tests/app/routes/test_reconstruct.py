import base64

from fastapi.testclient import TestClient

from tests.app.conftest import b64, decode_png, digit_png


def test_reconstruction_png_and_json(client: TestClient) -> None:
    png = digit_png()
    image = decode_png(
        client.post(
            "/reconstruct?scale=2", content=png, headers={"Content-Type": "image/png"}
        ).content
    )
    assert image.size == (56, 56)
    body = client.post("/reconstruct?format=json", json={"images": [b64(png), b64(png)]}).json()
    assert body["model"] == "tiny"
    assert len(body["images"]) == 2
    # Reconstruction is decode(mean): the same as decoding the encoded mean.
    mean = client.post("/encode", json={"images": [b64(png)]}).json()["mean"]
    decoded = client.post("/decode?format=json", json={"latents": mean}).json()["images"][0]
    assert (
        decode_png(base64.b64decode(body["images"][0])).tobytes()
        == decode_png(base64.b64decode(decoded)).tobytes()
    )
