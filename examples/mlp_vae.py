"""A plain MLP VAE in the style of pytorch/examples' vae, and the factory vae-export reads.

    python examples/mlp_vae.py --data-dir data/shapes/train --epochs 10 --out mlp-vae.pt
    MLP_VAE_WEIGHTS=mlp-vae.pt vae-export examples.mlp_vae:factory --output my-weights/mlp.pt

The network is pytorch/examples' (784 → 400 → 20 → 400 → 784, a Bernoulli decoder); the
`Adapter` tells vae-export what it takes and what its decoder gives. Train it on any folder of
pictures (they are read as 28×28 grey, light ink on dark like MNIST).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn
from torch.nn import functional


class VAE(nn.Module):
    """pytorch/examples' VAE: encode(x [N, 784]) → (mu, logvar); decode(z) → probabilities."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h1 = functional.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def decode(self, z: Tensor) -> Tensor:
        return torch.sigmoid(self.fc4(functional.relu(self.fc3(z))))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encode(x.view(-1, 784))
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar


class Adapter:
    """What vae-export needs to know: pictures are 1×28×28 in [0, 1], and decode gives the
    Bernoulli probabilities of each pixel (so /score can compute log p(x|z))."""

    image_shape = (1, 28, 28)
    likelihood = "bernoulli"

    def __init__(self, vae: VAE) -> None:
        self.vae = vae.eval()

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.vae.encode(x.reshape(-1, 784))  # -1: any batch, as torch.export needs

    def decode(self, z: Tensor) -> Tensor:
        return self.vae.decode(z)  # [N, 784]: vae-export reshapes it to the picture


def factory() -> Adapter:
    """The trained network from MLP_VAE_WEIGHTS (default: mlp-vae.pt)."""
    weights = Path(os.environ.get("MLP_VAE_WEIGHTS", "mlp-vae.pt"))
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: train it first (python examples/mlp_vae.py --help)")
    vae = VAE()
    vae.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return Adapter(vae)


def read_pictures(folder: Path) -> Tensor:
    """Every picture under `folder` as 28×28 grey in [0, 1], [N, 784]."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    if not files:
        raise FileNotFoundError(f"{folder}: no PNG or JPEG pictures")
    pictures = [
        np.asarray(Image.open(path).convert("L").resize((28, 28)), dtype=np.float32) / 255
        for path in files
    ]
    return torch.from_numpy(np.stack(pictures)).reshape(len(pictures), 784)


def train(data: Tensor, epochs: int, seed: int = 1) -> VAE:
    """pytorch/examples' loop: Adam at 1e-3, binary cross-entropy plus the KL, batches of 128."""
    torch.manual_seed(seed)
    vae = VAE()
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-3)
    for epoch in range(epochs):
        total = 0.0
        for batch in data[torch.randperm(len(data))].split(128):
            recon, mu, logvar = vae(batch)
            bce = functional.binary_cross_entropy(recon, batch, reduction="sum")
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = bce + kld
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        print(f"epoch {epoch + 1}: {total / len(data):.1f} nats per picture")  # noqa: T201
    return vae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a folder of pictures")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("mlp-vae.pt"))
    args = parser.parse_args()
    vae = train(read_pictures(args.data_dir), args.epochs)
    torch.save(vae.state_dict(), args.out)
    print(f"wrote {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()
