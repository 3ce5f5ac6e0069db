"""How the worker splits and pads a model call: seeded rows in multiples of VAE_CALL_ROWS, no
call over the model's most rows."""

from __future__ import annotations

import torch
from torch import Tensor

from app.model_calls import run_in_rows


class Counting:
    """A model whose decode records each call's rows and returns its inputs doubled."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def decode(self, z: Tensor) -> Tensor:
        self.calls.append(len(z))
        return z * 2


def test_seeded_rows_run_in_multiples_of_call_rows_under_the_most() -> None:
    model, z = Counting(), torch.arange(200.0)[:, None]
    out = run_in_rows(model, "decode", z, rows=16, whole=True, limits=(1, 85))
    assert model.calls == [80, 80, 48]  # 200 padded to 208; 85 rounded down to 80
    assert torch.equal(out, z * 2)


def test_other_rows_run_in_calls_of_the_most_and_the_fewest_pads() -> None:
    model, z = Counting(), torch.arange(171.0)[:, None]
    out = run_in_rows(model, "decode", z, rows=0, limits=(2, 85))
    assert model.calls == [85, 85, 2]  # the last row padded to the model's fewest
    assert torch.equal(out, z * 2)
