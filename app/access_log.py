"""The access log: one JSON line per request, formatted and written by a thread of its own.

The event loop only puts a tuple on a queue (well under a microsecond); `json.dumps`, the log
record and the write to stderr happen in the writer thread, where they cannot hold up requests.
"""

from __future__ import annotations

import json
import logging
import queue
import threading

logger = logging.getLogger("app.access")
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
        while (entry := self._entries.get()) is not None:
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
