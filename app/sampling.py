"""Which distribution a /sample request draws z from: a class's mixture, the fitted prior or
N(0, I), with a 422 that names the choices when the model has no such prior."""

from __future__ import annotations

from app.artifacts import LoadedModel
from app.errors import InvalidInput
from app.schemas import Prior, SampleRequest
from contract.priors import Prior as PriorDistribution


def choose_prior(model: LoadedModel, request: SampleRequest) -> tuple[PriorDistribution, str]:
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
    name = str(request.prior) if request.prior is not None else priors.names[0]
    try:
        return priors.get(name), name
    except KeyError:
        raise InvalidInput(
            f"model {model.name!r} has no {name!r} prior; choose one of: {', '.join(priors.names)}"
        ) from None
