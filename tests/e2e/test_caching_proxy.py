"""Debian's nginx with proxy_cache in front of a real vae-serve (deploy/nginx, the file the
docs show): a seeded URL is a MISS and then a HIT that never reaches the service; another seed
is a MISS; unseeded answers and, with an API key, every answer pass through."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import REPO, Server, free_port, running

NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None
)
SITE = REPO / "deploy" / "nginx" / "vae-serve-cache.conf"
KEY = "cache-test-key"

# In CI a missing nginx is a failure (.ci/run installs it); elsewhere, a skip.
pytestmark = pytest.mark.skipif(
    NGINX is None and not os.environ.get("CI"), reason="needs Debian's nginx"
)


@contextmanager
def nginx_in_front(upstream: Server, folder: Path) -> Iterator[str]:
    """nginx on a free port with the documented site file, pointed at `upstream`."""
    port = free_port()
    site = SITE.read_text()
    site = site.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    site = site.replace("http://127.0.0.1:8000", upstream.url)
    site = site.replace("/var/cache/nginx/vae-serve", str(folder / "cache"))
    (folder / "site.conf").write_text(site)
    temp = "\n".join(
        f"  {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    (folder / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # workers must write the cache folder
        + f"daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n  access_log off;\n{temp}\n"
        f"  uwsgi_temp_path {folder / 'uwsgi'};\n  scgi_temp_path {folder / 'scgi'};\n"
        f"  include {folder / 'site.conf'};\n}}\n"
    )
    assert NGINX is not None
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, (folder / "error.log").read_text()
            try:
                httpx.get(f"{url}/livez", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def served_samples(server: Server) -> float:
    """vae_requests_total for GET /sample answered 200, read from the service itself."""
    text = httpx.get(f"{server.url}/metrics").text
    found = re.search(
        r'^vae_requests_total\{method="GET",route="/sample",status="200"\} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else 0.0


def through(url: str, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{url}{path}", headers=headers, timeout=30)


def test_a_seeded_answer_is_computed_once(weights_dir: Path, tmp_path: Path) -> None:
    with running(weights_dir) as server, nginx_in_front(server, tmp_path) as proxy:
        first = through(proxy, "/sample?seed=7&n=4")
        assert first.status_code == 200
        assert first.headers["x-cache-status"] == "MISS"
        served = served_samples(server)
        second = through(proxy, "/sample?seed=7&n=4")
        assert second.headers["x-cache-status"] == "HIT"
        assert second.content == first.content
        assert second.headers["etag"] == first.headers["etag"]
        assert served_samples(server) == served  # the HIT never reached vae-serve
        other = through(proxy, "/sample?seed=8&n=4")
        assert other.headers["x-cache-status"] == "MISS"
        assert other.content != first.content
        for _ in range(2):  # unseeded: no-store, so never kept
            assert through(proxy, "/sample?n=4").headers["x-cache-status"] == "MISS"
        assert served_samples(server) == served + 3


def test_with_an_api_key_nothing_is_shared(weights_dir: Path, tmp_path: Path) -> None:
    with running(weights_dir, VAE_API_KEY=KEY) as server, nginx_in_front(server, tmp_path) as proxy:
        for _ in range(2):
            answer = through(proxy, "/sample?seed=7&n=4", **{"X-API-Key": KEY})
            assert answer.status_code == 200
            assert answer.headers["cache-control"].startswith("private")
            assert answer.headers["x-cache-status"] == "MISS"
        assert through(proxy, "/sample?seed=7&n=4").status_code == 401
        assert served_samples(server) == 2  # both keyed requests reached vae-serve
