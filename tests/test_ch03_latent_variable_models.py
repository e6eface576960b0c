"""Tests for chapter 3 (latent variable models): its widget functions and its exercises."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite.exercises import get, run_cases  # noqa: E402
from vaelite.exercises import ch03_latent_variable_models as ex  # noqa: E402
from vaelite.losses import gaussian_log_prob  # noqa: E402
from vaelite.widgets import ch03_latent_variable_models as w  # noqa: E402

DZ = w.Z_GRID[1] - w.Z_GRID[0]


def test_arc_decoder_is_a_unit_speed_circle_with_a_linear_limit():
    z = np.linspace(-2, 2, 9)
    for b in (0.5, 1.0, 3.0):
        f = w.arc_decoder(z, b)
        assert np.allclose(f, np.stack([np.sin(b * z) / b, (1 - np.cos(b * z)) / b], -1))
        # on the circle of radius 1/b centred at (0, 1/b)
        assert np.allclose(np.hypot(f[:, 0], f[:, 1] - 1 / b), 1 / b)
        # unit speed: the arc length is z
        h = 1e-6
        speed = np.linalg.norm(w.arc_decoder(z + h, b) - w.arc_decoder(z - h, b), axis=-1) / (2 * h)
        assert np.allclose(speed, 1.0, atol=1e-6)
    assert np.allclose(w.arc_decoder(z, 0.0), np.stack([z, np.zeros_like(z)], -1))
    assert np.allclose(w.arc_decoder(z, 1e-9), w.arc_decoder(z, 0.0))
    assert w.arc_decoder(np.zeros((3, 4)), 1.0).shape == (3, 4, 2)


def test_log_joint_is_prior_plus_likelihood():
    x, z = np.array([0.3, 0.1]), 0.7
    expected = (gaussian_log_prob(np.array([z]), 0.0, 0.0)
                + gaussian_log_prob(x, w.arc_decoder(z, 1.5), 2 * np.log(0.3)))
    assert np.isclose(w.log_joint(x, z, 1.5, 0.3), expected)


@pytest.mark.parametrize("bend", [0.0, 1.0, 2.5])
def test_grid_posterior_is_normalised_and_obeys_bayes_rule(bend):
    x = w.arc_decoder(0.8, bend) + np.array([0.05, -0.02])
    post, log_px = w.grid_posterior(x, w.Z_GRID, bend, 0.2)
    assert np.isclose(np.sum(post) * DZ, 1.0)
    k = 600
    assert np.isclose(np.log(post[k]), w.log_joint(x, w.Z_GRID[k], bend, 0.2) - log_px)
    assert np.isclose(w.log_marginal_grid(x, w.Z_GRID, bend, 0.2), log_px)


def test_marginal_matches_the_linear_gaussian_formula_at_bend_zero():
    # f(z) = W z with W = (1, 0)^T: p(x) = N(0, W W^T + s^2 I) = N(0, diag(1 + s^2, s^2))
    s = 0.3
    x = np.array([[0.0, 0.0], [1.5, -0.2], [-0.7, 0.4]])
    exact = gaussian_log_prob(x, 0.0, np.log(np.array([1 + s**2, s**2])))
    assert np.allclose(w.log_marginal_grid(x, w.Z_GRID, 0.0, s), exact)


def test_marginal_integrates_to_one_over_the_data_space():
    g1, g2 = np.linspace(-2.5, 2.5, 101), np.linspace(-1.5, 3.0, 101)
    xx = np.stack(np.meshgrid(g1, g2), axis=-1)
    p = np.exp(w.log_marginal_grid(xx, np.linspace(-5, 5, 201), 1.0, 0.25))
    assert np.isclose(p.sum() * (g1[1] - g1[0]) * (g2[1] - g2[0]), 1.0, atol=1e-4)


def test_normalise_log_density_survives_huge_negative_logs():
    log_p = np.array([-1000.0, -1000.0 + np.log(3.0)])
    dens, log_norm = w.normalise_log_density(log_p, 0.5)
    assert np.allclose(dens, [0.5, 1.5])
    assert np.isclose(log_norm, -1000.0 + np.log(4.0 * 0.5))


def test_best_gaussian_fit_recovers_a_gaussian_posterior():
    # bend 0 is linear-Gaussian: the posterior is N(x1 / (1 + s^2), s^2 / (1 + s^2))
    s, x = 0.2, np.array([1.2, 0.0])
    post, log_px = w.grid_posterior(x, w.Z_GRID, 0.0, s)
    log_post = w.log_joint(x, w.Z_GRID, 0.0, s) - log_px
    m, sd, kl = w.best_gaussian_fit(w.Z_GRID, log_post)
    assert np.isclose(m, 1.2 / (1 + s**2), atol=1e-4)
    assert np.isclose(sd, np.sqrt(s**2 / (1 + s**2)), rtol=1e-3)
    assert abs(kl) < 1e-6


def test_best_gaussian_fit_beats_other_gaussians_on_a_bimodal_posterior():
    x = w.arc_decoder(1.2, 2.0)
    _, log_px = w.grid_posterior(x, w.Z_GRID, 2.0, 0.2)
    log_post = w.log_joint(x, w.Z_GRID, 2.0, 0.2) - log_px
    m, s, kl = w.best_gaussian_fit(w.Z_GRID, log_post)
    assert kl > 0.1
    rng = np.random.default_rng(0)
    others = w.gaussian_kl_to_grid(rng.uniform(-3, 3, 200), rng.uniform(0.1, 2.0, 200),
                                   w.Z_GRID, log_post)
    assert np.all(others >= kl - 1e-9)
    for dm, ds in [(0.01, 0), (-0.01, 0), (0, 0.005), (0, -0.005)]:
        assert w.gaussian_kl_to_grid(m + dm, s + ds, w.Z_GRID, log_post) >= kl - 1e-9


def test_gaussian_kl_to_grid_is_zero_for_the_same_gaussian_and_broadcasts():
    log_p = gaussian_log_prob(w.Z_GRID[:, None], 0.4, np.log(0.5**2))
    assert abs(w.gaussian_kl_to_grid(0.4, 0.5, w.Z_GRID, log_p)) < 1e-9
    assert w.gaussian_kl_to_grid(np.zeros((3, 1)), np.ones((1, 2)), w.Z_GRID, log_p).shape == (3, 2)
    # the closed form KL between two Gaussians
    m1, s1, m2, s2 = 0.4, 0.5, -0.3, 1.2
    log_p2 = gaussian_log_prob(w.Z_GRID[:, None], m2, np.log(s2**2))
    closed = np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    assert np.isclose(w.gaussian_kl_to_grid(m1, s1, w.Z_GRID, log_p2), closed)


def test_mc_relative_variance_matches_brute_force():
    x = np.array([0.4, -1.1, 0.9])
    rng = np.random.default_rng(1)
    z = rng.standard_normal((400_000, 3))
    lik = np.exp(gaussian_log_prob(x, z, 2 * np.log(0.5)))
    p = np.exp(gaussian_log_prob(x, 0.0, np.log(1.25)))
    assert np.isclose(lik.mean(), p, rtol=0.02)
    assert np.isclose(lik.var() / p**2, w.mc_relative_variance(x, 0.5), rtol=0.1)


def test_mc_dimension_experiment_shapes_and_trend():
    rows = w.mc_dimension_experiment([1, 3, 30], n_samples=200, repeats=20, seed=0)
    assert [r["d"] for r in rows] == [1, 3, 30]
    for r in rows:
        assert r["ratios"].shape == (20,) and np.allclose(np.log(r["ratios"]), r["log_ratios"])
    predicted = [r["predicted_rel_std"] for r in rows]
    assert predicted[0] < predicted[1] < predicted[2]
    assert abs(np.median(rows[0]["log_ratios"])) < 0.1
    assert np.median(rows[2]["log_ratios"]) < -5


def test_mc_dimension_experiment_is_reproducible():
    a = w.mc_dimension_experiment([2, 4], n_samples=100, repeats=5, seed=3)
    b = w.mc_dimension_experiment([2, 4], n_samples=100, repeats=5, seed=3)
    assert all(np.array_equal(r["ratios"], s["ratios"]) for r, s in zip(a, b))


@pytest.mark.parametrize("bend,noise", [(0.0, 0.2), (2.0, 0.2), (3.0, 0.05)])
def test_draw_posterior_returns_a_figure(bend, noise):
    fig = w.draw_posterior(z_true=-0.5, bend=bend, noise=noise)
    assert isinstance(fig, Figure)
    plt.close(fig)


# ----------------------------------------------------------------------------- exercises


def test_typical_mistakes_are_caught():
    def naive_posterior(log_joint, dz):  # exp(-1000) = 0, then 0 / 0
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            p = np.exp(log_joint)
            return p / (np.sum(p) * dz)
    assert not run_cases(get("ch03.grid_posterior"), naive_posterior).passed

    def forgets_dz(log_joint, dz):
        return ex.grid_posterior(log_joint, dz) * dz
    assert not run_cases(get("ch03.grid_posterior"), forgets_dz).passed

    def naive_log_mean(log_lik):
        with np.errstate(divide="ignore"):
            return np.log(np.mean(np.exp(log_lik)))
    assert not run_cases(get("ch03.mc_log_marginal"), naive_log_mean).passed

    def mean_of_logs(log_lik):  # Jensen: the mean of the logs is not the log of the mean
        return np.mean(log_lik)
    assert not run_cases(get("ch03.mc_log_marginal"), mean_of_logs).passed

    def sigma_is_exp_logvar(h):
        latent = h.shape[1] // 2
        return h[:, :latent], np.exp(h[:, latent:])
    assert not run_cases(get("ch03.encoder_gaussian"), sigma_is_exp_logvar).passed


def test_exercise_references_agree_with_the_library_and_widgets():
    from vaelite import VAE
    from vaelite.functional import logsumexp

    x = np.array([0.2, 0.9])
    lj = w.log_joint(x, w.Z_GRID, 2.0, 0.2)
    assert np.allclose(ex.grid_posterior(lj, DZ), w.grid_posterior(x, w.Z_GRID, 2.0, 0.2)[0])
    ll = np.random.default_rng(0).normal(-800.0, 3.0, size=50)
    assert np.isclose(ex.mc_log_marginal(ll), logsumexp(ll, axis=0) - np.log(50))
    model = VAE(input_dim=6, hidden=(5,), latent_dim=3, seed=0, dtype=np.float64)
    xb = np.random.default_rng(1).random((4, 6))
    h = model.encoder.forward(xb)
    mu, sigma = ex.encoder_gaussian(h)
    mu_lib, logvar = model.encode(xb)
    assert np.allclose(mu, mu_lib) and np.allclose(sigma, np.exp(0.5 * logvar))
