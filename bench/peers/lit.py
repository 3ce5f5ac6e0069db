"""LitServe over the same artifact: one worker, with or without its dynamic batching.

    VAE_BENCH_WEIGHTS=weights/mnist-bernoulli.pt VAE_BENCH_BATCH=32 python -m bench.peers.lit PORT

LitServe serves POST only: the bench sends POST /sample with a JSON body {"n": 1}.
"""

from __future__ import annotations

import io
import os
import sys

import litserve as ls
import torch
from fastapi.responses import Response
from PIL import Image


class SampleAPI(ls.LitAPI):  # type: ignore[misc]
    def setup(self, device: str) -> None:
        self.module = torch.jit.load(os.environ["VAE_BENCH_WEIGHTS"], map_location="cpu").eval()
        self.latent_dim = int(self.module.encode(torch.zeros(1, 1, 28, 28))[0].shape[1])

    # Unannotated on purpose: LitServe reads the parameter's annotation to decide where the
    # request comes from, and takes the JSON body only when there is none.
    def decode_request(self, request):  # type: ignore[no-untyped-def]
        return torch.randn(self.latent_dim)

    def batch(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(inputs)

    def predict(self, z: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.module.decode(z if z.dim() == 2 else z[None])

    def unbatch(self, output: torch.Tensor) -> list[torch.Tensor]:
        return list(output)

    def encode_response(self, image: torch.Tensor) -> Response:
        image = image if image.dim() == 3 else image[0]
        pixels = (image[0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format="PNG")
        return Response(out.getvalue(), media_type="image/png")


def main() -> None:
    port = int(sys.argv[1])
    batch = int(os.environ.get("VAE_BENCH_BATCH", "1"))
    api = SampleAPI(
        max_batch_size=batch, batch_timeout=0.001 if batch > 1 else 0.0, api_path="/sample"
    )
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1, healthcheck_path="/readyz")
    server.run(port=port, host="127.0.0.1", log_level="warning", generate_client_file=False)


if __name__ == "__main__":
    main()
