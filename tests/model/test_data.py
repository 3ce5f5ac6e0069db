import gzip
import struct
from pathlib import Path

import pytest
import torch
from PIL import Image

from contract.transforms import apply_transform
from model.data import NO_LABEL, load_split, random_shift, read_idx, read_labelled, survey_shape
from tests.utils.colour_images import write_colour_folder


def write_idx(path: Path, array: torch.Tensor) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.to(torch.uint8).numpy().tobytes()
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)


def test_read_idx_round_trip(tmp_path: Path) -> None:
    images = torch.randint(0, 256, (3, 28, 28), dtype=torch.uint8)
    write_idx(tmp_path / "x-images-idx3-ubyte.gz", images)
    assert torch.equal(read_idx(tmp_path / "x-images-idx3-ubyte.gz"), images)


def test_read_idx_rejects_a_short_body(tmp_path: Path) -> None:
    path = tmp_path / "bad-images-idx3-ubyte"
    path.write_bytes(struct.pack(">HBB", 0, 8, 1) + struct.pack(">I", 10) + b"abc")
    with pytest.raises(ValueError, match="header promises 10 bytes"):
        read_idx(path)


def test_any_folder_of_idx_files_works(tmp_path: Path) -> None:
    write_idx(tmp_path / "train-images-idx3-ubyte", torch.zeros(2, 28, 28))
    write_idx(tmp_path / "train-labels-idx1-ubyte", torch.tensor([3, 4]))
    images, labels = load_split(tmp_path, "train")
    assert images.shape == (2, 1, 28, 28)
    assert labels.tolist() == [3, 4]


def test_shared_mnist_splits(mnist_dir: Path) -> None:
    images, labels = load_split(mnist_dir, "train-5k")
    assert images.shape == (5000, 1, 28, 28)
    assert torch.bincount(labels).tolist() == [500] * 10
    val_images, _ = load_split(mnist_dir, "val-5k")
    assert val_images.shape == (5000, 1, 28, 28)


def test_transforms_draw_fresh_values_in_range() -> None:
    pixels = torch.full((2, 1, 28, 28), 128, dtype=torch.uint8)
    generator = torch.Generator().manual_seed(0)
    first = apply_transform(pixels, "binarize", generator)
    assert set(first.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(first, apply_transform(pixels, "binarize", generator))
    dequantized = apply_transform(pixels, "dequantize", generator)
    assert torch.all((dequantized >= 128 / 256) & (dequantized < 129 / 256))
    with pytest.raises(ValueError, match="unknown input transform"):
        apply_transform(pixels, "bogus", generator)


def test_random_shift_moves_content_without_losing_it() -> None:
    pixels = torch.zeros(16, 1, 28, 28, dtype=torch.uint8)
    pixels[:, :, 10:18, 10:18] = 200
    shifted = random_shift(pixels, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == pixels.shape
    assert torch.equal(shifted.float().sum((1, 2, 3)), pixels.float().sum((1, 2, 3)))
    assert not torch.equal(shifted, pixels)


def write_png(path: Path, size: tuple[int, int] = (40, 30), value: int = 30) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.new("L", size, 230)
    picture.paste(value, (10, 5, 20, 25))  # a dark block on light paper
    picture.save(path)


def test_an_image_folder_with_class_sub_folders_gives_labels(tmp_path: Path) -> None:
    for label in ("0", "1", "7"):
        write_png(tmp_path / "train" / label / "a.png")
    write_png(tmp_path / "train" / "loose.png")
    pixels, labels = load_split(tmp_path, "train")
    assert pixels.shape == (4, 1, 28, 28)
    assert pixels.dtype == torch.uint8
    assert sorted(labels.tolist()) == [NO_LABEL, 0, 1, 7]
    assert int(pixels.max()) == 255  # read as the service reads uploads: inverted, stretched


def test_named_class_folders_are_numbered_in_sorted_order(tmp_path: Path) -> None:
    for name in ("ring", "bar", "cross"):
        write_png(tmp_path / "val" / name / "a.png")
    _, labels = load_split(tmp_path, "val")
    assert labels.tolist() == [0, 1, 2]  # bar, cross, ring


def test_missing_data_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist; pass --data-dir"):
        load_split(tmp_path / "nowhere", "train")
    with pytest.raises(FileNotFoundError, match="no split 'train'"):
        load_split(tmp_path, "train")
    (tmp_path / "train").mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        load_split(tmp_path, "train")


def test_a_file_that_is_not_an_image_is_named(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"broken\.png: not an image"):
        load_split(tmp_path, "train")


def test_a_colour_folder_is_read_in_colour_at_its_own_size(tmp_path: Path) -> None:
    data = write_colour_folder(tmp_path / "colour", per_class=3, val_per_class=1)
    assert survey_shape(data, "train") == (3, 32, 32)
    assert survey_shape(data, "train", size="16", channels=1) == (1, 16, 16)
    split = read_labelled(data, "train", (3, 32, 32), background=(10, 20, 30))
    assert split.pixels.shape == (6, 3, 32, 32)
    assert split.names == {0: "leaves", 1: "suns"}
    # The corners are transparent in every picture: they take the background colour.
    assert split.pixels[:, :, 0, 0].tolist() == [[10, 20, 30]] * 6


def test_pictures_of_several_sizes_need_a_size(tmp_path: Path) -> None:
    folder = tmp_path / "mixed" / "train"
    folder.mkdir(parents=True)
    Image.new("RGB", (32, 32), "red").save(folder / "a.png")
    Image.new("RGB", (48, 40), "blue").save(folder / "b.png")
    with pytest.raises(ValueError, match="--image-size"):
        survey_shape(tmp_path / "mixed", "train")
    assert survey_shape(tmp_path / "mixed", "train", size="48x40") == (3, 48, 40)
    # Grey pictures of many sizes are fitted into MNIST's 28×28, as before.
    assert survey_shape(tmp_path / "mixed", "train", channels=1) == (1, 28, 28)


def test_a_grey_palette_is_not_colour(tmp_path: Path) -> None:
    folder = tmp_path / "grey" / "train"
    folder.mkdir(parents=True)
    Image.new("L", (16, 16), 128).convert("P").save(folder / "a.png")
    assert survey_shape(tmp_path / "grey", "train") == (1, 16, 16)


def test_random_shift_fills_the_gap_with_the_background() -> None:
    pixels = torch.full((4, 3, 8, 8), 100, dtype=torch.uint8)
    fill = torch.tensor([255, 255, 255], dtype=torch.uint8)
    shifted = random_shift(pixels, 2, torch.Generator().manual_seed(0), fill)
    values = set(shifted.unique().tolist())
    assert values <= {100, 255}  # never black: the gap is the background's colour
