"""Decoded frames → an animated GIF or lossless animated WebP, with the frame and pixel budget.

The frames are the images of one decoded batch, the same pixels the PNG strip of /interpolate
tiles (app.codecs.to_uint8), so a WebP frame equals its strip tile exactly. GIF has 256
colours: grey frames are exact, colour frames are quantised (a palette per frame).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

from PIL import Image
from torch import Tensor

from app.codecs import grey_or_rgb, to_uint8
from app.limits import enforce_total
from app.queries import AnimationOptions
from app.settings import Settings

AnimationFormat = Literal["gif", "webp"]
MEDIA_TYPES: dict[str, str] = {"gif": "image/gif", "webp": "image/webp"}
OCTETS = "application/octet-stream"


@dataclass(frozen=True)
class Animation:
    """How to turn decoded frames into one animation file."""

    format: AnimationFormat
    fps: int
    loop: int  # 0: forever
    bounce: bool
    scale: int
    media_type: str

    @classmethod
    def of(
        cls, format: AnimationFormat, options: AnimationOptions, media_type: str | None = None
    ) -> Animation:
        return cls(
            format,
            options.fps,
            options.loop,
            options.bounce,
            options.scale,
            media_type or MEDIA_TYPES[format],
        )

    @property
    def frame_ms(self) -> int:
        return round(1000 / self.fps)

    def frames(self, decoded: int) -> int:
        """Frames in the file: the decoded ones, and with `bounce` the way back without
        repeating either end (A…B…A loops without a stutter)."""
        return decoded + max(decoded - 2, 0) if self.bounce else decoded

    def check_budget(self, decoded: int, shape: tuple[int, int, int], settings: Settings) -> int:
        """422 before any model work when the animation is over VAE_MAX_FRAMES or
        VAE_MAX_ANIMATION_PIXELS; else its size in values (for the worker's encoder pool)."""
        channels, height, width = shape
        frames = self.frames(decoded)
        enforce_total(frames, "max_frames", settings, "this animation's frames")
        pixels = frames * height * width * self.scale**2
        enforce_total(
            pixels,
            "max_animation_pixels",
            settings,
            f"this animation's pixels ({frames} frames of {height * self.scale}×"
            f"{width * self.scale})",
        )
        return pixels * channels

    def encode(self, images: Tensor) -> bytes:
        """images [N,C,H,W] in [0, 1] → the file's bytes. Pillow merges a frame identical to
        the one before into it (their times add up), so a still stretch has fewer frames."""
        pictures = [Image.fromarray(grey_or_rgb(pixels)) for pixels in to_uint8(images)]
        if self.scale > 1:
            pictures = [
                p.resize((p.width * self.scale, p.height * self.scale), Image.Resampling.NEAREST)
                for p in pictures
            ]
        if self.bounce:
            pictures += pictures[-2:0:-1]
        out = io.BytesIO()
        options = {"lossless": True} if self.format == "webp" else {}
        pictures[0].save(
            out,
            format=self.format.upper(),
            save_all=True,
            append_images=pictures[1:],
            duration=self.frame_ms,
            loop=self.loop,
            **options,
        )
        return out.getvalue()
