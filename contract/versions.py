"""Artifact format versions and the names of the files inside the archive."""

from __future__ import annotations

# 1: TorchScript + metadata.json. 2: adds priors.pt, the fitted latent priors (optional).
FORMAT_VERSION = 2
SUPPORTED_FORMAT_VERSIONS = (1, 2)
METADATA_FILE = "metadata.json"
PRIORS_FILE = "priors.pt"
CONTRACT_METHODS = ("encode", "decode", "log_likelihood", "forward")
