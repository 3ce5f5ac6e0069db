"""Fixtures of the training package's tests."""

from pathlib import Path

import pytest
import torch

from model.classifier import train_classifier


@pytest.fixture(scope="session")
def classifier_path(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Path:
    """A classifier trained for one epoch (seconds): enough to run the sample metrics."""
    path = tmp_path_factory.mktemp("classifier") / "classifier.pt"
    torch.save(train_classifier(mnist_dir, epochs=1).state_dict(), path)
    return path
