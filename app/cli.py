"""`vae-serve`: run the service with uvicorn, configured by the VAE_ settings."""

from __future__ import annotations

import logging
import signal

import uvicorn

from app.settings import get_settings


def _exit_cleanly(_signal: int, _frame: object) -> None:
    raise SystemExit(0)


def main() -> None:
    settings = get_settings()
    # uvicorn drains in-flight requests on SIGTERM, then re-raises the signal to whatever
    # handler was there before it; making that a normal exit gives status 0, as orchestrators
    # (Docker, Kubernetes) expect from a clean stop.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        workers=settings.workers,
        timeout_graceful_shutdown=20,
        access_log=False,  # app.middleware logs one structured line per request instead
    )


if __name__ == "__main__":
    main()
