"""Fixtures of the training package's tests."""

from pathlib import Path

import pytest

from model.data import read_labelled
from model.judging import classifier_for


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Path:
    """A classifier cache holding MNIST train-5k's classifier, trained for one epoch (seconds):
    enough to run the sample metrics."""
    folder = tmp_path_factory.mktemp("classifiers")
    classifier_for(read_labelled(mnist_dir, "train-5k"), folder, epochs=1)
    return folder
