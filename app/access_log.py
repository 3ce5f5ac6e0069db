"""The access log: one JSON line per request, formatted and written by a thread of its own.

The event loop only puts a tuple on a queue (well under a microsecond); `json.dumps`, the log
record and the write to stderr happen in the writer thread, where they cannot hold up requests.
Lines reach the log at most WRITE_EVERY_S late.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time

logger = logging.getLogger("app.access")
WRITE_EVERY_S = 0.05
Entry = tuple[str, str, str, int, float]  # request id, method, path, status, seconds


class AccessLog:
    def __init__(self) -> None:
        self._entries: queue.SimpleQueue[Entry | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    @staticmethod
    def enabled() -> bool:
        return logger.isEnabledFor(logging.INFO)

    def record(self, entry: Entry) -> None:
        if self._writer is None:
            self._start()
        self._entries.put(entry)

    def _start(self) -> None:
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="access-log", daemon=True)
                self._writer.start()

    def _write(self) -> None:
        while True:
            # Wake at most every WRITE_EVERY_S and write all that came meanwhile: a wake-up per
            # request cost more than the line itself (thread switches fighting for the GIL).
            pending = [self._entries.get()]
            time.sleep(WRITE_EVERY_S)
            with contextlib.suppress(queue.Empty):
                while True:
                    pending.append(self._entries.get_nowait())
            for entry in pending:
                if entry is None:
                    return
                self._line(entry)

    @staticmethod
    def _line(entry: Entry) -> None:
        request_id, method, path, status, seconds = entry
        logger.info(
            json.dumps(
                {
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "status": status,
                    "seconds": round(seconds, 6),
                }
            )
        )

    def close(self, timeout_s: float = 5.0) -> None:
        """Write what is queued, then end the writer (blocks: call it off the event loop)."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._entries.put(None)
            writer.join(timeout_s)
