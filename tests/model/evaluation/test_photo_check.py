"""vae-photo-check: the classifier reads preprocessed photos, and not raw ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.evaluation.photo_check import check, main

SHIPPED = Path(__file__).resolve().parents[3] / "weights" / "mnist-bernoulli.pt"


def test_preprocessed_photos_are_read_as_their_digit(
    mnist_dir: Path, classifier_dir: Path
) -> None:
    clean, raw, preprocessed = check(
        str(SHIPPED), str(mnist_dir), classifier_dir, count=40, k=5, split="val-5k"
    )
    assert preprocessed.input_accuracy >= clean.input_accuracy - 0.15
    assert preprocessed.input_accuracy >= raw.input_accuracy + 0.4
    assert preprocessed.median_nll < raw.median_nll / 2


def test_cli_prints_one_row_per_reading(
    mnist_dir: Path, classifier_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--weights", str(SHIPPED), "--data-dir", str(mnist_dir),
          "--classifier-dir", str(classifier_dir), "--count", "8", "--k", "2"])  # fmt: skip
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[0] == "input"
    assert [line[:26].strip() for line in lines[1:]] == [
        "clean 28x28 digit", "photo, preprocess=none", "photo, preprocess=mnist"
    ]  # fmt: skip
