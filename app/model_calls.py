"""One model call as the worker makes it: the rows padded and split as the call's promise and
the model's limits ask, in the model's precision.

Rows drawn from a seed promise their bytes (ETags, X-Seed), and a kernel's arithmetic can
change with the batch's size: they run in calls of a multiple of VAE_CALL_ROWS rows (split into
calls of exactly that many unless the model's rows are the same in any multiple, which
app.registry checks at warm-up). An exported program takes a traced range of batch sizes
(`call_rows` in its metadata): fewer rows are padded, more are split. No call is larger
than LoadedModel.call_limits allows (also at most 1 M picture values), which bounds a call's
activations.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import Tensor

from app.artifacts import LoadedModel


def _padded(rows: Tensor, at_least: int) -> Tensor:
    """`rows` with zero rows appended (rows nobody gets) up to `at_least`."""
    if len(rows) >= at_least:
        return rows
    return torch.cat([rows, rows.new_zeros((at_least - len(rows), *rows.shape[1:]))])


def run_in_rows(
    module: Any,
    method: str,
    inputs: Tensor,
    rows: int,
    whole: bool = False,
    limits: tuple[int, int | None] = (1, None),
) -> Any:
    """`module.<method>(inputs)` padded to a multiple of `rows` rows (0: as they are), in one
    call when `whole` (its rows come out the same in any multiple: checked at warm-up), else in
    calls of exactly `rows`; the outputs (a tensor or a tuple) are trimmed to len(inputs).
    `limits`: the fewest and most rows one call of the model takes (an exported program's
    traced range): fewer are padded, more are split."""
    call = getattr(module, method)
    total = len(inputs)
    fewest, most = limits
    if rows > 0:
        inputs = _padded(inputs, total + -total % rows)
    chunk = rows if rows > 0 and not whole else len(inputs)
    if most is not None:
        # Seeded rows keep calls of a multiple of `rows` (the sizes the warm-up checked) when
        # the model's most allows one.
        chunk = min(chunk, most // rows * rows if 0 < rows <= most else most)
    # Each call pads to the model's fewest rows (a last chunk of one, a lone request).
    parts = [
        call(_padded(inputs[start : start + chunk], fewest))
        for start in range(0, len(inputs), chunk)
    ]
    if isinstance(parts[0], tuple):
        return tuple(torch.cat(pieces)[:total] for pieces in zip(*parts, strict=True))
    return torch.cat(parts)[:total]


def precision(model: LoadedModel) -> contextlib.AbstractContextManager[Any]:
    """float16 autocast for a model served in half precision (VAE_HALF_PRECISION, CUDA only)."""
    if model.half:
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()
