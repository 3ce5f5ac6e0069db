"""MNIST-style preprocessing: the geometry MNIST promises, and photos the shipped model can read."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from contract.artifact import load_artifact
from contract.bounds import score_images
from contract.images import Invert, Preprocess, image_to_pixels, mnist_style
from model.data import load_split
from model.evaluation.photos import photo_of

SHIPPED = Path(__file__).resolve().parents[2] / "weights" / "mnist-bernoulli.pt"


def ink_on_paper(size: tuple[int, int] = (300, 200)) -> np.ndarray:
    """A dark 'L' (two bars) off-centre on shaded off-white paper, uint8 [h,w]."""
    width, height = size
    paper = np.linspace(190, 245, width, dtype=np.float32)[None, :].repeat(height, 0)
    paper[40:160, 30:45] = 40  # the upright, 120 px tall
    paper[145:160, 30:90] = 40  # the foot, 60 px wide
    return paper.astype(np.uint8)


def test_preprocessing_fits_the_ink_into_20_pixels_centred_by_mass() -> None:
    x = image_to_pixels(Image.fromarray(ink_on_paper()), (1, 28, 28))[0].numpy()  # [28,28]
    rows = np.flatnonzero(x.max(axis=1) > 0)
    cols = np.flatnonzero(x.max(axis=0) > 0)
    assert rows[-1] - rows[0] + 1 in (20, 21)  # the taller side fills the 20 px box
    assert cols[-1] - cols[0] + 1 <= 12  # aspect kept: 60:120 → about 10 px
    grid_rows, grid_cols = np.indices(x.shape)
    assert abs(float((grid_rows * x).sum() / x.sum()) - 13.5) <= 0.5
    assert abs(float((grid_cols * x).sum() / x.sum()) - 13.5) <= 0.5
    assert float(x[0].max()) == 0.0  # the background is black
    assert float(x[:, 0].max()) == 0.0
    assert float(x.max()) == 1.0  # the ink is stretched to full white


def test_shading_alone_is_not_ink() -> None:
    paper = ink_on_paper()
    paper[:] = np.linspace(170, 250, paper.shape[1], dtype=np.uint8)[None, :]
    assert float(mnist_style(255 - paper).max()) == 0.0


def test_default_preprocesses_only_pictures_of_another_size() -> None:
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[2:6, 2:6] = 255  # a corner blob: MNIST-style would move it to the centre
    as_is = image_to_pixels(Image.fromarray(digit), (1, 28, 28))
    assert float(as_is[0, 3, 3]) == 1.0
    moved = image_to_pixels(Image.fromarray(digit), (1, 28, 28), preprocess=Preprocess.mnist)
    assert float(moved[0, 3, 3]) == 0.0
    assert float(moved[0, 13:15, 13:15].min()) > 0.5


def test_inversion_is_still_the_callers_choice() -> None:
    kept = image_to_pixels(
        Image.fromarray(ink_on_paper()), (1, 28, 28), Invert.false, Preprocess.none
    )
    assert float(kept.mean()) > 0.5  # paper stays light when told not to invert


def test_photos_of_val_digits_score_like_the_digits_after_preprocessing(mnist_dir: Path) -> None:
    """The issue's case: a dark digit photographed on off-white paper, as a 1000×800 JPEG."""
    artifact = load_artifact(SHIPPED)
    pixels, _ = load_split(mnist_dir, "val-5k")
    chosen = pixels[torch.randperm(len(pixels), generator=torch.Generator().manual_seed(1))[:24]]
    photos = [Image.open(io.BytesIO(photo_of(d[0].numpy(), seed=i))) for i, d in enumerate(chosen)]

    def median_nll(x: torch.Tensor) -> float:
        generator = torch.Generator().manual_seed(0)
        nll, _ = score_images(artifact.module, x, artifact.metadata.input_transform, 20, generator)
        return float(nll.median())

    def read(preprocess: Preprocess) -> torch.Tensor:
        return torch.stack([image_to_pixels(p, (1, 28, 28), preprocess=preprocess) for p in photos])

    clean = median_nll(chosen.float() / 255)
    before = median_nll(read(Preprocess.none))
    after = median_nll(read(Preprocess.mnist))
    print(f"median NLL: clean {clean:.1f}, photo none {before:.1f}, photo mnist {after:.1f}")  # noqa: T201
    assert before > 3 * clean  # without preprocessing a photo is far from anything MNIST
    assert after < 1.25 * clean
