"""LitServe over the same artifact: one worker, with or without its dynamic batching.

    VAE_BENCH_WEIGHTS=weights/mnist-bernoulli.pt VAE_BENCH_BATCH=32 python -m bench.peers.lit PORT

LitServe serves POST only: the bench sends POST /sample with a JSON body {"n": 1}.
"""

from __future__ import annotations

import os
import sys

import litserve as ls
import torch
from fastapi.responses import Response

from bench.peers.artifact import load, png


class SampleAPI(ls.LitAPI):  # type: ignore[misc]
    def setup(self, device: str) -> None:
        self.module, _, self.latent_dim = load(os.environ["VAE_BENCH_WEIGHTS"])

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
        return Response(png(image if image.dim() == 3 else image[0]), media_type="image/png")


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
