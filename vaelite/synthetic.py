"""A synthetic data set whose generating factors are known, like dSprites (Matthey et al., 2017).

    data = shapes_dataset()             # the full grid: 3 shapes x 3 scales x 6 x 6 positions
    data.x        (324, 256) float32 in [0, 1], 16 x 16 images, one per row
    data.factors  (324, 4) int: the index of each factor's value, in data.factor_names order

Each image shows one white shape (square, ellipse or triangle) on black, drawn with NumPy alone:
a pixel's grey value is the fraction of a 4 x 4 grid of points inside it that fall inside the
shape. Because the factors are known, a disentanglement measure such as the mutual information
gap (``vaelite.evaluate.mutual_information_gap``) can be computed, not only looked at.
"""
from dataclasses import dataclass

import numpy as np

from . import checks

SHAPES = ("square", "ellipse", "triangle")
FACTOR_NAMES = ("shape", "scale", "x", "y")
SCALE_FRACTIONS = (0.12, 0.18, 0.24)  # half the shape's height, as a fraction of the image size
N_POSITIONS = 6  # values of x and of y
SUBPIXELS = 4  # points per pixel side used to measure coverage


@dataclass
class ShapesData:
    """Images of shapes and the factors that made them.

    x:             (n, size * size) float32 in [0, 1], row-major images
    factors:       (n, 4) int64, the index of each factor's value (shape, scale, x, y)
    factor_names:  ("shape", "scale", "x", "y")
    factor_sizes:  (3, 3, 6, 6), the number of values of each factor
    image_shape:   (size, size)
    """

    x: np.ndarray
    factors: np.ndarray
    factor_names: tuple
    factor_sizes: tuple
    image_shape: tuple


def factor_sizes():
    """The number of values of each factor, in FACTOR_NAMES order."""
    return (len(SHAPES), len(SCALE_FRACTIONS), N_POSITIONS, N_POSITIONS)


def render(factors, size=16):
    """Images (n, size * size) float32 in [0, 1] of the factor indices ``factors: (n, 4)``.

    The shape's centre moves over the middle of the image so that the largest shape stays inside;
    its half height is SCALE_FRACTIONS[scale] * size (the ellipse is 0.6 times as tall as wide,
    the triangle points up).
    """
    size = checks.integer(size, "size", minimum=8)
    factors = np.asarray(factors)
    sizes = np.array(factor_sizes())
    if (factors.ndim != 2 or factors.shape[1] != len(sizes)
            or not np.issubdtype(factors.dtype, np.integer)):
        raise ValueError(f"factors must be an integer array (n, {len(sizes)}), got "
                         f"{factors.dtype} {factors.shape}")
    if np.any(factors < 0) or np.any(factors >= sizes):
        raise ValueError(f"factors: each column k must lie in 0 .. {tuple(sizes - 1)}[k]")
    margin = max(SCALE_FRACTIONS) * size
    centres = np.linspace(margin, size - margin, N_POSITIONS)
    cx = centres[factors[:, 2]][:, None, None]
    cy = centres[factors[:, 3]][:, None, None]
    r = np.asarray(SCALE_FRACTIONS)[factors[:, 1]][:, None, None] * size
    points = (np.arange(size * SUBPIXELS) + 0.5) / SUBPIXELS  # sub-pixel centres, in pixels
    dx = points[None, None, :] - cx  # (n, 1, m): column offset from the centre
    dy = points[None, :, None] - cy  # (n, m, 1): row offset, growing downwards
    shape = factors[:, 0][:, None, None]
    inside = np.where(shape == 0, (np.abs(dx) <= r) & (np.abs(dy) <= r),
                      np.where(shape == 1, (dx / r) ** 2 + (dy / (0.6 * r)) ** 2 <= 1,
                               (np.abs(dy) <= r) & (np.abs(dx) <= (dy + r) / 2)))
    n = factors.shape[0]
    blocks = inside.reshape(n, size, SUBPIXELS, size, SUBPIXELS)
    return blocks.mean(axis=(2, 4)).reshape(n, size * size).astype(np.float32)


def shapes_dataset(n=None, size=16, seed=0):
    """A ``ShapesData`` of ``size`` x ``size`` shape images.

    n=None: every combination of the factors once (3 * 3 * 6 * 6 = 324 images, the last factor
    varying fastest); otherwise ``n`` images with factors drawn uniformly with ``seed``.
    """
    sizes = factor_sizes()
    if n is None:
        factors = np.indices(sizes).reshape(len(sizes), -1).T
    else:
        n = checks.integer(n, "n")
        rng = checks.generator(seed, "seed")
        factors = np.stack([rng.integers(0, k, size=n) for k in sizes], axis=1)
    factors = factors.astype(np.int64)
    size = checks.integer(size, "size", minimum=8)
    return ShapesData(render(factors, size), factors, FACTOR_NAMES, sizes, (size, size))
