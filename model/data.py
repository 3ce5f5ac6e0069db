"""Training data → uint8 tensors: MNIST-style IDX files or folders of images; shift augmentation.

A split is either IDX files (`{split}-images-idx3-ubyte[.gz]` and `{split}-labels-...`) or a
folder `{data_dir}/{split}/` of images (PNG, JPEG, ...), read exactly as the service reads
uploads (contract.images), optionally in class sub-folders that give the labels.

The pixel transforms (binarize, dequantize) are part of the artifact contract: contract.transforms.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from contract.images import image_to_pixels

# Labels of images that are not in a class sub-folder.
NO_LABEL = -1
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
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


def _find_idx(data_dir: Path, split: str, kind: str) -> Path | None:
    """`{split}-{kind}-idx?-ubyte[.gz]`, accepting MNIST's own names (train-images-...)."""
    for pattern in (f"{split}-{kind}-idx*-ubyte.gz", f"{split}-{kind}-idx*-ubyte"):
        hits = sorted(data_dir.glob(pattern))
        if hits:
            return hits[0]
    return None


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _class_labels(names: list[str]) -> dict[str, int]:
    """Sub-folder name → label: the number itself when every name is one (`0` … `9`, as for
    digits and /sample?digit=), else the name's place in sorted order."""
    if all(name.isdigit() for name in names):
        return {name: int(name) for name in names}
    return {name: index for index, name in enumerate(sorted(names))}


def load_image_folder(
    folder: Path, shape: tuple[int, int, int] = (1, 28, 28)
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image under `folder` as uint8 [N,C,H,W], with labels [N] from class sub-folders
    (NO_LABEL for images directly in `folder`)."""
    classes = _class_labels(sorted(p.name for p in folder.iterdir() if p.is_dir()))
    files = [(path, NO_LABEL) for path in _image_files(folder)]
    for name, label in classes.items():
        files += [(path, label) for path in _image_files(folder / name)]
    if not files:
        raise FileNotFoundError(
            f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in it or in its "
            "class sub-folders"
        )
    pictures, labels = [], []
    for path, label in tqdm(files, desc=f"reading {folder.name}", leave=False):
        try:
            with Image.open(path) as image:
                unit = image_to_pixels(image, shape)  # [C,H,W] in [0, 1]
        except (UnidentifiedImageError, OSError) as error:
            raise ValueError(f"{path}: not an image Pillow can read ({error})") from None
        pictures.append((unit * 255).round().to(torch.uint8))
        labels.append(label)
    return torch.stack(pictures), torch.tensor(labels, dtype=torch.long)


def load_split(
    data_dir: str | Path, split: str, shape: tuple[int, int, int] = (1, 28, 28)
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as uint8 [N,C,H,W] and labels as int64 [N] (NO_LABEL where there is none) for
    one split: IDX files in `data_dir`, or the image folder `data_dir/split`."""
    folder = Path(data_dir)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"data folder {folder.resolve()} does not exist; pass --data-dir DIR: a folder with "
            f"IDX files ({split}-images-idx3-ubyte...) or with one sub-folder of images per split"
        )
    images_file = _find_idx(folder, split, "images")
    if images_file is None:
        if (folder / split).is_dir():
            return load_image_folder(folder / split, shape)
        raise FileNotFoundError(
            f"{folder.resolve()}: no split {split!r}: neither IDX files {split}-images-idx3-ubyte"
            f"[.gz] nor a folder of images {split}/"
        )
    labels_file = _find_idx(folder, split, "labels")
    if labels_file is None:
        raise FileNotFoundError(f"{folder.resolve()}: {images_file.name} has no labels file")
    images = read_idx(images_file)
    labels = read_idx(labels_file).long()
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
