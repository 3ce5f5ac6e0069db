"""The artifact contract, written once: `model/` writes artifacts with it, `app/` reads them.

    versions.py     format versions and the artifact's file names
    metadata.py     the pydantic model of metadata.json: the only validator
    priors.py       the standard prior, fitted Gaussian mixtures, and their sampling
    transforms.py   raw pixels → the representation a likelihood is defined on
    bounds.py       the ELBO terms and the importance-weighted bound
    devices.py      `auto` / `cpu` / `cuda[:N]` → a torch.device
    artifact.py     save_artifact and load_artifact, the only two places that know the format

The specification is docs/artifact.md. Nothing here imports `model/` or `app/`.
"""

from contract.artifact import Artifact, load_artifact, save_artifact
from contract.errors import ArtifactError
from contract.metadata import ArtifactMetadata
from contract.priors import GaussianMixture, Priors, StandardNormal
from contract.versions import FORMAT_VERSION, SUPPORTED_FORMAT_VERSIONS

__all__ = [
    "FORMAT_VERSION",
    "SUPPORTED_FORMAT_VERSIONS",
    "Artifact",
    "ArtifactError",
    "ArtifactMetadata",
    "GaussianMixture",
    "Priors",
    "StandardNormal",
    "load_artifact",
    "save_artifact",
]
