"""The one error of the contract."""

from __future__ import annotations


class ArtifactError(ValueError):
    """An artifact (or metadata, or prior) breaks the contract; the message names the problem.

    Messages about a file start with its path, so a service can print them as one line.
    """
