"""A small category classifier, trained on a run's own labelled train split: the feature
extractor for sample quality (model.evaluation.judging says which one judges a run)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contract.transforms import to_unit
from model.data import random_shift
from model.progress import progress


def _pooling_stages(height: int, width: int) -> int:
    """2×2 max-pools that take the picture to 8 px or less a side: 28 → 7 (2), 64 → 8 (3)."""
    stages = 0
    while max(height, width) > 8 and min(height, width) >= 8:
        height, width, stages = height // 2, width // 2, stages + 1
    return max(1, stages)


class CategoryClassifier(nn.Module):
    """x [N,C,H,W] in [0, 1] → logits [N,K]; `features` is the 128-d penultimate layer.

    For MNIST's 1×28×28 and 10 digits it is the project's original digit classifier, layer for
    layer: two conv stages (28 → 14 → 7), 128 features."""

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), classes: int = 10) -> None:
        super().__init__()
        channels, height, width = image_shape
        layers: list[nn.Module] = []
        previous = channels
        stages = _pooling_stages(height, width)
        for index in range(stages):
            stage_width = min(32 * 2**index, 128)
            layers += [nn.Conv2d(previous, stage_width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            previous, height, width = stage_width, height // 2, width // 2
        self.body = nn.Sequential(
            *layers,
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(previous * height * width, 128),
            nn.ReLU(),  # [N,128]
        )
        self.head = nn.Linear(128, classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def train_classifier(
    pixels: Tensor, labels: Tensor, classes: int, seed: int = 0, epochs: int = 15
) -> CategoryClassifier:
    """Adam, shift augmentation (and flips for colour), cross-entropy on uint8 [N,C,H,W]
    pictures and their labels 0…classes−1; about a minute for MNIST on two CPU cores."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = CategoryClassifier(tuple(pixels.shape[1:]), classes)  # type: ignore[arg-type]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    colour = pixels.shape[1] == 3
    fill = pixels[:, :, 0, 0].float().median(0).values.round().to(torch.uint8)  # the corners
    for _ in progress(range(epochs), "classifier"):
        order = torch.randperm(len(pixels), generator=generator)
        for start in range(0, len(pixels), 64):
            index = order[start : start + 64]
            batch = random_shift(pixels[index], 2, generator, fill)
            if colour:
                flip = torch.rand(len(batch), generator=generator) < 0.5
                batch = torch.where(flip[:, None, None, None], batch.flip(3), batch)
            loss = nn.functional.cross_entropy(model(to_unit(batch)), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


@torch.no_grad()
def predict(model: CategoryClassifier, pixels: Tensor) -> Tensor:
    """Predicted class [N] of uint8 pictures, in chunks."""
    return torch.cat(
        [model(to_unit(pixels[i : i + 500])).argmax(1) for i in range(0, len(pixels), 500)]
    )


def accuracy(model: CategoryClassifier, pixels: Tensor, labels: Tensor) -> float:
    return float((predict(model, pixels) == labels).float().mean())
