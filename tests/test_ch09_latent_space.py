"""Tests of chapter 9's helpers, figures and exercises (the latent space)."""
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite import VAE  # noqa: E402
from vaelite.exercises import ch09_latent_space as ex  # noqa: E402
from vaelite.exercises import get, run_cases  # noqa: E402
from vaelite.widgets import ch09_latent_space as w  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model():
    return VAE(input_dim=784, hidden=(8,), latent_dim=2, seed=0)


# ------------------------------------------------------------------ organisation measures

def test_snapshots_record_before_and_during_training(tiny_model):
    x = np.random.default_rng(0).random((6, 784)).astype(np.float32)
    snaps = w.LatentSnapshots(x[:3], x)
    snaps(0, tiny_model)
    snaps(1, tiny_model, None)
    assert snaps.epochs == [0, 1]
    assert snaps.mu[0].shape == (3, 2) and snaps.ref_mu[1].shape == (6, 2)
    assert np.allclose(snaps.mu[0], tiny_model.encode(x[:3])[0])
    assert np.allclose(snaps.ref_logvar[0], tiny_model.encode(x)[1])
    only_fixed = w.LatentSnapshots(x[:2])
    only_fixed(3, tiny_model)
    assert only_fixed.ref_mu == [] and only_fixed.mu[0].shape == (2, 2)


def test_knn_accuracy_on_separated_and_mixed_clusters():
    labels = np.repeat([0, 1, 2], 10)
    rng = np.random.default_rng(1)
    clusters = rng.normal(scale=0.1, size=(30, 2)) + np.repeat([[0, 0], [5, 0], [0, 5]], 10, 0)
    assert w.knn_accuracy(clusters, labels, k=3) == 1.0
    # invariant to a common rotation, scaling and shift
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    assert w.knn_accuracy(3 * clusters @ rot + 7, labels, k=3) == 1.0
    # one point sitting in the wrong cluster is misclassified, nothing else
    moved = clusters.copy()
    moved[0] = [5.0, 0.0]
    assert np.isclose(w.knn_accuracy(moved, labels, k=3), 29 / 30)
    with pytest.raises(ValueError):
        w.knn_accuracy(clusters, labels, k=30)


def test_knn_accuracy_leaves_the_point_out():
    # with itself as a neighbour, every isolated pair would be "right"; here each point's only
    # neighbour at k=1 is the other point of its pair, which has the other label
    codes = np.array([[0.0], [0.1], [10.0], [10.1]])
    assert w.knn_accuracy(codes, np.array([0, 1, 0, 1]), k=1) == 0.0
    assert w.knn_accuracy(codes, np.array([0, 0, 1, 1]), k=1) == 1.0


def test_spread_ratio_by_hand_and_invariances():
    codes = np.array([[-3.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    labels = np.array([0, 0, 1, 1])
    assert np.isclose(w.spread_ratio(codes, labels), 16 / 4)
    assert np.isclose(w.spread_ratio(2.5 * codes[:, ::-1] - 1, labels), 4.0)
    assert np.isclose(w.spread_ratio(codes, np.array([0, 1, 1, 0])), 0.0)  # equal means
    assert np.isclose(w.spread_ratio(codes, labels), ex.spread_ratio(codes, labels))
    with pytest.raises(ValueError):
        w.spread_ratio(codes, labels[:3])


# ------------------------------------------------------------------ q(z) on a grid

def test_normal_cdf_matches_known_values():
    x = np.array([-40.0, -9.5, -1.959963984540054, 0.0, 1.0, 9.5, 40.0])
    expected = [0.0, 0.0, 0.025, 0.5, 0.8413447460685429, 1.0, 1.0]
    assert np.allclose(w.normal_cdf(x), expected, rtol=1e-12, atol=1e-18)
    assert np.isclose(w.normal_cdf(-8.0), 6.220960574271785e-16, rtol=1e-10)  # the far tail
    assert w.normal_cdf(np.zeros((2, 3))).shape == (2, 3)


def test_cell_masses_of_the_prior_itself():
    edges = np.linspace(-5, 5, 41)
    q = w.cell_masses(np.zeros((3, 2)), np.zeros((3, 2)), edges)
    p = w.prior_cell_masses(edges)
    assert np.allclose(q, p)
    assert np.isclose(p.sum(), math.erf(5 / math.sqrt(2)) ** 2)
    assert w.grid_kl(q, p) == pytest.approx(0.0, abs=1e-12)
    assert w.hole_mass(q, p, 0.1) == 0.0


def test_cell_masses_of_one_narrow_component_and_of_a_mixture():
    edges = np.array([-1.0, 0.0, 1.0, 2.0])
    narrow = w.cell_masses(np.array([[0.5, 1.5]]), np.full((1, 2), -20.0), edges)
    expected = np.zeros((3, 3))
    expected[1, 2] = 1.0  # z[0] in [0, 1) (row 1), z[1] in [1, 2) (column 2)
    assert np.allclose(narrow, expected)
    # a mixture is the average of its components' tables
    mu = np.array([[0.3, -0.2], [1.1, 0.4]])
    logvar = np.array([[-1.0, 0.5], [0.2, -2.0]])
    both = w.cell_masses(mu, logvar, edges)
    each = [w.cell_masses(mu[i:i + 1], logvar[i:i + 1], edges) for i in range(2)]
    assert np.allclose(both, 0.5 * (each[0] + each[1]))
    # against a Monte Carlo count
    rng = np.random.default_rng(2)
    comp = rng.integers(0, 2, 200_000)
    z = mu[comp] + np.exp(0.5 * logvar[comp]) * rng.standard_normal((200_000, 2))
    counts = np.histogram2d(z[:, 0], z[:, 1], bins=[edges, edges])[0] / len(z)
    assert np.allclose(both, counts, atol=3e-3)
    with pytest.raises(ValueError):
        w.cell_masses(mu[:, :1], logvar[:, :1], edges)


def test_grid_kl_is_exact_for_cells_and_grows_when_cells_split():
    q = np.array([[0.2, 0.3], [0.1, 0.3]])
    p = np.array([[0.25, 0.25], [0.25, 0.2]])
    rest = 0.1 * np.log(0.1 / 0.05)  # the outside cell: q has 0.1, p has 0.05
    assert np.isclose(w.grid_kl(q, p), np.sum(q * np.log(q / p)) + rest)
    assert w.grid_kl(np.array([0.5, 0.5]), np.array([1.0, 0.0])) == float("inf")
    mu = np.array([[1.0, -0.5], [-1.5, 1.0]])
    logvar = np.array([[-2.0, -1.0], [-1.5, -2.5]])
    kls = []
    for n in (5, 9, 17, 33):  # each grid splits every cell of the previous one in four
        edges = np.linspace(-4, 4, n)
        kls.append(w.grid_kl(w.cell_masses(mu, logvar, edges), w.prior_cell_masses(edges)))
    assert np.all(np.diff(kls) > 0)


def test_hole_mass_counts_prior_mass_strictly_below_the_fraction():
    q = np.array([0.5, 0.0, 0.5, 0.0])
    p = np.array([0.25, 0.5, 0.2, 0.05])
    assert np.isclose(w.hole_mass(q, p, 0.1), 0.55)
    assert np.isclose(w.hole_mass(q, p, 0.0), 0.0)
    assert np.isclose(ex.hole_mass(q, p, 0.1), w.hole_mass(q, p, 0.1))


def test_lookup_cells_finds_the_cell_of_each_point():
    table = np.arange(9.0).reshape(3, 3)
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    z = np.array([[0.5, 0.5], [0.5, 2.5], [2.9, 1.0], [1.0, 0.0], [3.0, 1.0], [-0.1, 1.0]])
    got = w.lookup_cells(table, edges, z)
    assert np.array_equal(got[:4], [0.0, 2.0, 7.0, 3.0])
    assert np.isnan(got[4:]).all()  # outside the grid (the right edge is outside)


def test_log_aggregate_density_against_a_direct_sum():
    rng = np.random.default_rng(3)
    mu, logvar = rng.normal(size=(7, 3)), rng.normal(size=(7, 3)) - 1
    z = rng.normal(size=(11, 3))
    direct = np.log(np.mean([np.exp(w.log_normal_diag(z, mu[n], logvar[n]))
                             for n in range(7)], axis=0))
    assert np.allclose(w.log_aggregate_density(z, mu, logvar, chunk=4), direct)
    assert np.allclose(ex.aggregate_log_density(z, mu, logvar), direct)
    # a far point with narrow components: finite, where the direct sum underflows
    far = w.log_aggregate_density(np.array([[30.0, 0, 0]]), mu, logvar - 5)
    assert np.isfinite(far).all()


def test_log_normal_diag_is_the_standard_normal_at_zero():
    assert np.isclose(w.log_normal_diag(np.zeros(2), np.zeros(2), np.zeros(2)),
                      -np.log(2 * np.pi))


# ------------------------------------------------------------------ interpolation

def test_lerp_and_slerp_end_points_and_norms():
    z1, z2 = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    t = np.linspace(0, 1, 5)
    for f in (w.lerp, w.slerp, ex.slerp):
        path = f(z1, z2, t)
        assert path.shape == (5, 2)
        assert np.allclose(path[0], z1) and np.allclose(path[-1], z2)
    assert np.allclose(np.linalg.norm(w.slerp(z1, z2, t), axis=1), 3.0)
    assert np.isclose(np.linalg.norm(w.lerp(z1, z2, t)[2]), 3 / np.sqrt(2))
    assert np.allclose(w.slerp(z1, z2, t), ex.slerp(z1, z2, t))
    assert np.allclose(w.slerp(z1, 2 * z1, t), w.lerp(z1, 2 * z1, t))  # parallel: a line


def test_nearest_images_distance_and_vote():
    x_train = np.eye(10, 4 * 4) * 1.0
    x_train = np.concatenate([x_train, x_train + 0.01])
    y_train = np.concatenate([np.arange(10), np.arange(10)])
    images = x_train[[3, 7]] + 0.001
    dist, label, share = w.nearest_images(images, x_train, y_train, k=2)
    assert np.allclose(dist, np.sqrt(16) * 0.001)
    assert list(label) == [3, 7] and np.allclose(share, 1.0)
    with pytest.raises(ValueError):
        w.nearest_images(images[:, :5], x_train, y_train)


# ------------------------------------------------------------------ figures

def test_draw_functions_return_figures(tiny_model):
    rng = np.random.default_rng(4)
    x = rng.random((20, 784)).astype(np.float32)
    labels = np.arange(20) % 10
    snaps = w.LatentSnapshots(x)
    for epoch in (0, 1):
        snaps(epoch, tiny_model)
    measures = {"knn": [0.1, 0.2], "ratio": [0.3, 0.4]}
    fig = w.draw_epoch(snaps, 1, labels, measures)
    assert isinstance(fig, Figure) and "epoch 1" in fig.axes[0].get_title()
    with pytest.raises(ValueError):
        w.draw_epoch(snaps, 5, labels)
    assert isinstance(w.draw_organisation([0, 1], measures), Figure)
    edges = np.linspace(-3, 3, 13)
    mu, logvar = tiny_model.encode(x)
    q, p = w.cell_masses(mu, logvar, edges), w.prior_cell_masses(edges)
    fig = w.draw_holes(q, p, edges, codes=mu)
    assert isinstance(fig, Figure) and len(fig.axes) >= 2
    rows = {"a": x[:5], "b": x[5:10]}
    assert isinstance(w.draw_interpolations(rows), Figure)
    fig = w.draw_point(tiny_model, 0.5, -1.0, mu, labels,
                       log_q=lambda z: w.log_aggregate_density(z, mu, logvar))
    assert isinstance(fig, Figure)
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert "z = (0.50, -1.00)" in titles and "q(z)/p(z)" in titles
    assert isinstance(w.draw_point(tiny_model, 0.0, 0.0, mu, labels), Figure)


# ------------------------------------------------------------------ exercises

def test_wrong_answers_are_caught():
    def sum_not_mean(z, mu, logvar):  # q as a sum of the components' densities
        return ex.aggregate_log_density(z, mu, logvar) + np.log(len(mu))
    assert not run_cases(get("ch09.aggregate_log_density"), sum_not_mean).passed

    def naive(z, mu, logvar):  # log(mean(exp(...))) without the shift underflows
        var = np.exp(logvar)
        d = z[:, None, :] - mu[None]
        lc = -0.5 * np.sum(np.log(2 * np.pi * var) + d**2 / var, axis=-1)
        with np.errstate(divide="ignore"):
            return np.log(np.mean(np.exp(lc), axis=1))
    assert not run_cases(get("ch09.aggregate_log_density"), naive).passed

    def unweighted(codes, labels):  # between-class spread without the class sizes
        centre = codes.mean(0)
        classes = np.unique(labels)
        between = sum(np.sum((codes[labels == c].mean(0) - centre) ** 2) for c in classes)
        within = sum(np.sum((codes[labels == c] - codes[labels == c].mean(0)) ** 2)
                     for c in classes)
        return between / within
    assert not run_cases(get("ch09.spread_ratio"), unweighted).passed

    def q_mass(q_cells, p_cells, fraction):  # q's mass in the holes instead of p's
        return np.sum(q_cells[q_cells < fraction * p_cells])
    assert not run_cases(get("ch09.hole_mass"), q_mass).passed

    def linear(z1, z2, t):
        return w.lerp(z1, z2, t)
    assert not run_cases(get("ch09.slerp"), linear).passed
