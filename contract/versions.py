"""Artifact format versions and the names of the files inside the archive."""

from __future__ import annotations

# 1: TorchScript + metadata.json. 2: adds priors.pt, the fitted latent priors (optional).
# 3: colour (C = 3), named class labels, background, credits, score quantiles (metadata only;
# the archive's files are format 2's).
# 4: models trained elsewhere: the torch.export container, models without a likelihood, models
# that take any picture size, a standard prior whose draws are not pictures. An artifact that
# uses none of these is written as format 3, so earlier servers still read it.
FORMAT_VERSION = 4
SUPPORTED_FORMAT_VERSIONS = (1, 2, 3, 4)
METADATA_FILE = "metadata.json"
PRIORS_FILE = "priors.pt"
CONTRACT_METHODS = ("encode", "decode", "log_likelihood", "forward")
# A model without a likelihood (format 4, `likelihood: none`) has no log_likelihood.
NO_LIKELIHOOD = "none"
