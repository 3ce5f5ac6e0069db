"""Progress bars on a terminal; a line per stage in a log that is not one (CI, `docker logs`).

tqdm redraws its bar with carriage returns, which a file or a pipe keeps as hundreds of
updates. Off a terminal, `progress` prints when a stage starts and ends, and, for the loops
marked `each_step` (training epochs), one line per step with the figures set on it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from tqdm import tqdm

Item = TypeVar("Item")


def _on_terminal() -> bool:
    return sys.stderr.isatty()


class Progress(Generic[Item]):
    """Iterate `items`; `set_postfix` and `write` work with or without a terminal."""

    def __init__(
        self,
        items: Iterable[Item],
        desc: str,
        total: int | None = None,
        initial: int = 0,
        each_step: bool = False,
        disable: bool = False,
    ) -> None:
        self.items, self.desc, self.each_step, self.disable = items, desc, each_step, disable
        self.total = total if total is not None else _length(items)
        self.terminal = _on_terminal() and not disable
        self.bar: tqdm[Item] | None = None
        if self.terminal:
            self.bar = tqdm(
                items, desc=desc, total=total, initial=initial, leave=each_step, dynamic_ncols=True
            )
        self.postfix: dict[str, Any] = {}
        self.step = initial

    def __iter__(self) -> Iterator[Item]:
        if self.bar is not None:
            yield from self.bar
            return
        started = time.monotonic()
        self._line(f"{self.desc}: started" + (f" ({self.total})" if self.total else ""))
        for item in self.items:
            yield item
            self.step += 1
            if self.each_step:
                figures = " ".join(f"{k}={v}" for k, v in self.postfix.items())
                self._line(f"{self.desc}: {self.step}/{self.total or '?'} {figures}".rstrip())
        self._line(f"{self.desc}: done in {time.monotonic() - started:.1f} s")

    def set_postfix(self, **figures: Any) -> None:
        self.postfix = figures
        if self.bar is not None:
            self.bar.set_postfix(**figures)

    def write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text)
        else:
            self._line(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def _line(self, text: str) -> None:
        if not self.disable:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()


def _length(items: Iterable[Any]) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None


def progress(items: Iterable[Item], desc: str, **options: Any) -> Progress[Item]:
    """`Progress(items, desc, ...)`: a bar on a terminal, a line per stage elsewhere."""
    return Progress(items, desc, **options)
