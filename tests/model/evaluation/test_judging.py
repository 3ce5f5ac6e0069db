"""One rule for which classifier judges a run: its own labelled train split's, cached per data."""

from pathlib import Path

import pytest
import torch

from model.data import read_labelled
from model.evaluation import judging
from model.evaluation.judging import classifier_for, pixel_features
from tests.utils.colour_images import write_colour_folder


def test_each_data_set_gets_its_own_cached_classifier(
    tmp_path: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "classifiers"
    mnist = read_labelled(mnist_dir, "train-5k")
    mnist = type(mnist)(mnist.pixels[::16], mnist.labels[::16], mnist.names)  # sorted by label
    colour_root = write_colour_folder(tmp_path / "colour", per_class=4, val_per_class=1)
    colour = read_labelled(colour_root, "train", (3, 32, 32))
    digits = classifier_for(mnist, cache, epochs=1)
    shapes = classifier_for(colour, cache, epochs=1)
    assert digits is not None
    assert shapes is not None
    assert len(list(cache.glob("classifier-*.pt"))) == 2  # neither judges the other's samples
    assert digits.head.out_features == 10
    assert shapes.head.out_features == 2

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached classifier should have been reused")

    monkeypatch.setattr(judging, "train_classifier", no_training)
    again = classifier_for(colour, cache)
    assert again is not None
    for name, value in shapes.state_dict().items():
        assert torch.equal(again.state_dict()[name], value)


def test_unlabelled_data_has_no_classifier(tmp_path: Path) -> None:
    root = write_colour_folder(tmp_path / "colour", per_class=2, val_per_class=1)
    split = read_labelled(root, "train", (3, 32, 32))
    unlabelled = type(split)(split.pixels, torch.full_like(split.labels, -1), {})
    assert classifier_for(unlabelled, tmp_path) is None


def test_pixel_features_of_large_pictures_are_pooled() -> None:
    assert pixel_features(torch.rand(5, 3, 64, 64)).shape == (5, 768)
    assert pixel_features(torch.rand(5, 1, 28, 28)).shape == (5, 784)
