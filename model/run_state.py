"""What a training run has done so far: saved in every checkpoint, read by the rollback guard
and written into the artifact's metadata."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Rollback:
    """One return to the best epoch after the val ELBO fell (model.robustness)."""

    epoch: int
    val_neg_elbo: float
    back_to: int


@dataclass
class RunState:
    epoch: int = 0  # epochs completed
    best_val: float = math.inf  # lowest val negative ELBO (nats)
    best_epoch: int = -1
    seconds: float = 0.0  # training wall-clock, resumed runs included
    skipped_steps: int = 0  # steps with a non-finite gradient
    rollbacks: list[Rollback] = field(default_factory=list)
    finished: bool = False  # early-stopped or complete: resuming only exports
    device: str = "cpu"  # where it trained, for the artifact's metadata
    processes: int = 1  # DistributedDataParallel processes
    # Per epoch: mean training loss and KL, val negative ELBO (nats), the largest gradient norm
    # and the epoch's seconds; what a reader (or a test) checks a run's health with.
    history: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunState:
        """A checkpoint's state, including those written before this class (plain dicts)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["rollbacks"] = [Rollback(**r) for r in raw.get("rollbacks", [])]
        return cls(**values)
