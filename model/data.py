"""Training data → uint8 tensors: MNIST-style IDX files or folders of images; shift augmentation.

A split is either IDX files (`{split}-images-idx3-ubyte[.gz]` and `{split}-labels-...`) or a
folder `{data_dir}/{split}/` of images (PNG, JPEG, ...), read exactly as the service reads
uploads (contract.images), optionally in class sub-folders that give the labels.

The pixel transforms (binarize, dequantize) are part of the artifact contract: contract.transforms.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError

from contract.images import DEFAULT_BACKGROUND, has_colour, image_to_pixels
from model.progress import progress

# The size of grey pictures of many sizes when no --image-size is given: MNIST's.
GREY_DEFAULT_SIDE = 28
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


def _class_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


def _class_labels(names: list[str]) -> dict[str, int]:
    """Sub-folder name → label: the number itself when every name is one (`0` … `9`, as for
    digits and /sample?digit=), else the name's place in sorted order."""
    if all(name.isdigit() for name in names):
        return {name: int(name) for name in names}
    return {name: index for index, name in enumerate(sorted(names))}


def _folder_files(folder: Path) -> list[tuple[Path, int]]:
    """(path, label) of every image under `folder`, loose ones with NO_LABEL."""
    classes = _class_labels(_class_folders(folder))
    files = [(path, NO_LABEL) for path in _image_files(folder)]
    for name, label in classes.items():
        files += [(path, label) for path in _image_files(folder / name)]
    if not files:
        raise FileNotFoundError(
            f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in it or in its "
            "class sub-folders"
        )
    return files


def load_image_folder(
    folder: Path,
    shape: tuple[int, int, int] = (1, 28, 28),
    background: tuple[int, int, int] = DEFAULT_BACKGROUND,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image under `folder` as uint8 [N,C,H,W], with labels [N] from class sub-folders
    (NO_LABEL for images directly in `folder`)."""
    files = _folder_files(folder)
    pictures, labels = [], []
    for path, label in progress(files, f"reading {folder.name}"):
        try:
            with Image.open(path) as image:
                unit = image_to_pixels(image, shape, background=background)  # [C,H,W] in [0,1]
        except (UnidentifiedImageError, OSError) as error:
            raise ValueError(f"{path}: not an image Pillow can read ({error})") from None
        pictures.append((unit * 255).round().to(torch.uint8))
        labels.append(label)
    return torch.stack(pictures), torch.tensor(labels, dtype=torch.long)


def class_names(data_dir: str | Path, split: str) -> dict[int, str]:
    """Label → class name of a split: digits for IDX files, else the sub-folders' names."""
    folder = Path(data_dir) / split
    if not folder.is_dir():
        return {digit: str(digit) for digit in range(10)}
    return {label: name for name, label in _class_labels(_class_folders(folder)).items()}


def survey_shape(
    data_dir: str | Path, split: str, size: str = "", channels: int = 0
) -> tuple[int, int, int]:
    """The image shape a run trains on: the flags where given, else the data's own.

    IDX files give their stored size and one channel. A folder gives its pictures' common size
    and 3 channels when any picture can hold colour. When the sizes differ and no size is
    given, grey pictures are fitted into 28×28 (MNIST-style) and colour ones are an error that
    names the sizes. Read from the files' headers only: no picture is decoded.
    """
    folder = Path(data_dir) / split
    if not folder.is_dir():
        images, _ = load_split(data_dir, split)
        found: set[tuple[int, int]] = {(images.shape[2], images.shape[3])}
        colour = False
    else:
        found, colour = set(), False
        for path, _ in _folder_files(folder):
            try:
                with Image.open(path) as image:
                    found.add((image.height, image.width))
                    colour = colour or has_colour(image)
            except (UnidentifiedImageError, OSError) as error:
                raise ValueError(f"{path}: not an image Pillow can read ({error})") from None
    channels = channels or (3 if colour else 1)
    if size:
        height, width = parse_size(size)
    elif len(found) == 1:
        height, width = next(iter(found))
    elif channels == 1:
        # Grey pictures of many sizes (scans, photos of drawings) get MNIST-style
        # preprocessing, which crops the ink and fits it into MNIST's 28×28.
        height, width = GREY_DEFAULT_SIDE, GREY_DEFAULT_SIDE
    else:
        shown = ", ".join(f"{w}x{h}" for h, w in sorted(found)[:5])
        raise ValueError(
            f"{folder}: colour pictures of {len(found)} sizes ({shown}, ...); choose one with "
            "--image-size N or HxW, and each picture is fitted to it"
        )
    return channels, height, width


def parse_size(text: str) -> tuple[int, int]:
    """'64' or '48x64' (height x width) → (height, width)."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        sides = [int(part) for part in parts]
    except ValueError:
        sides = []
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) != 2 or min(sides) <= 0:
        raise ValueError(f"--image-size {text!r}: give N or HxW, such as 64 or 48x64")
    return sides[0], sides[1]


def load_split(
    data_dir: str | Path,
    split: str,
    shape: tuple[int, int, int] = (1, 28, 28),
    background: tuple[int, int, int] = DEFAULT_BACKGROUND,
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
            return load_image_folder(folder / split, shape, background)
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


@dataclass(frozen=True)
class LabelledSplit:
    """A split's pixels uint8 [N,C,H,W], labels [N] and the names of the label values."""

    pixels: torch.Tensor
    labels: torch.Tensor
    names: dict[int, str]

    @property
    def labelled(self) -> bool:
        """Every picture labelled, and at least two classes: a classifier can learn it."""
        return (
            bool(self.labels.numel())
            and int(self.labels.min()) != NO_LABEL
            and len(self.labels.unique()) >= 2
        )

    def fingerprint(self) -> str:
        """sha256 of shape, pixels and labels: the classifier cache's key for this data."""
        digest = hashlib.sha256(str(tuple(self.pixels.shape)).encode())
        digest.update(self.pixels.contiguous().numpy().tobytes())
        digest.update(self.labels.numpy().tobytes())
        return digest.hexdigest()[:16]


def read_labelled(
    data_dir: str | Path,
    split: str,
    shape: tuple[int, int, int] = (1, 28, 28),
    background: tuple[int, int, int] = DEFAULT_BACKGROUND,
) -> LabelledSplit:
    """load_split with the class names of its labels."""
    pixels, labels = load_split(data_dir, split, shape, background)
    return LabelledSplit(pixels, labels, class_names(data_dir, split))


def shift_fill(
    shape: tuple[int, int, int], background: tuple[int, int, int]
) -> torch.Tensor | None:
    """What fills the gap a shift uncovers: the background [C] for colour pictures, None
    (black, MNIST's background) for grey ones."""
    return torch.tensor(background, dtype=torch.uint8) if shape[0] == 3 else None


def pad_with(pixels: torch.Tensor, amount: int, fill: torch.Tensor | None) -> torch.Tensor:
    """Pad [N,C,H,W] by `amount` px on every side with `fill` ([C]; black when None)."""
    _, channels, height, width = pixels.shape
    padded = torch.nn.functional.pad(pixels, (amount,) * 4)  # [N,C,H+2a,W+2a]
    if fill is None or not bool(fill.any()):
        return padded
    border = torch.ones_like(padded[:1, :1], dtype=torch.bool)  # [1,1,H+2a,W+2a]
    border[..., amount : amount + height, amount : amount + width] = False
    return torch.where(border, fill.to(padded.dtype).view(1, channels, 1, 1), padded)


def random_shift(
    pixels: torch.Tensor,
    max_shift: int,
    generator: torch.Generator,
    fill: torch.Tensor | None = None,
) -> torch.Tensor:
    """Translate each image by up to ±max_shift pixels: cheap augmentation. The uncovered
    border takes `fill` ([C], the background; black when None)."""
    if max_shift <= 0:
        return pixels
    n, _, height, width = pixels.shape
    padded = pad_with(pixels, max_shift, fill)  # [N,C,H+2s,W+2s]
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    rows = offsets[:, 0, None] + torch.arange(height)  # [N,H]
    cols = offsets[:, 1, None] + torch.arange(width)  # [N,W]
    batch = torch.arange(n)[:, None, None]
    # Gather the shifted window per image: [N,H,W] per channel, channels kept.
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
