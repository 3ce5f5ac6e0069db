"""The evaluation CLI's figures and the service's /score come from the same code."""

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from contract.artifact import load_artifact
from model.data import load_split
from model.evaluation.evaluate import likelihood_metrics
from tests.app.conftest import make_client, wait_ready


@pytest.mark.parametrize(
    ("name", "transform"), [("tiny", "binarize"), ("tiny-gauss", "dequantize")]
)
def test_score_route_and_evaluation_agree_for_the_same_seed_and_k(
    weights_dir: Path, mnist_dir: Path, name: str, transform: str
) -> None:
    pixels, _ = load_split(mnist_dir, "val-5k")
    pixels = pixels[:3]
    module = load_artifact(weights_dir / f"{name}.pt").module
    evaluated = likelihood_metrics(module, pixels, transform, k=50, seed=7)

    def png(index: int) -> bytes:
        out = io.BytesIO()
        Image.fromarray(pixels[index, 0].numpy()).save(out, format="PNG")
        return out.getvalue()

    with make_client(weights_dir) as client:
        wait_ready(client)
        response = client.post(
            "/score",
            params={"model": name, "k": 50, "seed": 7, "invert": "false"},
            files=[("file", (f"{i}.png", png(i), "image/png")) for i in range(3)],
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert sum(body["nll"]) / 3 == pytest.approx(evaluated["nll"], rel=1e-6)
    assert sum(body["neg_elbo"]) / 3 == pytest.approx(evaluated["neg_elbo"], rel=1e-6)
    if transform == "dequantize":
        assert sum(body["bits_per_dim"]) / 3 == pytest.approx(evaluated["bits_per_dim"], rel=1e-6)


def test_the_cli_reports_and_draws_fewer_than_32_images(
    weights_dir: Path, mnist_dir: Path, classifier_dir: Path, tmp_path: Path
) -> None:
    """--limit 20 used to crash the reconstruction grid, which assumed 32 images."""
    from model.evaluation.evaluate import main

    out = tmp_path / "eval"
    main(
        [str(weights_dir / "tiny.pt"), "--data-dir", str(mnist_dir), "--limit", "20",
         "--k", "2", "--samples", "50", "--classifier-dir", str(classifier_dir), "--out", str(out)]
    )  # fmt: skip
    with Image.open(out / "reconstructions.png") as grid:
        assert grid.size == (8 * 28 * 2, 4 * 28 * 2)
    assert (out / "samples-fitted.png").is_file()
    report = json.loads((out / "report.json").read_text())
    assert report["shifted"]["images"] == 20
    assert report["shifted"]["shift_px"] == 2
    assert report["shifted"]["gap"] == report["shifted"]["shifted"] - report["shifted"]["plain"]


def test_store_reference_adds_val_quantiles_to_an_older_artifact(
    weights_dir: Path, mnist_dir: Path, classifier_dir: Path, tmp_path: Path
) -> None:
    from model.evaluation.evaluate import main

    upgraded = tmp_path / "tiny-v3.pt"
    assert load_artifact(weights_dir / "tiny.pt").metadata.score_reference is None
    main(
        [str(weights_dir / "tiny.pt"), "--data-dir", str(mnist_dir), "--limit", "40",
         "--k", "2", "--samples", "50", "--classifier-dir", str(classifier_dir),
         "--out", str(tmp_path / "eval"), "--store-reference", str(upgraded)]
    )  # fmt: skip
    artifact = load_artifact(upgraded)
    assert artifact.metadata.format_version == 3
    reference = artifact.metadata.score_reference
    assert reference is not None
    assert (reference.k, reference.split, len(reference.quantiles)) == (2, "val-5k", 101)
    assert artifact.priors.names == load_artifact(weights_dir / "tiny.pt").priors.names
