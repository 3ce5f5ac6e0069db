"""Which distribution a /sample request draws z from (a class's mixture, the fitted prior or
N(0, I), with a 422 that names the choices when the model has no such prior), and drawing a
batch of requests' latents in the inference thread."""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from app.artifacts import LoadedModel
from app.errors import InvalidInput
from app.schemas import Prior, PriorChoice
from contract.priors import Draws, LatentPrior

# Seeds for requests that give none. They need to differ, not to be secret: one generator per
# process, seeded from the OS once, instead of a system call per request (secrets.randbelow).
_SEEDS = random.Random(secrets.randbits(64))


def fresh_seed() -> int:
    """A seed in [0, 2^31) for a request that gave none (echoed in X-Seed)."""
    return _SEEDS.getrandbits(31)


def choose_prior(model: LoadedModel, request: PriorChoice) -> tuple[LatentPrior, str]:
    """The prior the request names (422 when the model has none by that name), and its name."""
    priors = model.priors
    if request.digit is not None and request.label is not None:
        raise InvalidInput("give label= or digit=, not both (digit=3 is label=3)")
    label = str(request.digit) if request.digit is not None else request.label
    if label is not None:
        asked = "digit=" if request.digit is not None else "label="
        if request.prior == Prior.standard:
            raise InvalidInput(
                f"{asked} samples from the per-class fitted mixtures; leave prior unset "
                "or use prior=fitted"
            )
        mixture = priors.classes.get(label)
        if mixture is None:
            choices = ", ".join(model.labels)
            raise InvalidInput(
                f"model {model.name!r} has no class {label!r}; "
                + (f"its labels are: {choices}" if choices else "it has no labelled classes")
            )
        return mixture, "class"
    if not model.can_sample():
        raise InvalidInput(
            f"model {model.name!r} has no fitted prior, and N(0, I) draws from its latent space "
            "are not pictures; fit one to a folder of pictures: vae-export SOURCE --output FILE "
            "--fit-prior FOLDER"
        )
    offered = model.sample_priors
    name = str(request.prior) if request.prior is not None else offered[0]
    if name not in offered:
        raise InvalidInput(
            f"model {model.name!r} has no {name!r} prior; choose one of: {', '.join(offered)}"
        )
    return priors.get(name), name


@dataclass(eq=False, kw_only=True)
class PriorRows:
    """n latents from `prior`, drawn from a CPU generator seeded with `seed`: what a /sample
    request asks the inference thread to make. `latents` holds them once made."""

    prior: LatentPrior
    n: int
    seed: int
    temperature: float
    latents: Tensor | None = field(default=None, init=False)


def make_prior_rows(requests: Sequence[PriorRows]) -> list[Tensor]:
    """z [n,D] for each request. Each draws its random numbers from its own generator; those of
    one prior are transformed in one call, row by row, so each request's z is the same bits as
    when drawn alone (and as `prior.sample` gives)."""
    draws = [r.prior.draw(r.n, torch.Generator().manual_seed(r.seed)) for r in requests]
    groups: dict[int, list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(id(request.prior), []).append(index)
    made: list[Tensor | None] = [None] * len(requests)
    for members in groups.values():
        prior = requests[members[0]].prior
        joined = Draws.joined([draws[i] for i in members])
        temperature: Tensor | float = requests[members[0]].temperature
        if len(members) > 1:
            temperature = torch.cat(
                [torch.full((requests[i].n, 1), requests[i].temperature) for i in members]
            )  # [rows,1]
        z = prior.transform(joined, temperature)  # [rows,D]
        offset = 0
        for i in members:
            made[i] = z[offset : offset + requests[i].n]
            offset += requests[i].n
    for request, latents in zip(requests, made, strict=True):
        request.latents = latents
    return [latents for latents in made if latents is not None]


def seeded_ends(prior: LatentPrior, seeds: tuple[int, int], temperature: float) -> Tensor:
    """[2,D]: the latents GET /sample?seed=a and ?seed=b draw (n=1), bit for bit."""
    rows = [PriorRows(prior=prior, n=1, seed=seed, temperature=temperature) for seed in seeds]
    return torch.cat(make_prior_rows(rows))
