"""Generate clients from the live /openapi.json and use them, as a client author would.

Python: openapi-python-client (pinned in the dev extra) must generate without a warning, and
the generated client must call every operation against a real uvicorn: JSON and PNG results, a
raw-body upload, multipart and base64 uploads, the API key, and X-Seed. TypeScript, when node
and npx are present: openapi-typescript's types and a small openapi-fetch client must pass
`tsc --strict`.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.app.conftest import digit_png
from tests.e2e.conftest import REPO, Server, running

KEY = "client-key"
BIN = Path(sys.executable).parent
TS_PACKAGES = ["openapi-typescript@7.13", "openapi-fetch@0.17", "typescript@5.9"]


@pytest.fixture(scope="module")
def live(weights_dir: Path) -> Iterator[Server]:
    with running(weights_dir, VAE_API_KEY=KEY) as server:
        yield server


@pytest.fixture(scope="module")
def schema_file(live: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "openapi.json"
    path.write_text(httpx.get(f"{live.url}/openapi.json", timeout=10).text)
    return path


@pytest.fixture(scope="module")
def generated(schema_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated package's folder (its parent goes on sys.path)."""
    out = tmp_path_factory.mktemp("client") / "vae_client"
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(schema_file),
         "--config", str(REPO / "clients" / "openapi-python-client.yml"), "--meta", "none",
         "--output-path", str(out)],
        capture_output=True, text=True, env=environment, timeout=300, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output, output
    return out


@pytest.fixture(scope="module")
def client_package(generated: Path) -> Iterator[ModuleType]:
    sys.path.insert(0, str(generated.parent))
    try:
        yield importlib.import_module("vae_client")
    finally:
        sys.path.remove(str(generated.parent))
        for name in [n for n in sys.modules if n == "vae_client" or n.startswith("vae_client.")]:
            del sys.modules[name]


def module(name: str) -> Any:
    return importlib.import_module(f"vae_client.{name}")


def png_size(payload: io.BytesIO | Any) -> tuple[int, int]:
    picture = Image.open(io.BytesIO(payload.read()))
    assert picture.format == "PNG"
    return picture.size


def test_the_generated_client_passes_mypy_strict(generated: Path, tmp_path: Path) -> None:
    # client.py is the generator's fixed boilerplate, not made from our schema; its __exit__
    # forwards *args to httpx, which current httpx stubs reject (arg-type) whatever the schema.
    config = tmp_path / "mypy.ini"
    config.write_text(
        "[mypy]\nstrict = True\n\n[mypy-vae_client.client]\ndisable_error_code = arg-type\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"), "vae_client"],
        cwd=generated.parent, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]


def test_every_operation_through_the_generated_client(
    live: Server, client_package: ModuleType
) -> None:
    models, types = module("models"), module("types")
    client = client_package.AuthenticatedClient(base_url=live.url, token=KEY)
    api = "vae_client.api"
    with client:
        every_operation(client, api, models, types)


def every_operation(client: Any, api: str, models: Any, types: Any) -> None:

    def call(operation: str, **arguments: Any) -> Any:
        response = importlib.import_module(f"{api}.{operation}").sync_detailed(
            client=client, **arguments
        )
        assert response.status_code == 200, (operation, response.content[:300])
        return response

    # Probes and metadata.
    assert call("health.livez").parsed.status == "alive"
    assert call("health.readyz").parsed.status == "ready"
    assert "vae_requests_total" in call("health.metrics").content.decode()
    listing = call("models.list_models").parsed
    assert listing.default == "tiny"
    assert [m.name for m in listing.models] == ["tiny", "tiny-gauss"]
    detail = call("models.get_model", name="tiny").parsed
    assert detail.latent_dim == 4
    assert detail.sample_priors == ["fitted", "standard"]

    # Sampling: PNG and JSON, query and body, the seed echoed in X-Seed.
    png = call("generate.sample_png", n=4, seed=3, prior=models.Prior.STANDARD)
    assert png.headers["X-Seed"] == "3"
    assert png.headers["X-Prior"] == "standard"
    assert png_size(png.parsed.payload) == (56, 56)
    body = models.SampleRequest(n=2, seed=5, temperature=0.8)
    assert png_size(call("generate.sample_from_body_png", body=body).parsed.payload) == (56, 28)
    sampled = call("generate.sample_json", n=2, seed=5, digit=7).parsed
    assert sampled.seed == 5
    assert sampled.prior == "class"
    assert [len(z) for z in sampled.latents] == [4, 4]
    assert call("generate.sample_from_body_json", body=body).parsed.latents[0][0] == pytest.approx(
        call("generate.sample_json", n=2, seed=5, temperature=0.8).parsed.latents[0][0]
    )

    # Decoding and interpolation from latents.
    z = [0.5, -0.5, 0.0, 1.0]
    one = models.DecodeOneRequest(latents=z)
    batch = models.DecodeRequest(latents=[z, z])
    assert png_size(call("generate.decode_png", body=one).parsed.payload) == (28, 28)
    assert len(call("generate.decode_json", body=batch).parsed.images) == 2
    ends = models.InterpolateFromLatents(
        latents=[z, [0.0] * 4], steps=5, method=models.Method.LINEAR
    )
    assert png_size(call("generate.interpolate_png", body=ends).parsed.payload) == (140, 28)
    assert len(call("generate.interpolate_json", body=ends).parsed.latents) == 5
    b64 = base64.b64encode(digit_png()).decode()
    pictures = models.InterpolateFromImages(images=[b64, b64], steps=3)
    assert len(call("generate.interpolate_json", body=pictures).parsed.images) == 3

    # Image uploads: a raw body, multipart files, and base64 JSON.
    raw = types.File(payload=io.BytesIO(digit_png()), mime_type="application/octet-stream")
    encoded = call("analyse.encode", body=raw, seed=9)
    assert encoded.headers["X-Seed"] == "9"
    assert len(encoded.parsed.mean[0]) == 4
    assert len(encoded.parsed.z[0]) == 4
    files = models.ImageFiles(
        file=[types.File(payload=io.BytesIO(digit_png()), file_name=f"{i}.png") for i in (1, 2)]
    )
    assert len(call("analyse.encode", body=files).parsed.mean) == 2
    # .npy: the latent means as a tensor, and that tensor decoded (clients/ config: a File).
    means = call("analyse.encode_npy", body=files).parsed.payload.read()
    assert np.load(io.BytesIO(means)).shape == (2, 4)
    npy = types.File(payload=io.BytesIO(means), mime_type="application/x-npy")
    pixels = np.load(call("generate.decode_npy", body=npy).parsed.payload)
    assert pixels.shape == (2, 1, 28, 28)
    as_json = models.Base64Images(images=[b64])
    reconstructed = call("analyse.reconstruct_png", body=as_json, scale=2)
    assert png_size(reconstructed.parsed.payload) == (56, 56)
    assert len(call("analyse.reconstruct_json", body=as_json).parsed.images) == 1
    scored = call("analyse.score", body=as_json, k=4, seed=1)
    assert scored.headers["X-Seed"] == "1"
    assert scored.parsed.k == 4
    assert scored.parsed.nll[0] > 0


def test_errors_and_the_api_key_through_the_generated_client(
    live: Server, client_package: ModuleType
) -> None:
    models = module("models")
    list_models = importlib.import_module("vae_client.api.models.list_models")
    decode_json = importlib.import_module("vae_client.api.generate.decode_json")
    Client = client_package.AuthenticatedClient
    with Client(base_url=live.url, token="wrong") as wrong:
        refused = list_models.sync_detailed(client=wrong)
    assert refused.status_code == 401
    assert isinstance(refused.parsed, models.ErrorResponse)
    with Client(base_url=live.url, token=KEY, auth_header_name="X-API-Key", prefix="") as keyed:
        assert list_models.sync_detailed(client=keyed).status_code == 200
    with Client(base_url=live.url, token=KEY) as client:
        body = models.DecodeRequest(latents=[[0.0]])
        invalid = decode_json.sync_detailed(client=client, body=body)
    assert invalid.status_code == 422
    assert "takes 4" in invalid.parsed.detail


def test_typescript_types_and_client_pass_tsc_strict(schema_file: Path, tmp_path: Path) -> None:
    npm, npx = shutil.which("npm"), shutil.which("npx")
    if npm is None or npx is None:
        pytest.skip("node's npm and npx are not installed")
    installed = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", *TS_PACKAGES],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if installed.returncode != 0:
        pytest.skip(f"npm could not install {TS_PACKAGES}: {installed.stderr[-500:]}")
    subprocess.run(
        [npx, "--no-install", "openapi-typescript", str(schema_file), "-o", "schema.d.ts"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    (tmp_path / "client.ts").write_text(TS_CLIENT)
    (tmp_path / "tsconfig.json").write_text(json.dumps(TS_CONFIG))
    checked = subprocess.run(
        [npx, "--no-install", "tsc", "-p", "."],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout[-4000:]


TS_CONFIG = {
    "compilerOptions": {
        "strict": True,
        "noEmit": True,
        "target": "ES2022",
        "module": "ESNext",
        "moduleResolution": "Bundler",
        "lib": ["ES2022", "DOM"],
        "skipLibCheck": True,
    },
    "files": ["client.ts"],
}

# The README's TypeScript example, type-checked: JSON by default, PNG with parseAs "blob".
TS_CLIENT = """
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Prior = components["schemas"]["Prior"];
const client = createClient<paths>({
  baseUrl: "http://localhost:8000",
  headers: { Authorization: "Bearer KEY" },
});

export async function demo(prior: Prior): Promise<number> {
  const query = { n: 4, seed: 42, prior };
  const sampled = await client.GET("/sample.json", { params: { query } });
  if (sampled.error) throw new Error(sampled.error.detail);
  const seed: number = sampled.data.seed;
  const latents: number[][] = sampled.data.latents;
  const png = await client.GET("/sample", { params: { query: { n: 16 } }, parseAs: "blob" });
  const blob: Blob | undefined = png.data;
  const decoded = await client.POST("/decode.json", { body: { latents: [latents[0]] } });
  const images: string[] = decoded.data?.images ?? [];
  const path = { name: "mnist-bernoulli" };
  const model = await client.GET("/models/{name}", { params: { path } });
  const size: number = model.data?.latent_dim ?? 0;
  return seed + images.length + size + (blob?.size ?? 0);
}
"""
