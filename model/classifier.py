"""A small MNIST classifier trained on train-5k: the feature extractor for sample quality."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm import tqdm

from contract.transforms import to_unit
from model.data import load_split, random_shift


class DigitClassifier(nn.Module):
    """x [N,1,28,28] in [0, 1] → logits [N,10]; `features` is the 128-d penultimate layer."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # [N,32,14,14]
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # [N,64,7,7]
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(64 * 49, 128),
            nn.ReLU(),  # [N,128]
        )
        self.head = nn.Linear(128, 10)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def train_classifier(
    data_dir: str | Path, split: str = "train-5k", seed: int = 0, epochs: int = 15
) -> DigitClassifier:
    """Adam, shift augmentation, cross-entropy; about a minute on two CPU cores."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    pixels, labels = load_split(data_dir, split)
    model = DigitClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in tqdm(range(epochs), desc="classifier", leave=False):
        order = torch.randperm(len(pixels), generator=generator)
        for start in range(0, len(pixels), 64):
            index = order[start : start + 64]
            x = to_unit(random_shift(pixels[index], 2, generator))
            loss = nn.functional.cross_entropy(model(x), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def load_or_train_classifier(
    cache: str | Path, data_dir: str | Path, split: str = "train-5k"
) -> DigitClassifier:
    """The cached classifier at `cache`, training it on `split` and saving it first if it is
    not there."""
    path = Path(cache)
    model = DigitClassifier()
    if path.exists():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval()
    model = train_classifier(data_dir, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return model


@torch.no_grad()
def accuracy(model: DigitClassifier, pixels: Tensor, labels: Tensor) -> float:
    predictions = torch.cat(
        [model(to_unit(pixels[i : i + 1000])).argmax(1) for i in range(0, len(pixels), 1000)]
    )
    return float((predictions == labels).float().mean())
