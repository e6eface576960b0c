"""MNIST for vaelite: an embedded 5,000-digit subset, the full dataset on request, binarization.

Everything here returns NumPy arrays in the library's layout:

    x: (n, 784) float32, pixel intensities in [0, 1], each row a 28x28 image in row-major order
    y: (n,)     int64,   the digit 0..9

Two sources:

* ``load_mnist()`` (``which="subset"``, the default) reads ``datasets/mnist5k.npz``, which ships with
  the package: 5,000 digits, 500 per class, split 4,500 train / 500 test. No network needed.
* ``load_mnist("full", download=True)`` downloads the official 60,000 / 10,000 IDX files once,
  checks their SHA-256 checksums and caches them (default ``~/.cache/vaelite/mnist``).

A Bernoulli decoder models binary pixels, so we binarize the grey levels by sampling
``x_bin ~ Bernoulli(x)``:

* **dynamic** binarization draws a fresh sample for every minibatch: ``binarize(x_batch, rng)``;
* **static** binarization draws one sample, once, with a fixed seed: ``binarize_static(x, seed=0)``
  or, for both splits at once, ``data.binarized(seed=0)``.

``check_images(x)`` is the input validator that models and the training loop reuse.

Your own images: ``load_array_file("digits.npz", test_size=0.1, seed=0)`` reads an ``.npz``
(array ``x``, optional labels ``y``) or an ``.npy`` of images, checks them and holds out a
test split (see ``ArrayData``).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.client
import math
import os
import struct
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .backends import make_backend
from .functional import namespace

__all__ = [
    "MNIST",
    "load_mnist",
    "mnist_dir",
    "read_idx",
    "binarize",
    "binarize_static",
    "check_images",
    "ArrayData",
    "load_array_file",
    "read_array_file",
    "DownloadError",
    "ChecksumError",
]

IMAGE_SHAPE = (28, 28)
N_PIXELS = 28 * 28
N_CLASSES = 10

SUBSET_FILE = Path(__file__).with_name("datasets") / "mnist5k.npz"

# Where the full dataset can be downloaded from, tried in order. The first is the Google Cloud
# mirror that TensorFlow uses, the second the one PyTorch uses, the last the original site.
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)

# SHA-256 of the four official files. The same four values appear in independent public sources:
#   - tensorflow/datasets, tensorflow_datasets/url_checksums/mnist.txt (with the sizes in bytes,
#     for the storage.googleapis.com/cvdf-datasets mirror);
#   - NixOS/nixpkgs, pkgs/development/haskell-modules/configuration-tensorflow.nix (fetchurl of
#     the files from yann.lecun.com/exdb/mnist);
#   - ankane/torchvision-ruby, lib/torchvision/datasets/mnist.rb.
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",  # 9,912,422 B
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",  # 28,881 B
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",  # 1,648,877 B
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",  # 4,542 B
}
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"

TIMEOUT_S = 30  # seconds to wait for a mirror before giving up on it

# IDX magic numbers: 0x00 0x00, type 0x08 (unsigned byte), number of dimensions.
IDX_IMAGES_MAGIC = 0x00000803  # 2051: uint8, 3 dimensions (n, rows, cols)
IDX_LABELS_MAGIC = 0x00000801  # 2049: uint8, 1 dimension  (n,)


class DownloadError(OSError):
    """No mirror could deliver a file (usually: no network)."""


class ChecksumError(RuntimeError):
    """A file's SHA-256 differs from the official one (a corrupt or truncated download)."""


@dataclass(frozen=True, eq=False)
class MNIST:
    """A train/test split of MNIST.

    x_train: (n_train, 784) float32 in [0, 1]    y_train: (n_train,) int64 in 0..9
    x_test:  (n_test, 784)  float32 in [0, 1]    y_test:  (n_test,)  int64 in 0..9
    name:    a short description, e.g. "mnist-subset"
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "mnist"

    def binarized(self, seed: int = 0) -> "MNIST":
        """Statically binarized copy: both splits sampled once from Bernoulli(x) with this seed."""
        rng = np.random.default_rng(seed)
        return dataclasses.replace(
            self,
            x_train=binarize(self.x_train, rng, name="x_train"),
            x_test=binarize(self.x_test, rng, name="x_test"),
            name=f"{self.name}-binarized(seed={seed})",
        )

    def __repr__(self) -> str:
        return (
            f"MNIST(name={self.name!r}, x_train={self.x_train.shape} {self.x_train.dtype}, "
            f"x_test={self.x_test.shape} {self.x_test.dtype})"
        )


def load_mnist(
    which: str = "subset",
    *,
    download: bool = False,
    cache_dir: str | os.PathLike | None = None,
    test_size: int | None = None,
    seed: int = 0,
) -> MNIST:
    """Load MNIST as float32 pixels in [0, 1] and int64 labels.

    which="subset": the embedded 5,000 digits (no network). ``test_size`` digits (default 500)
        go to the test set, the same number from every class (so it must be a multiple of 10);
        the rest, 4,500 by default, to the training set. The split and the order of both sets
        are shuffled with ``seed``: the same seed always gives the same split.
    which="full": the official 60,000 train / 10,000 test split, in the official order.
        The four files are read from ``mnist_dir(cache_dir)``; with ``download=True`` missing
        files are downloaded there first. ``seed`` and ``test_size`` do not apply.

    Returns an ``MNIST`` with x_train (n_train, 784), y_train (n_train,), x_test (n_test, 784),
    y_test (n_test,).
    """
    if which == "subset":
        return _load_subset(test_size=500 if test_size is None else test_size, seed=seed)
    if which == "full":
        if test_size is not None:
            raise ValueError("test_size applies to the subset only; full MNIST uses the official 60,000/10,000 split")
        return _load_full(mnist_dir(cache_dir), download=download)
    raise ValueError(f"which must be 'subset' or 'full', got {which!r}")


# --------------------------------------------------------------------------- the embedded subset


def _load_subset(test_size: int, seed: int) -> MNIST:
    with np.load(SUBSET_FILE) as f:
        images, labels = f["images"], f["labels"].astype(np.int64)  # rows are sorted by class

    per_class = test_size // N_CLASSES
    if test_size % N_CLASSES or not 0 < per_class < np.bincount(labels).min():
        raise ValueError(f"test_size must be a positive multiple of 10 below 5000, got {test_size}")

    # Stratified split: shuffle the indices of each class, take the first `per_class` for testing.
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for digit in range(N_CLASSES):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        test_idx.append(idx[:per_class])
        train_idx.append(idx[per_class:])
    # Shuffle again across classes, otherwise the sets would still be sorted by class.
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = rng.permutation(np.concatenate(test_idx))

    return MNIST(
        x_train=_to_unit_float(images[train_idx]),
        y_train=labels[train_idx],
        x_test=_to_unit_float(images[test_idx]),
        y_test=labels[test_idx],
        name="mnist-subset",
    )


def _to_unit_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255, shape (n, ...) -> float32 in [0, 1], shape (n, 784)."""
    return pixels.reshape(len(pixels), N_PIXELS).astype(np.float32) / np.float32(255)


# --------------------------------------------------------------------------- the full dataset


def mnist_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding the four MNIST .gz files.

    ``cache_dir`` if given, else the environment variable ``VAELITE_DATA``, else
    ``~/.cache/vaelite/mnist``.
    """
    if cache_dir is None:
        cache_dir = os.environ.get("VAELITE_DATA") or Path.home() / ".cache" / "vaelite" / "mnist"
    return Path(cache_dir).expanduser()


def _load_full(folder: Path, download: bool) -> MNIST:
    missing = [name for name in SHA256 if not (folder / name).exists()]
    if missing and not download:
        raise FileNotFoundError(
            f"full MNIST is not in {folder} (missing: {', '.join(missing)}).\n"
            f"Call load_mnist('full', download=True) to download it (about 11 MB), or download the files "
            f"from {MIRRORS[0]} and place them in {folder} (or point cache_dir= or VAELITE_DATA at them)."
        )
    for name in missing:
        _download(name, folder)
    for name in SHA256:
        _verify(folder / name)

    x_train, y_train = _read_pair(folder / TRAIN_IMAGES, folder / TRAIN_LABELS)
    x_test, y_test = _read_pair(folder / TEST_IMAGES, folder / TEST_LABELS)
    return MNIST(x_train, y_train, x_test, y_test, name="mnist-full")


def _read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an images file and its labels file: x (n, 784) float32, y (n,) int64."""
    images = read_idx(images_path, magic=IDX_IMAGES_MAGIC)
    labels = read_idx(labels_path, magic=IDX_LABELS_MAGIC)
    if images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{images_path}: expected 28x28 images, got shape {images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    if labels.size and labels.max() >= N_CLASSES:
        raise ValueError(f"{labels_path}: labels must be 0..9, found {labels.max()}")
    return _to_unit_float(images), labels.astype(np.int64)


def read_idx(path: str | os.PathLike, magic: int | None = None) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes into a uint8 array.

    IDX layout (big-endian): 2 zero bytes, a type byte (0x08 = uint8), a byte with the number of
    dimensions d, then d 4-byte sizes, then the data. ``magic`` (e.g. 2051 for images, 2049 for
    labels) is the first 4 bytes read as one integer; if given, it must match.
    """
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4:
        raise ValueError(f"{path}: too short to be an IDX file")
    (found,) = struct.unpack(">I", raw[:4])
    zeros, dtype_code, ndim = found >> 16, (found >> 8) & 0xFF, found & 0xFF
    if zeros != 0 or dtype_code != 0x08 or (magic is not None and found != magic):
        expected = f"{magic:#010x}" if magic is not None else "0x000008XX"
        raise ValueError(f"{path}: bad IDX magic number {found:#010x}, expected {expected}")
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != np.prod(shape, dtype=np.int64):
        raise ValueError(f"{path}: header says shape {shape} ({np.prod(shape)} bytes) but {data.size} bytes follow")
    return data.reshape(shape)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path) -> None:
    """Raise ChecksumError unless the file's SHA-256 is the official one for its name."""
    expected, found = SHA256[path.name], _sha256(path)
    if found != expected:
        raise ChecksumError(
            f"corrupt file {path}: SHA-256 is {found}, expected {expected}. "
            f"Delete it and retry (load_mnist('full', download=True) downloads it again)."
        )


def _download(name: str, folder: Path) -> None:
    """Download one file into `folder`, trying each mirror in turn.

    The bytes go to a temporary file in the same folder, which is checked and only then renamed,
    so an interrupted or corrupt download never sits in the cache under the real name.
    """
    folder.mkdir(parents=True, exist_ok=True)
    errors, corrupt = [], []
    for mirror in MIRRORS:
        url = mirror + name
        print(f"downloading {url}")
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=name + ".", suffix=".part")
        tmp = Path(tmp_name)
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "vaelite"})
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
            found = _sha256(tmp)
            if found == SHA256[name]:
                os.replace(tmp, folder / name)
                return
            corrupt.append(f"{url}: SHA-256 is {found}, expected {SHA256[name]}")
        except (OSError, http.client.HTTPException) as err:  # no network, timeout, HTTP 404, ...
            errors.append(f"{url}: {err}")
        finally:
            tmp.unlink(missing_ok=True)
    if corrupt:
        raise ChecksumError(f"corrupt download of {name}, deleted; retry later.\n  " + "\n  ".join(corrupt + errors))
    raise DownloadError(
        f"could not download {name} from any mirror. Are you online?\n  "
        + "\n  ".join(errors)
        + f"\nOr download the four files by hand (from {MIRRORS[0]}) and place them in {folder}."
    )


# --------------------------------------------------------------------------- validation and binarization


def check_images(x, name: str = "x", *, unit_interval: bool = True, n_features: int | None = None):
    """Check that `x` is a batch of images the library can use, and return it unchanged.

    Requirements: a 2-D array (batch, features) with at least one row, a floating dtype, only
    finite values, and (if ``unit_interval``) every value in [0, 1]; if ``n_features`` is given,
    exactly that many columns. Raises ValueError (TypeError if `x` is not an array) naming `name`
    and the problem.
    """
    if not hasattr(x, "ndim") or not hasattr(x, "dtype"):
        raise TypeError(f"{name} must be an array, got {type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (batch, features), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(x.shape)}")
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(f"{name} must have {n_features} columns, got shape {tuple(x.shape)}")
    xp = namespace(x)  # NumPy, or the array library of a backend's device array
    if not xp.isdtype(x.dtype, "real floating"):
        raise ValueError(
            f"{name} must be a float array, got dtype {x.dtype}; "
            "convert 0..255 pixels with x.astype(np.float32) / 255"
        )
    finite = xp.isfinite(x)
    if not bool(xp.all(finite)):
        raise ValueError(f"{name} contains NaN or Inf ({int(xp.sum(xp.astype(~finite, xp.int64)))} entries)")
    if unit_interval:
        low, high = float(xp.min(x)), float(xp.max(x))
        if low < 0 or high > 1:
            raise ValueError(f"{name} must lie in [0, 1], got values from {low} to {high}")
    return x


def binarize(x, rng, *, name: str = "x"):
    """Sample binary images: each pixel is 1 with probability x, else 0 (x_bin ~ Bernoulli(x)).

    x:   (batch, features) float in [0, 1]
    rng: a numpy.random.Generator, e.g. np.random.default_rng(0)
    returns (batch, features) float32 with values in {0, 1}.

    Call it on every minibatch with the training rng for dynamic binarization.
    """
    check_images(x, name)
    if not hasattr(rng, "random"):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    x_bin = make_backend("numpy").binarize(x, rng)  # 1 where u < x, u ~ U[0, 1) float32
    return x_bin.astype(np.float32, copy=False)


def binarize_static(x, seed: int = 0, *, name: str = "x"):
    """Static binarization: one fixed Bernoulli(x) sample, the same for a given seed.

    x: (n, features) float in [0, 1]; returns (n, features) float32 in {0, 1}.
    """
    return binarize(x, np.random.default_rng(seed), name=name)


# --------------------------------------------------------------------------- your own images


@dataclass(frozen=True, eq=False)
class ArrayData:
    """Images read from an ``.npz`` or ``.npy`` file by ``load_array_file``, split train/test.

    x_train: (n_train, d) float32     y_train: (n_train,) labels, or None if the file has none
    x_test:  (n_test, d)  float32     y_test:  (n_test,)  labels, or None
    image_shape: (h, w) with h * w == d, the shape to draw each row at
    source:  the file's absolute path;  sha256: its SHA-256 (to notice a changed file)
    test_size, seed: the split (``n_test`` examples held out, chosen with ``seed``)
    scaled:  a note if uint8 pixels were divided by 255, else None
    """

    x_train: np.ndarray
    y_train: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray | None
    image_shape: tuple
    source: str
    sha256: str
    test_size: int
    seed: int
    scaled: str | None = None

    @property
    def name(self) -> str:
        return Path(self.source).name

    def split_info(self) -> dict:
        """The data source and the split as a JSON-ready dict (what a run records)."""
        return {"source": self.source, "sha256": self.sha256,
                "image_shape": list(self.image_shape), "n_train": len(self.x_train),
                "n_test": len(self.x_test), "test_size": self.test_size, "seed": self.seed,
                "scaled": self.scaled}

    def __repr__(self) -> str:
        return (f"ArrayData(source={self.source!r}, x_train={self.x_train.shape}, "
                f"x_test={self.x_test.shape}, image_shape={self.image_shape}, "
                f"labels={self.y_train is not None})")


def _read_array_file(path: Path):
    """(x, y or None) from an .npz (arrays x and, optionally, y) or an .npy (x only)."""
    if not path.exists():
        raise FileNotFoundError(f"no data file at {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not an .npz or .npy file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                if "x" not in loaded.files:
                    found = ", ".join(loaded.files) or "no arrays"
                    raise KeyError(f"has no array 'x' (it holds: {found}); save your images "
                                   "with np.savez(path, x=images, y=labels)")
                return loaded["x"], (loaded["y"] if "y" in loaded.files else None)
        return loaded, None
    except KeyError as err:
        raise ValueError(f"{path} {err.args[0]}") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is not a readable .npz or .npy file (truncated or corrupt, "
                         f"or it holds Python objects): {err}") from None


def read_array_file(
    path: str | os.PathLike,
    *,
    image_shape: tuple[int, int] | None = None,
    unit_interval: bool = True,
    n_features: int | None = None,
):
    """Read and check every image of an ``.npz`` or ``.npy`` file, without splitting.

    Returns ``(x, y, image_shape, scaled)``: x (n, d) float32, y (n,) labels or None,
    image_shape (h, w), or None for (n, d) images with d not a square and no ``image_shape``
    given, and scaled, a note or None. ``n_features``: if given, d must equal it (a model's
    input size). Otherwise the rules are those of ``load_array_file``.
    """
    path = Path(path).expanduser()
    x, y = _read_array_file(path)
    where = f"x in {path}"
    if x.ndim == 3:
        if n_features is not None and x.shape[1] * x.shape[2] != n_features:
            raise ValueError(f"{where} holds images of {x.shape[1]}x{x.shape[2]} values, the "
                             f"model expects {n_features}")
        if image_shape is not None and tuple(int(s) for s in image_shape) != x.shape[1:]:
            raise ValueError(f"{where} holds images of shape {x.shape[1]}x{x.shape[2]}, "
                             f"but image_shape is {tuple(image_shape)}")
        image_shape = x.shape[1:]
        x = x.reshape(len(x), x.shape[1] * x.shape[2])
    elif x.ndim == 2:
        d = x.shape[1]
        if n_features is not None and d != n_features:
            raise ValueError(f"{where} has {d} values per image, the model expects {n_features}")
        if image_shape is not None:
            h, w = (int(s) for s in image_shape)
            if h < 1 or w < 1 or h * w != d:
                raise ValueError(f"{where} has {d} values per image, but image_shape "
                                 f"{h}x{w} holds {h * w}")
            image_shape = (h, w)
        elif math.isqrt(d) ** 2 == d:
            image_shape = (math.isqrt(d),) * 2
    else:
        raise ValueError(f"{where} must have shape (n, d) or (n, h, w), got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{where} is empty: shape {x.shape}")

    scaled = None
    if x.dtype == np.uint8:
        scaled = (f"{path.name}: x is uint8 (values {x.min()}..{x.max()}), divided by 255 "
                  "to lie in [0, 1]")
        x = x.astype(np.float32) / np.float32(255)
    elif x.dtype.kind in "biuf":
        x = x.astype(np.float32)
    else:
        raise ValueError(f"{where} must hold numbers, got dtype {x.dtype}")
    try:
        check_images(x, where, unit_interval=unit_interval)
    except ValueError as err:
        hint = ("; a Bernoulli decoder needs values in [0, 1]: scale them, or save 0..255 "
                "pixels as uint8") if "must lie in [0, 1]" in str(err) else ""
        raise ValueError(f"{err}{hint}") from None

    n = len(x)
    if y is not None:
        if y.shape != (n,):
            raise ValueError(f"y in {path} must have shape ({n},), one label per image, got "
                             f"shape {y.shape}")
        if y.dtype.kind in "biu":
            y = y.astype(np.int64)
        elif y.dtype.kind != "f" or not np.all(np.isfinite(y)):
            raise ValueError(f"y in {path} must hold finite numbers, got dtype {y.dtype}")

    return x, y, None if image_shape is None else tuple(int(s) for s in image_shape), scaled


def load_array_file(
    path: str | os.PathLike,
    test_size: int | float = 0.1,
    seed: int = 0,
    *,
    image_shape: tuple[int, int] | None = None,
    unit_interval: bool = True,
) -> ArrayData:
    """Read images from an ``.npz`` or ``.npy`` file, check them and hold out a test split.

    The file: an ``.npz`` with an array ``x`` and optionally labels ``y`` of shape (n,)
    (``np.savez(path, x=images, y=labels)``), or an ``.npy`` holding the images alone.
    ``x`` has shape (n, d) (flattened images) or (n, h, w) (images).

    Values: uint8 pixels are divided by 255 (``ArrayData.scaled`` says so); any other dtype
    is converted to float32 as is. With ``unit_interval`` (a Bernoulli decoder, or
    binarized training) every value must then lie in [0, 1]; NaN and Inf are always errors.

    image_shape: (h, w) to draw each image at. Taken from x if it is (n, h, w) (a given
    ``image_shape`` must then agree); for (n, d) it must be given unless d is a square.

    test_size: the number of examples held out (an int >= 1), or a fraction in (0, 1) of n
    (rounded, at least 1). ``seed`` shuffles the examples before the split, so the same file,
    test_size and seed always give the same split; both sets keep the shuffled order.

    Returns an ``ArrayData`` with x_train (n - n_test, d) and x_test (n_test, d) float32,
    y_train / y_test ((n_train,) / (n_test,), int64 for integer labels) or None, and
    image_shape (h, w). Raises FileNotFoundError for a missing file and ValueError naming
    the file and the problem for anything else.
    """
    path = Path(path).expanduser()
    x, y, image_shape, scaled = read_array_file(path, image_shape=image_shape,
                                                unit_interval=unit_interval)
    if image_shape is None:
        raise ValueError(f"x in {path} has {x.shape[1]} values per image, not a square number: "
                         "give the image shape (image_shape=(h, w); on the command line "
                         "--image-shape H W)")
    n = len(x)
    if n < 2:
        raise ValueError(f"{path} holds {n} image; a train/test split needs at least 2")
    numbers = (int, float, np.integer, np.floating)
    if isinstance(test_size, (bool, np.bool_)) or not isinstance(test_size, numbers):
        raise ValueError(f"test_size must be a count or a fraction, got {test_size!r}")
    if isinstance(test_size, (float, np.floating)):
        if not 0 < test_size < 1:
            raise ValueError(f"a fractional test_size must lie in (0, 1), got {test_size}")
        n_test = min(max(1, round(test_size * n)), n - 1)
    else:
        n_test = int(test_size)
        if not 1 <= n_test < n:
            raise ValueError(f"test_size must be between 1 and {n - 1} for the {n} images of "
                             f"{path}, got {n_test}")
    order = np.random.default_rng(seed).permutation(n)
    test_idx, train_idx = order[:n_test], order[n_test:]
    return ArrayData(
        x_train=x[train_idx], y_train=None if y is None else y[train_idx],
        x_test=x[test_idx], y_test=None if y is None else y[test_idx],
        image_shape=image_shape, source=str(path.resolve()),
        sha256=_sha256(path), test_size=n_test, seed=int(seed), scaled=scaled,
    )
