"""Tests of chapter 1's helpers, widget and exercises (why a plain autoencoder cannot generate)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite import Autoencoder  # noqa: E402
from vaelite.exercises import ch01_autoencoder as ex  # noqa: E402
from vaelite.exercises import get, run_cases  # noqa: E402
from vaelite.losses import bernoulli_nll  # noqa: E402
from vaelite.widgets import ch01_autoencoder as w  # noqa: E402


def brute_force_nearest(points, codes):
    d = np.linalg.norm(points[:, None, :] - codes[None, :, :], axis=2)
    return d.min(axis=1), d.argmin(axis=1)


@pytest.mark.parametrize("chunk", [1, 7, 1024])
def test_nearest_code_matches_brute_force(chunk):
    rng = np.random.default_rng(0)
    points, codes = rng.normal(size=(50, 2)), rng.normal(size=(30, 2))
    dist, index = w.nearest_code(points, codes, chunk=chunk)
    ref_dist, ref_index = brute_force_nearest(points, codes)
    assert np.allclose(dist, ref_dist) and np.array_equal(index, ref_index)
    assert np.allclose(dist, ex.nearest_code_distance(points, codes))


def test_nearest_code_of_a_code_is_itself_and_shapes_are_checked():
    codes = np.random.default_rng(1).normal(size=(20, 3))
    dist, index = w.nearest_code(codes, codes)
    assert np.allclose(dist, 0, atol=1e-6) and np.array_equal(index, np.arange(20))
    with pytest.raises(ValueError):
        w.nearest_code(codes, codes[:, :2])


@pytest.mark.parametrize("chunk", [1, 4, 1024])
def test_neighbour_spacing_excludes_the_code_itself(chunk):
    codes = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 5.0], [10.0, 0.0]])
    assert np.allclose(w.neighbour_spacing(codes, chunk=chunk), [5.0, 1.0, 1.0, np.sqrt(65.0)])


def test_gap_fraction_agrees_with_the_exercise_reference():
    rng = np.random.default_rng(2)
    codes = rng.normal(size=(40, 2))
    lo, hi = np.array([-3.0, -2.0]), np.array([3.0, 2.5])
    for radius in (0.1, 0.5, 1.0):
        assert np.isclose(w.gap_fraction(codes, lo, hi, 25, radius),
                          ex.gap_fraction(codes, lo, hi, 25, radius))
    assert w.gap_fraction(codes, lo, hi, 10, 100.0) == 0.0


def test_path_points_are_evenly_spaced_and_hit_the_ends():
    waypoints = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 1.0]])
    path = w.path_points(waypoints, 9)
    assert path.shape == (9, 2)
    assert np.allclose(path[0], waypoints[0]) and np.allclose(path[-1], waypoints[-1])
    assert np.allclose(np.linalg.norm(np.diff(path, axis=0), axis=1), 0.5)
    with pytest.raises(ValueError):
        w.path_points(waypoints[:1], 5)


@pytest.mark.parametrize("radius", [None, 0.1])
def test_draw_decoded_returns_a_figure(radius):
    model = Autoencoder(hidden=(16,), latent_dim=2, seed=0)
    rng = np.random.default_rng(3)
    codes, labels = rng.normal(size=(30, 2)), rng.integers(0, 10, 30)
    path = w.path_points(codes[:3], 5)
    fig = w.draw_decoded(model, codes, labels, 0.5, -0.25, path=path, radius=radius)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert "nearest code" in fig.axes[1].get_title()
    plt.close(fig)


def test_bce_reference_agrees_with_the_library():
    rng = np.random.default_rng(4)
    logits = rng.normal(scale=2.0, size=(5, 784))
    x = rng.random((5, 784))
    bce, mse = ex.bce_and_mse(x, 1 / (1 + np.exp(-logits)))
    assert np.isclose(bce, bernoulli_nll(logits, x)[0])
    assert np.isclose(mse, np.mean(np.sum((x - 1 / (1 + np.exp(-logits))) ** 2, axis=1)))


def test_wrong_answers_are_caught():
    def mean_over_pixels(x, p):  # the classic mistake: mean instead of sum over pixels
        return (-np.mean(x * np.log(p) + (1 - x) * np.log(1 - p)), np.mean((x - p) ** 2))
    assert not run_cases(get("ch01.bce_and_mse"), mean_over_pixels).passed

    def squared_distance(points, codes):  # forgot the square root
        return ((points[:, None, :] - codes[None, :, :]) ** 2).sum(axis=2).min(axis=1)
    assert not run_cases(get("ch01.nearest_code_distance"), squared_distance).passed

    def grid_without_end(codes, lo, hi, n_grid, radius):  # np.arange-style grid: misses hi
        g0 = lo[0] + (hi[0] - lo[0]) * np.arange(n_grid) / n_grid
        g1 = lo[1] + (hi[1] - lo[1]) * np.arange(n_grid) / n_grid
        grid = np.array([(a, b) for a in g0 for b in g1])
        return float(np.mean(ex.nearest_code_distance(grid, codes) > radius))
    assert not run_cases(get("ch01.gap_fraction"), grid_without_end).passed


def brute_force_knn(images, x_train, y_train, k):
    d = np.linalg.norm(images[:, None, :] - x_train[None, :, :], axis=2)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
    votes = np.stack([np.sum(y_train[nearest] == c, axis=1) for c in range(10)], axis=1)
    return votes.argmax(axis=1), votes.max(axis=1) / k


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_knn_vote_matches_brute_force(chunk):
    rng = np.random.default_rng(5)
    x_train, y_train = rng.random((60, 8)), rng.integers(0, 10, 60)
    images = rng.random((7, 8))
    labels, shares = w.knn_vote(images, x_train, y_train, k=5, chunk=chunk)
    ref_labels, ref_shares = brute_force_knn(images, x_train, y_train, 5)
    assert np.array_equal(labels, ref_labels) and np.allclose(shares, ref_shares)
    # a training image votes for its own label when its 3 nearest share it
    same, share = w.knn_vote(x_train[:1], np.repeat(x_train[:1], 3, axis=0),
                             np.array([4, 4, 4]), k=3)
    assert same[0] == 4 and share[0] == 1.0
    with pytest.raises(ValueError):
        w.knn_vote(images[:, :3], x_train, y_train)
    with pytest.raises(ValueError):
        w.knn_vote(images, x_train, y_train, k=61)


def test_round_trip_is_zero_for_a_model_that_inverts_itself():
    class Identity:
        def decode(self, z):
            return np.asarray(z, dtype=np.float32)

        code = decode

    z = np.random.default_rng(6).normal(size=(9, 2))
    assert np.allclose(w.round_trip(Identity(), z), 0, atol=1e-6)
    model = Autoencoder(hidden=(16,), latent_dim=2, seed=0)
    trip = w.round_trip(model, z)
    assert trip.shape == (9,) and np.all(trip >= 0)
    assert np.allclose(trip, np.linalg.norm(model.encode(model.decode(z)) - z, axis=1))


def test_knn_vote_on_made_up_points():
    x_train = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [5.0, 5.0], [5.1, 5.0], [9.0, 9.0]])
    y_train = np.array([3, 3, 7, 1, 1, 1])
    labels, shares = w.knn_vote(np.array([[0.05, 0.05], [5.0, 5.1], [8.0, 8.0]]), x_train,
                                y_train, k=3)
    assert labels.tolist() == [3, 1, 1]
    assert np.allclose(shares, [2 / 3, 1.0, 1.0])


def test_knn_vote_checks_its_arguments():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError):
        w.knn_vote(np.zeros((2, 2)), x, np.zeros(4, dtype=int))
    with pytest.raises(ValueError):
        w.knn_vote(np.zeros((2, 3)), x, np.zeros(4, dtype=int), k=5)
