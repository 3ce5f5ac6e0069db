"""Artifact format versions and the names of the files inside the archive."""

from __future__ import annotations

# 1: TorchScript + metadata.json. 2: adds priors.pt, the fitted latent priors (optional).
# 3: colour (C = 3), named class labels, background, credits, score quantiles (metadata only;
# the archive's files are format 2's).
FORMAT_VERSION = 3
SUPPORTED_FORMAT_VERSIONS = (1, 2, 3)
METADATA_FILE = "metadata.json"
PRIORS_FILE = "priors.pt"
CONTRACT_METHODS = ("encode", "decode", "log_likelihood", "forward")
