"""One latent walk of each shipped model for the docs, and the animation sizes and times the
release notes quote (run by hand, in process, on this machine's CPU).

python scripts/animations.py   # docs/walk-<model>.webp, and a table on stdout

Times are medians of 5 requests through the app (decode, encode, no HTTP), so the PNG strip of
the same 16 latents is timed beside each animation for comparison.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
WALK = "n=4&steps=8&fps=12&seed=7"  # 32 frames, a loop through /sample?n=4&seed=7
STRIP = "seed_a=1&seed_b=2&steps=16"  # the interpolation the table times


def timed(call: object, repeats: int = 5) -> tuple[float, bytes]:
    """(median ms, the answer's bytes) of `call()` returning an httpx response."""
    times, content = [], b""
    for _ in range(repeats):
        start = time.perf_counter()
        response = call()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
        content = response.content
    return statistics.median(times), content


def main() -> None:
    settings = Settings(weights=REPO / "weights", device="cpu", access_log=False)
    with TestClient(create_app(settings)) as client:
        while client.get("/readyz").status_code != 200:
            time.sleep(0.1)
        print("| model | scale | PNG strip | GIF | WebP (lossless) |")
        print("|---|---|---|---|---|")
        for model in client.get("/models").json()["models"]:
            name, scale = model["name"], 2 if model["image_shape"][0] == 3 else 4
            ends = [
                client.get(f"/sample.json?model={name}&seed={seed}").json()["latents"][0]
                for seed in (1, 2)
            ]
            body = {"latents": ends, "steps": 16}
            strip_ms, strip = timed(
                lambda name=name, scale=scale, body=body: client.post(
                    f"/interpolate?model={name}&scale={scale}", json=body
                )
            )
            cells = [f"{strip_ms:.0f} ms, {len(strip) / 1024:.0f} KiB"]
            for format in ("gif", "webp"):
                ms, data = timed(
                    lambda format=format, name=name, scale=scale: client.get(
                        f"/interpolate.{format}?model={name}&{STRIP}&scale={scale}"
                    )
                )
                cells.append(f"{ms:.0f} ms, {len(data) / 1024:.0f} KiB")
            print(f"| {name} | {scale} | " + " | ".join(cells) + " |")
            walk = client.get(f"/walk.webp?model={name}&{WALK}&scale={scale}").content
            (DOCS / f"walk-{name}.webp").write_bytes(walk)


if __name__ == "__main__":
    main()
