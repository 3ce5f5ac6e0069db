"""`vae-serve`: run the service with uvicorn, configured by flags and the VAE_ settings.

A flag overrides the environment variable of the same name: the flags are written into the
environment before anything reads the settings, so uvicorn's worker processes see them too.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
from importlib.metadata import PackageNotFoundError, version

import uvicorn
from pydantic import ValidationError

from app.settings import Settings, get_settings

# flag → (setting, metavar, help); defaults and environment names come from Settings itself.
FLAGS: dict[str, tuple[str, str, str]] = {
    "--host": ("host", "ADDRESS", "address to bind (0.0.0.0 in containers)"),
    "--port": ("port", "PORT", "port to bind"),
    "--weights": ("weights", "PATH", "an artifact, or a folder of *.pt artifacts"),
    "--device": ("device", "DEVICE", "auto, cpu, cuda or cuda:N"),
    "--workers": ("workers", "N", "server processes, each with its own copy of the models"),
    "--log-level": ("log_level", "LEVEL", "debug, info, warning or error"),
}


def _package_version() -> str:
    try:
        return version("vae-serve")
    except PackageNotFoundError:
        return "unknown"


def parse_flags(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vae-serve",
        description="Serve the VAE artifacts over HTTP. Every flag overrides the environment "
        "variable named in its help; settings without a flag are environment-only (README).",
    )
    for flag, (name, metavar, text) in FLAGS.items():
        default = Settings.model_fields[name].get_default()
        parser.add_argument(
            flag,
            metavar=metavar,
            help=f"{text} (env VAE_{name.upper()}; default: {default})",
        )
    parser.add_argument("--version", action="version", version=f"vae-serve {_package_version()}")
    return parser.parse_args(argv)


def _exit_cleanly(_signal: int, _frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    flags = parse_flags(argv)
    for flag, (name, _, _) in FLAGS.items():
        value = getattr(flags, flag.removeprefix("--").replace("-", "_"))
        if value is not None:
            os.environ[f"VAE_{name.upper()}"] = value
    get_settings.cache_clear()
    try:
        settings = get_settings()
    except ValidationError as error:
        problems = "; ".join(
            f"VAE_{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
        )
        raise SystemExit(f"vae-serve: {problems}") from None
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
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
        access_log=False,  # app.middleware logs one structured line per request instead
    )


if __name__ == "__main__":
    main()
