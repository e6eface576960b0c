"""Tests of chapter 10's helpers, figures and exercises (measuring a VAE)."""
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite import VAE, evaluate  # noqa: E402
from vaelite.exercises import ch10_measuring as ex  # noqa: E402
from vaelite.exercises import get, run_cases  # noqa: E402
from vaelite.widgets import ch10_measuring as w  # noqa: E402


# ----------------------------------------------------------------------------- log_mean_exp

def test_log_mean_exp_matches_the_naive_formula_on_moderate_values():
    a = np.random.default_rng(0).normal(size=(7, 3))
    assert np.allclose(w.log_mean_exp(a, axis=0), np.log(np.mean(np.exp(a), axis=0)))
    assert np.allclose(w.log_mean_exp(a, axis=1), np.log(np.mean(np.exp(a), axis=1)))


def test_log_mean_exp_neither_overflows_nor_underflows():
    assert np.isclose(w.log_mean_exp(np.array([1000.0, 1000.0 + math.log(3)])),
                      1000.0 + math.log(2))
    assert np.isclose(w.log_mean_exp(np.array([-1000.0, -1000.0 + math.log(3)])),
                      -1000.0 + math.log(2))
    assert w.log_mean_exp(np.array([-np.inf, -np.inf])) == -np.inf
    assert w.log_mean_exp(np.array([-np.inf, 0.0])) == pytest.approx(math.log(0.5))


# ----------------------------------------------------------------------------- iw_bounds

def test_iw_bounds_of_k_1_and_k_m_are_the_weights_and_the_pool_log_mean_exp():
    log_w = np.random.default_rng(1).normal(-100, 3, size=(12, 4))
    assert np.allclose(w.iw_bounds(log_w, 1), log_w)
    assert np.allclose(w.iw_bounds(log_w, 12)[0], w.log_mean_exp(log_w))
    groups = w.iw_bounds(log_w, 3)
    assert groups.shape == (4, 4)
    assert np.allclose(groups[1], w.log_mean_exp(log_w[3:6]))  # consecutive draws


@pytest.mark.parametrize("k", [0, 5, -1])
def test_iw_bounds_needs_a_divisor(k):
    with pytest.raises(ValueError, match="k must divide"):
        w.iw_bounds(np.zeros(12), k)


def test_the_bound_grows_with_k_towards_the_lognormal_mean():
    s = 1.0
    log_w = -50.0 + s * np.random.default_rng(2).standard_normal(400_000)
    truth = w.lognormal_log_mean(-50.0, s)
    gaps = [truth - w.iw_bounds(log_w, k).mean() for k in (1, 10, 100)]
    assert np.isclose(gaps[0], s ** 2 / 2, atol=0.01)  # E[L_1] = E[log w] = m
    assert gaps[0] > gaps[1] > gaps[2] > 0
    assert abs(gaps[2] / w.lognormal_gap(s, 100) - 1) < 0.3  # the large-k Taylor gap


def test_lognormal_gap_formula():
    assert w.lognormal_gap(1.0, 1) == pytest.approx((math.e - 1) / 2)
    assert w.lognormal_gap(2.0, 10) == pytest.approx(math.expm1(4) / 20)
    assert w.lognormal_log_mean(1.0, 2.0) == 3.0


def test_resampled_bounds_are_reproducible_and_come_from_the_pool():
    pool = np.random.default_rng(3).normal(-20, 2, size=500)
    one = w.resampled_bounds(pool, 1, repeats=50, seed=4)
    assert one.shape == (50,) and np.all(np.isin(one, pool))
    assert np.array_equal(w.resampled_bounds(pool, 10, 20, seed=5),
                          w.resampled_bounds(pool, 10, 20, seed=5))
    assert w.resampled_bounds(pool, 100, 200).mean() > w.resampled_bounds(pool, 1, 200).mean()


# ----------------------------------------------------------------------------- a real model

def test_log_weights_pool_agrees_with_the_library_estimate():
    model = VAE(input_dim=12, hidden=(8,), latent_dim=3, seed=0, dtype=np.float64)
    x = (np.random.default_rng(6).random((7, 12)) < 0.4).astype(np.float64)
    pool = w.log_weights(model, x, 30, rng=7, batch_size=3, chunk=10)
    assert pool.shape == (30, 7) and pool.dtype == np.float64
    # the same draws in the same order as evaluate.log_likelihood with the same chunks
    _, values = evaluate.log_likelihood(model, x, 30, rng=np.random.default_rng(7),
                                        batch_size=3, sample_chunk=10, per_example=True)
    assert np.allclose(w.log_mean_exp(pool), values)
    # and the mean log-weight estimates the ELBO
    elbo = -evaluate.elbo(model, np.repeat(x, 2000, axis=0), 8)["nelbo"]
    big = w.log_weights(model, x, 2000, rng=9)
    assert abs(big.mean() - elbo) < 4 * big.std() / math.sqrt(big.size) + 0.05


def test_bits_per_dim_and_standard_error():
    assert w.bits_per_dim(784 * math.log(2)) == pytest.approx(1.0)
    assert w.bits_per_dim(3 * math.log(2), n_dims=3) == pytest.approx(1.0)
    assert w.standard_error([1.0, 3.0]) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- figures

def test_draw_bound_vs_k_returns_a_figure_with_one_or_two_panels():
    fig = w.draw_bound_vs_k([1, 10, 100], [-120, -116, -115], -120, n_images=5)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    plt.close(fig)
    fig = w.draw_bound_vs_k([1, 10], [-120, -116], -120, gains=[0.0, 4.0], gain_ses=[0.3, 0.2])
    assert len(fig.axes) == 2 and fig.axes[1].get_xscale() == "log"
    plt.close(fig)


def test_draw_kl_dimensions_counts_the_active_units():
    fig = w.draw_kl_dimensions(np.array([1.0, 0.0, 0.5]), np.array([0.5, 1e-4, 0.2]))
    assert isinstance(fig, Figure)
    assert "2 of 3 units active" in fig.axes[1].get_title()
    plt.close(fig)


@pytest.mark.parametrize("k", [1, 50])
def test_draw_log_weights_returns_a_figure(k):
    pool = np.random.default_rng(10).normal(-100, 4, size=2000)
    fig = w.draw_log_weights(pool, k, repeats=50, label="a test digit")
    assert isinstance(fig, Figure) and f"k = {k}" in fig.axes[1].get_title()
    plt.close(fig)


def test_draw_log_weights_rejects_k_below_one():
    with pytest.raises(ValueError):
        w.draw_log_weights(np.zeros(10), 0)


# ----------------------------------------------------------------------------- exercises

def test_exercise_references_agree_with_the_library():
    rng = np.random.default_rng(11)
    log_w = rng.normal(-150, 10, size=60)
    assert np.isclose(ex.log_mean_exp(log_w), w.log_mean_exp(log_w))
    for k in (1, 4, 60):
        assert np.isclose(ex.iw_bound(log_w, k), w.iw_bounds(log_w, k).mean())
    a, b = rng.normal(-120, 30, size=50), rng.normal(-125, 30, size=50)
    assert np.allclose(ex.paired_difference(a, b), ((a - b).mean(), w.standard_error(a - b)))
    model = VAE(input_dim=10, hidden=(6,), latent_dim=4, seed=1)
    x = (rng.random((40, 10)) < 0.5).astype(np.float32)
    mu, _ = model.encode(x)
    assert ex.count_active_units(mu, 0.01) == evaluate.active_units(model, x, 0.01)


def test_typical_mistakes_fail():
    def naive(log_w):                      # overflows / underflows at +-1000
        return float(np.log(np.mean(np.exp(log_w))))
    assert not run_cases(get("ch10.log_mean_exp"), naive).passed

    def mean_not_log_mean_exp(log_w, k):   # the ELBO estimate for every k
        return float(np.mean(log_w))
    assert not run_cases(get("ch10.iw_bound"), mean_not_log_mean_exp).passed

    def log_of_group_means_of_logs(log_w, k):  # averages log w inside the groups
        return float(np.mean(np.reshape(log_w, (-1, k)).mean(axis=1)))
    assert not run_cases(get("ch10.iw_bound"), log_of_group_means_of_logs).passed

    def unpaired(a, b):                    # the spread between images does not cancel
        se = np.hypot(np.std(a, ddof=1), np.std(b, ddof=1)) / np.sqrt(len(a))
        return float(np.mean(a) - np.mean(b)), float(se)
    assert not run_cases(get("ch10.paired_difference"), unpaired).passed

    def population_sd(a, b):               # ddof=0
        d = a - b
        return float(np.mean(d)), float(np.std(d) / np.sqrt(len(d)))
    assert not run_cases(get("ch10.paired_difference"), population_sd).passed

    def sample_variance(mu, threshold):    # divides by n - 1
        return int(np.sum(np.var(mu, axis=0, ddof=1) > threshold))
    assert not run_cases(get("ch10.active_units"), sample_variance).passed

    def at_least(mu, threshold):
        return int(np.sum(np.var(mu, axis=0) >= threshold))
    assert not run_cases(get("ch10.active_units"), at_least).passed
