"""The VAE's likelihoods against torch.distributions, and the variance bounds."""

import math

import pytest
import torch
from torch import nn
from torch.distributions import Bernoulli, Independent, Normal

from model.config import ModelConfig
from model.layers import upsample_layer
from model.networks import (
    GAUSSIAN_LOGVAR_MIN,
    POSTERIOR_LOGVAR_MAX,
    VAE,
    UnsupportedShape,
    stage_plan,
)
from tests.utils.artifacts import tiny_vae


def test_bernoulli_log_likelihood_matches_torch_distributions() -> None:
    vae = tiny_vae("bernoulli")
    x = torch.bernoulli(torch.full((3, 1, 28, 28), 0.3))
    z = torch.randn(3, 4)
    logits = vae.decoder(z)
    expected = Independent(Bernoulli(logits=logits), 3).log_prob(x)
    torch.testing.assert_close(vae.log_likelihood(x, z), expected)


def test_gaussian_log_likelihood_matches_torch_distributions() -> None:
    vae = tiny_vae("gaussian")
    x = torch.rand(3, 1, 28, 28)
    z = torch.randn(3, 4)
    params = vae.decoder(z)
    mean, logvar = torch.sigmoid(params[:, :1]), vae.gaussian_logvar(params[:, 1:])
    expected = Independent(Normal(mean, torch.exp(0.5 * logvar)), 3).log_prob(x)
    torch.testing.assert_close(vae.log_likelihood(x, z), expected)


def test_gaussian_variance_stays_within_its_floor_and_ceiling() -> None:
    vae = tiny_vae("gaussian")
    extreme = torch.tensor([-1e4, 0.0, 1e4])
    logvar = vae.gaussian_logvar(extreme)
    assert logvar.min() >= math.log(1 / (12 * 256**2)) - 1e-6
    assert logvar.max() <= math.log(0.25) + 1e-6


def test_decode_is_an_image_in_unit_range() -> None:
    with torch.no_grad():
        images = tiny_vae().decode(torch.randn(3, 4) * 10)
    assert images.shape == (3, 1, 28, 28)
    assert float(images.min()) >= 0.0
    assert float(images.max()) <= 1.0


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(("side", "stages"), [(16, 2), (28, 2), (32, 3), (64, 4), (128, 5)])
def test_networks_follow_the_image_shape(side: int, stages: int, channels: int) -> None:
    shape = (channels, side, side)
    assert stage_plan(shape) == stages
    config = ModelConfig(
        likelihood="gaussian", image_shape=shape, latent_dim=4, channels=4, hidden=16,
        decoder_variance="edge-floor", res_blocks=1,
    )  # fmt: skip
    vae = VAE(config).eval()
    convs = [m for m in vae.encoder.features if isinstance(m, nn.Conv2d)]
    assert len(convs) == stages  # one stride-2 conv per stage (residual blocks are nested)
    z, x = torch.randn(2, 4), torch.rand(2, *shape)
    with torch.no_grad():
        assert vae.decode(z).shape == (2, *shape)
        assert vae.encode(x)[0].shape == (2, 4)
        scripted = torch.jit.script(vae)
        torch.testing.assert_close(scripted.log_likelihood(x, z), vae.log_likelihood(x, z))


def test_the_mnist_recipe_keeps_its_layers() -> None:
    """28×28 grey at the default widths: the two stages (32, 64) the shipped models have."""
    vae = VAE(ModelConfig())
    convs = [m for m in vae.encoder.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64]
    assert vae.decoder.grid == (64, 7, 7)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((3, 30, 30), "halves down to 15×15"),
        ((3, 300, 300), "8 to 256 px"),
        ((4, 32, 32), r"1 \(grey\) or 3 \(RGB\)"),
        ((1, 24, 100), "halves down to"),
    ],
)
def test_unsupported_shapes_fail_before_training_with_the_fix(
    shape: tuple[int, int, int], message: str
) -> None:
    with pytest.raises(UnsupportedShape, match=message):
        stage_plan(shape)


def test_bernoulli_is_for_grey_only() -> None:
    with pytest.raises(UnsupportedShape, match="--likelihood gaussian"):
        VAE(ModelConfig(likelihood="bernoulli", image_shape=(3, 32, 32)))


def test_edge_floor_lifts_the_variance_near_edges_only() -> None:
    config = ModelConfig(
        likelihood="gaussian", image_shape=(1, 16, 16), decoder_variance="edge-floor",
        edge_floor_weight=1 / 16, edge_floor_radius=2,
    )  # fmt: skip
    vae = VAE(config)
    mean = torch.zeros(1, 1, 16, 16)
    mean[..., 8:] = 1.0  # a vertical edge between columns 7 and 8
    floor = torch.full_like(mean, GAUSSIAN_LOGVAR_MIN)
    logvar = vae.with_edge_floor(floor, mean)
    near, far = logvar[0, 0, :, 6:10], logvar[0, 0, :, :5]
    assert float(near.min()) >= math.log(1 / 16) - 1e-5  # σ ≥ √w × the local range (1)
    torch.testing.assert_close(far, torch.full_like(far, GAUSSIAN_LOGVAR_MIN))


@pytest.mark.parametrize("variance", ["pixel", "image", "shared", "edge-floor"])
def test_every_decoder_variance_is_a_normalised_gaussian(variance: str) -> None:
    """log p(x|z) equals torch's Normal with the variance each model says it uses."""
    config = ModelConfig(
        likelihood="gaussian", image_shape=(3, 16, 16), latent_dim=4, channels=4, hidden=16,
        decoder_variance=variance,  # type: ignore[arg-type]
    )  # fmt: skip
    vae = VAE(config).eval()
    x, z = torch.rand(2, 3, 16, 16), torch.randn(2, 4)
    params = vae.decoder(z)
    mean = torch.sigmoid(params[:, :3])
    logvar = vae.gaussian_logvar(params[:, 3:])
    if variance == "edge-floor":
        logvar = vae.with_edge_floor(logvar, mean)
    if variance in ("image", "shared"):
        assert torch.all(logvar == logvar[:, :1, :1, :1])  # one σ per image (or for all)
    expected = Independent(Normal(mean, torch.exp(0.5 * logvar)), 3).log_prob(x)
    torch.testing.assert_close(vae.log_likelihood(x, z), expected)


def test_a_collapsed_variance_makes_a_2px_shift_absurd_and_the_edge_floor_bounds_it() -> None:
    """Force every learned σ² to the floor (what happens to pixels blank in every training
    picture), then score the decoded mean moved by 2 px. Per pixel the shift costs (Δ/σ_min)²/2,
    thousands of nats; with the edge floor each pixel's Δ is within the local range, so it
    costs at most 1/(2w) nats more than the unshifted mean."""
    costs = {}
    for variance in ("pixel", "edge-floor"):
        torch.manual_seed(3)
        config = ModelConfig(
            likelihood="gaussian", image_shape=(1, 16, 16), latent_dim=4, channels=4,
            hidden=16, decoder_variance=variance, edge_floor_weight=1 / 16,  # type: ignore[arg-type]
        )  # fmt: skip
        vae = VAE(config).eval()
        convs = (nn.Conv2d, nn.ConvTranspose2d)
        last = [m for m in vae.decoder.upsample.modules() if isinstance(m, convs)][-1]
        with torch.no_grad():
            last.bias[1:] = -50.0  # the log-variance channel: sigmoid → 0 → the floor
            last.weight[:, :1] *= 40  # a high-contrast mean: edges, like a real picture
            z = torch.randn(8, 4)
            mean = vae.decode(z)
            moved = torch.roll(mean, shifts=2, dims=3)
            moved[..., :2] = mean[..., :2]  # an edge-replicated shift: no wrap-around
            costs[variance] = (vae.log_likelihood(mean, z) - vae.log_likelihood(moved, z)).max()
    pixels = 16 * 16
    assert float(costs["pixel"]) > 100_000.0  # measured: 0.5 to 1.3 million nats
    assert float(costs["edge-floor"]) <= pixels * 0.5 * 16  # 1/(2w) nats per pixel at most


def grid_config(**changes: object) -> ModelConfig:
    options: dict[str, object] = {
        "likelihood": "gaussian",
        "image_shape": (3, 32, 32),
        "latent_shape": "4x8x8",
        "channels": 4,
        "res_blocks": 1,
    }
    return ModelConfig(**{**options, **changes})  # type: ignore[arg-type]


def test_a_grid_latent_is_one_flat_gaussian_vector_read_as_c_h_w() -> None:
    config = grid_config()
    assert config.latent_dim == 4 * 8 * 8
    vae = VAE(config).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        mean, logvar = vae.encode(x)
        assert mean.shape == logvar.shape == (2, 256)
        assert vae.decode(mean).shape == (2, 3, 32, 32)
        # A change to one grid cell changes the picture near that cell only: the latent is
        # read as a grid, not through a fully connected layer. (Without GroupNorm, whose
        # statistics over the whole picture would carry the change everywhere.)
        local = VAE(grid_config(norm="none")).eval()
        z = torch.zeros(1, 256)
        moved = z.clone()
        moved[0, 0 * 64 + 0 * 8 + 0] = 5.0  # channel 0, top-left cell
        change = (local.decode(moved) - local.decode(z)).abs().sum(1)[0]  # [32,32]
    assert float(change[:8, :8].sum()) > 0
    assert float(change[24:, 24:].sum()) == 0.0  # beyond the receptive field
    scripted = torch.jit.script(vae)
    torch.testing.assert_close(scripted.log_likelihood(x, mean), vae.log_likelihood(x, mean))


def test_a_grid_that_does_not_halve_up_to_the_picture_is_refused() -> None:
    with pytest.raises(UnsupportedShape, match="grids such as 8×8 or 4×4"):
        VAE(grid_config(latent_shape="4x5x5"))
    with pytest.raises(ValueError, match="CxHxW"):
        ModelConfig(latent_shape="4x8")


def test_nearest_upsampling_has_no_checkerboard_and_a_transposed_conv_has_one() -> None:
    """A flat input stays flat through repeat-then-3×3 (away from the border); a stride-2 4×4
    transposed convolution gives alternate pixels different sums of its taps (Odena et al.)."""
    torch.manual_seed(0)
    flat = torch.ones(1, 8, 8, 8)
    with torch.no_grad():
        nearest = upsample_layer(8, 3, "nearest")(flat)[..., 2:-2, 2:-2]
        transpose = upsample_layer(8, 3, "transpose")(flat)[..., 2:-2, 2:-2]
    assert float(nearest.std(dim=(2, 3)).max()) < 1e-5
    assert float(transpose.std(dim=(2, 3)).min()) > 1e-3


def test_a_picture_s_codes_do_not_depend_on_its_batch() -> None:
    """GroupNorm normalises each picture alone: the service batches strangers together."""
    vae = VAE(grid_config()).eval()
    x = torch.rand(5, 3, 32, 32)
    with torch.no_grad():
        alone = vae.encode(x[2:3])[0]
        together = vae.encode(x)[0][2:3]
        torch.testing.assert_close(alone, together, rtol=1e-5, atol=1e-5)


def test_the_posterior_log_variance_is_bounded_above_so_exp_never_overflows() -> None:
    vae = VAE(grid_config()).eval()
    with torch.no_grad():
        vae.encoder.head.bias.fill_(1e4)  # a step that sent every output far up
        _, logvar = vae.encode(torch.rand(2, 3, 32, 32))
    assert float(logvar.max()) <= POSTERIOR_LOGVAR_MAX
    assert bool(torch.isfinite(logvar.exp()).all())


def test_the_sigma_floor_sets_the_smallest_decoder_variance() -> None:
    vae = VAE(grid_config(sigma_floor=1 / 64))
    logvar = vae.gaussian_logvar(torch.tensor([-1e4]))
    assert float(logvar) == pytest.approx(2 * math.log(1 / 64))
    assert ModelConfig().logvar_min == GAUSSIAN_LOGVAR_MIN


def test_a_checkpoint_from_before_these_options_rebuilds_its_own_network() -> None:
    """Configs saved before upsample, norm and the bound existed mean the original network."""
    from model.config import TrainConfig

    saved = TrainConfig().to_dict()
    for key in ("upsample", "norm", "latent_shape", "bounded_posterior"):
        del saved["model"][key]
    config = TrainConfig.from_dict(saved).model
    assert (config.upsample, config.norm, config.bounded_posterior) == ("transpose", "none", False)
    VAE(config).load_state_dict(VAE(config).state_dict())
