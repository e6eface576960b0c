"""The shapes data set with known factors, the mutual information gap, and the beta sweep."""
import math

import numpy as np
import pytest

import vaelite
from vaelite import VAE
from vaelite.evaluate import factor_mutual_information, mutual_information_gap
from vaelite.synthetic import FACTOR_NAMES, SCALE_FRACTIONS, render, shapes_dataset
from vaelite.train import beta_sweep


@pytest.fixture(scope="module")
def grid():
    return shapes_dataset()


# ---- the data set ----

def test_grid_holds_every_combination_once_and_balanced(grid):
    assert grid.x.shape == (324, 256) and grid.x.dtype == np.float32
    assert grid.factors.shape == (324, 4) and grid.image_shape == (16, 16)
    assert grid.factor_names == FACTOR_NAMES and grid.factor_sizes == (3, 3, 6, 6)
    assert len({tuple(f) for f in grid.factors}) == 324
    for k, size in enumerate(grid.factor_sizes):
        assert np.array_equal(np.bincount(grid.factors[:, k]), np.full(size, 324 // size))
    assert grid.x.min() == 0.0 and grid.x.max() == 1.0


def test_factors_determine_the_images(grid):
    for i in range(0, 324, 7):  # each image is the rendering of its own factors alone
        np.testing.assert_array_equal(grid.x[i], render(grid.factors[i:i + 1])[0])
    assert len(np.unique(grid.x, axis=0)) == 324  # different factors, different images


def test_images_put_the_shape_where_the_factors_say(grid):
    rows, cols = np.indices((16, 16)) + 0.5
    images = grid.x.reshape(-1, 16, 16).astype(np.float64)
    mass = images.sum(axis=(1, 2))
    cx = (images * cols).sum(axis=(1, 2)) / mass
    cy = (images * rows).sum(axis=(1, 2)) / mass
    margin = max(SCALE_FRACTIONS) * 16
    centres = np.linspace(margin, 16 - margin, 6)
    symmetric = grid.factors[:, 0] < 2  # square, ellipse: the centroid is the centre (to 1/8 px)
    np.testing.assert_allclose(cx[symmetric], centres[grid.factors[symmetric, 2]], atol=0.15)
    np.testing.assert_allclose(cy[symmetric], centres[grid.factors[symmetric, 3]], atol=0.15)
    r = np.asarray(SCALE_FRACTIONS)[grid.factors[:, 1]] * 16
    area = np.select([grid.factors[:, 0] == k for k in range(3)],
                     [4 * r**2, math.pi * 0.6 * r**2, 2 * r**2])  # square, ellipse, triangle
    np.testing.assert_allclose(mass, area, rtol=0.15)
    triangle = grid.factors[:, 0] == 2  # it points up: its centroid lies below the centre
    assert np.all(cy[triangle] > centres[grid.factors[triangle, 3]] + 0.2 * r[triangle])


def test_random_draws_are_seeded_and_rendered_from_their_factors():
    a, b, c = shapes_dataset(50, seed=3), shapes_dataset(50, seed=3), shapes_dataset(50, seed=4)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.factors, b.factors)
    assert not np.array_equal(a.factors, c.factors)
    np.testing.assert_array_equal(a.x, render(a.factors))
    big = shapes_dataset(size=20)
    assert big.x.shape == (324, 400) and big.image_shape == (20, 20)
    assert 0.0 <= big.x.min() and big.x.max() <= 1.0


@pytest.mark.parametrize("call, error, words", [
    (lambda: shapes_dataset(0), ValueError, "n must be"),
    (lambda: shapes_dataset(size=4), ValueError, "size must be"),
    (lambda: shapes_dataset(5, seed=None), ValueError, "seed"),
    (lambda: render(np.array([[3, 0, 0, 0]])), ValueError, "factors"),
    (lambda: render(np.zeros((2, 3), dtype=int)), ValueError, "factors"),
])
def test_dataset_argument_errors(call, error, words):
    with pytest.raises(error, match=words):
        call()


# ---- the mutual information gap ----

def _reference_mi(a, b):
    """Plug-in mutual information (nats) of two integer sequences, from a dict of counts."""
    n, joint, pa, pb = len(a), {}, {}, {}
    for i, j in zip(a, b):
        joint[i, j] = joint.get((i, j), 0) + 1
        pa[i], pb[j] = pa.get(i, 0) + 1, pb.get(j, 0) + 1
    return sum(c / n * math.log(c * n / (pa[i] * pb[j])) for (i, j), c in joint.items())


def test_mig_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 4, size=(500, 2))
    codes = np.stack([factors[:, 0] * 3 + rng.integers(0, 3, 500),  # 0..11, noisy factor 0
                      rng.integers(0, 12, 500),
                      (factors[:, 1] + (rng.random(500) < 0.3)) % 4 * 3 + 2], axis=1)
    codes[:2] = [[0, 0, 0], [11, 11, 11]]  # every column spans 0..11: bins = 12 are the values
    mig, gaps = mutual_information_gap(codes.astype(float), factors, bins=12, per_factor=True)
    expected = []
    for k in range(2):
        info = sorted((_reference_mi(codes[:, j], factors[:, k]) for j in range(3)), reverse=True)
        h = _reference_mi(factors[:, k], factors[:, k])
        expected.append((info[0] - info[1]) / h)
    np.testing.assert_allclose(gaps, expected, rtol=1e-12)
    assert mig == pytest.approx(np.mean(expected), rel=1e-12)
    assert 0.2 < mig < 0.9


def test_factor_mutual_information_matches_a_direct_computation():
    rng = np.random.default_rng(3)
    factors = rng.integers(0, 3, size=(400, 2))
    codes = np.stack([factors[:, 1] * 2 + rng.integers(0, 2, 400), rng.integers(0, 6, 400)],
                     axis=1)
    codes[:2] = [[0, 0], [5, 5]]  # every column spans 0..5: bins = 6 are the values
    info = factor_mutual_information(codes.astype(float), factors, bins=6)
    expected = [[_reference_mi(codes[:, j], factors[:, k]) / _reference_mi(factors[:, k],
                                                                          factors[:, k])
                 for k in range(2)] for j in range(2)]
    assert info.shape == (2, 2)
    np.testing.assert_allclose(info, expected, rtol=1e-12)
    assert info[0, 1] > 0.9 and info[1, 1] < 0.05  # column 0 holds factor 1, column 1 nothing
    with pytest.raises(ValueError, match="codes must be"):
        factor_mutual_information(np.zeros(5), factors[:5])


def test_mig_is_one_for_the_factors_zero_for_noise_lower_for_mixtures(grid):
    f = grid.factors
    assert mutual_information_gap(f.astype(float), f) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(1)
    scaled = f * np.array([2.0, -0.5, 3.0, 1.0]) + 7  # scale and shift of each dimension
    assert mutual_information_gap(scaled, f) == pytest.approx(1.0, abs=1e-12)
    draws = shapes_dataset(20000, seed=2)
    noise = rng.standard_normal((20000, 4))
    assert mutual_information_gap(noise, draws.factors) < 0.02
    # x and y rotated into x + y and x - y: both dimensions share both factors (gap 0 for them)
    mixed = np.stack([f[:, 0], f[:, 1], f[:, 2] + f[:, 3], f[:, 2] - f[:, 3]], axis=1)
    mig, gaps = mutual_information_gap(mixed.astype(float), f, per_factor=True)
    np.testing.assert_allclose(gaps, [1, 1, 0, 0], atol=1e-12)
    assert mig == pytest.approx(0.5, abs=1e-12)
    # one dimension holding two factors with a copy elsewhere: lower than the disentangled code
    merged = np.stack([f[:, 0], f[:, 1], f[:, 2] + 0.3 * f[:, 3], f[:, 3]], axis=1)
    assert mutual_information_gap(merged.astype(float), f) < 0.95


@pytest.mark.parametrize("kwargs, error, words", [
    ({"bins": 1}, ValueError, "bins must be"),
    ({"bins": 2.5}, ValueError, "bins must be"),
    ({"bins": "20"}, TypeError, "bins must be"),
    ({"per_factor": 1}, TypeError, "per_factor must be"),
    ({"codes": np.zeros((10, 1))}, ValueError, "codes must be"),
    ({"codes": np.full((10, 2), np.nan)}, ValueError, "codes contains NaN"),
    ({"factors": np.zeros((10, 1))}, ValueError, "factors must be an integer"),
    ({"factors": np.zeros((9, 1), dtype=int)}, ValueError, "same rows"),
    ({"factors": np.zeros((10, 1), dtype=int)}, ValueError, "column 0 takes a single value"),
])
def test_mig_argument_errors(kwargs, error, words):
    args = {"codes": np.arange(20.0).reshape(10, 2),
            "factors": np.arange(10).reshape(10, 1) % 2, **kwargs}
    with pytest.raises(error, match=words):
        mutual_information_gap(**args)


# ---- the beta sweep ----

def _sweep(x, betas, dtype=np.float32):
    """Two epochs of a tiny VAE per beta on the images x, measured on 200 fresh draws."""
    test = shapes_dataset(200, seed=1)
    return beta_sweep(lambda beta: VAE(256, (32,), 4, beta=beta, dtype=dtype, seed=0), betas,
                      x, 2, test_data=test.x, batch_size=32, progress=False)


def test_beta_sweep_trades_rate_for_distortion(backend):
    points = _sweep(shapes_dataset(2000, seed=0).x, [0.5, 4])
    assert [p["beta"] for p in points] == [0.5, 4.0]
    assert points[0]["rate"] > 2 * points[1]["rate"] > 0  # about 5.0 and 0.9 nats
    assert points[0]["distortion"] < points[1]["distortion"]
    for p in points:
        assert p["nelbo"] == pytest.approx(p["rate"] + p["distortion"])
        assert p["model"].beta == p["beta"]
    assert points[0]["model"] is not points[1]["model"]


def test_beta_sweep_strict_backend_matches_numpy(grid):
    reference = _sweep(grid.x, [1.0], np.float64)[0]
    with vaelite.use_backend("strict"):
        strict = _sweep(grid.x, [1.0], np.float64)[0]
    for key in ("rate", "distortion", "nelbo"):
        assert strict[key] == pytest.approx(reference[key], rel=1e-8)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"make_model": None}, TypeError, "make_model must be"),
    ({"betas": []}, ValueError, "betas is empty"),
    ({"betas": 2.0}, TypeError, "betas must be"),
    ({"betas": [1, -1]}, ValueError, "each entry of betas"),
    ({"test_data": None}, ValueError, "test_data is required"),
    ({"make_model": lambda beta: VAE(256, (8,), 2)}, ValueError, "pass beta on"),
])
def test_beta_sweep_argument_errors(grid, kwargs, error, words):
    args = {"make_model": lambda beta: VAE(256, (8,), 2, beta=beta), "betas": [2.0],
            "data": grid.x[:10], "epochs": 1, "test_data": grid.x[:10], "progress": False,
            **kwargs}
    with pytest.raises(error, match=words):
        beta_sweep(**args)
