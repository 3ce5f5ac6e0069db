"""MNIST-style IDX files → uint8 tensors, and shift augmentation.

The pixel transforms (binarize, dequantize) are part of the artifact contract: contract.transforms.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import torch

# IDX type codes (http://yann.lecun.com/exdb/mnist/); MNIST only uses unsigned bytes.
_IDX_UINT8 = 0x08


def read_idx(path: Path) -> torch.Tensor:
    """Read one IDX file (optionally gzipped) into a uint8 tensor of its stored shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4:
        raise ValueError(f"{path}: too short to be an IDX file")
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != _IDX_UINT8:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    body = raw[4 + 4 * ndim :]
    expected = 1
    for size in dims:
        expected *= size
    if len(body) != expected:
        raise ValueError(f"{path}: header promises {expected} bytes, file has {len(body)}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(dims)


def _find(data_dir: Path, split: str, kind: str) -> Path:
    """Find `{split}-{kind}-idx?-ubyte[.gz]`, accepting MNIST's own names (train-images-...)."""
    for pattern in (f"{split}-{kind}-idx*-ubyte.gz", f"{split}-{kind}-idx*-ubyte"):
        hits = sorted(data_dir.glob(pattern))
        if hits:
            return hits[0]
    raise FileNotFoundError(f"no IDX file for split {split!r} ({kind}) in {data_dir}")


def load_split(data_dir: str | Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as uint8 [N,1,H,W] and labels as int64 [N] for one split of an IDX folder."""
    folder = Path(data_dir)
    images = read_idx(_find(folder, split, "images"))
    labels = read_idx(_find(folder, split, "labels")).long()
    if images.ndim != 3 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{folder}/{split}: images {tuple(images.shape)} vs labels {len(labels)}")
    return images.unsqueeze(1), labels  # [N,1,H,W], [N]


def random_shift(pixels: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ±max_shift pixels (zero fill): cheap augmentation."""
    if max_shift <= 0:
        return pixels
    n, _, height, width = pixels.shape
    padded = torch.nn.functional.pad(pixels, (max_shift,) * 4)  # [N,C,H+2s,W+2s]
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    rows = offsets[:, 0, None] + torch.arange(height)  # [N,H]
    cols = offsets[:, 1, None] + torch.arange(width)  # [N,W]
    batch = torch.arange(n)[:, None, None]
    # Gather the shifted window per image: [N,H,W] per channel, channels kept.
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
