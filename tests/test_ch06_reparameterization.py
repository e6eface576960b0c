"""Tests of chapter 6's widget functions and exercises (the reparameterization trick)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite.exercises import ch06_reparameterization as ex  # noqa: E402
from vaelite.exercises import get, run_cases  # noqa: E402
from vaelite.widgets import ch06_reparameterization as w  # noqa: E402

NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(20)
WEIGHTS = WEIGHTS / WEIGHTS.sum()  # sum_k w_k g(t_k) = E[g(eps)], exact for polynomials


def expect(g):
    return float(np.sum(WEIGHTS * g(NODES)))


@pytest.mark.parametrize("mu, sigma", [(0.5, 0.8), (2.0, 0.3), (-1.0, 1.7)])
def test_estimators_are_unbiased_and_variances_match_formulas(mu, sigma):
    exact = dict(zip(["mu", "sigma"], w.true_grads(mu, sigma)))
    variances = w.single_sample_variances(mu, sigma)
    b = w.expected_f(mu, sigma)
    for key, base in [("pathwise_mu", 0.0), ("score_mu", 0.0), ("score_baseline_mu", b),
                      ("pathwise_sigma", 0.0), ("score_sigma", 0.0),
                      ("score_baseline_sigma", b)]:
        est_key = key.replace("_baseline", "")

        def one(e):
            return w.estimates(mu, sigma, e[:, None], baseline=base)[est_key]

        mean = expect(one)
        assert np.isclose(mean, exact[key.rsplit("_", 1)[1]])
        assert np.isclose(expect(lambda e: one(e) ** 2) - mean**2, variances[key])


def test_expected_f_matches_quadrature():
    assert np.isclose(expect(lambda e: (0.5 + 0.8 * e - w.C) ** 2), w.expected_f(0.5, 0.8))


def test_estimates_average_over_the_last_axis():
    eps = np.random.default_rng(0).standard_normal((5, 7))
    out = w.estimates(0.1, 0.9, eps)
    assert all(v.shape == (5,) for v in out.values())
    z = 0.1 + 0.9 * eps
    assert np.allclose(out["pathwise_mu"], np.mean(2 * (z - w.C), axis=1))


def test_monte_carlo_variance_falls_like_one_over_n():
    rng = np.random.default_rng(1)
    v1 = w.single_sample_variances(0.5, 0.8)["pathwise_mu"]
    for n in (1, 16):
        est = w.estimates(0.5, 0.8, rng.standard_normal((20000, n)))["pathwise_mu"]
        assert abs(est.var() * n / v1 - 1) < 0.05


@pytest.mark.parametrize("baseline", [False, True])
def test_draw_estimators_returns_a_figure(baseline):
    fig = w.draw_estimators(mu=0.5, sigma=0.3, n=4, baseline=baseline, repeats=200)
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_xlabel()
    plt.close(fig)


def test_draw_estimators_rejects_bad_inputs():
    with pytest.raises(ValueError):
        w.draw_estimators(sigma=0.0)
    with pytest.raises(ValueError):
        w.draw_estimators(n=0)


def test_exercise_answers_converge_to_the_exact_gradients():
    rng = np.random.default_rng(2)
    mu, logvar = 0.3, -0.4
    s2 = np.exp(logvar)
    d_mu, d_logvar = ex.exp_pathwise_grads(mu, logvar, rng.standard_normal(400_000))
    assert np.isclose(d_mu, np.exp(mu + s2 / 2), rtol=1e-2)
    assert np.isclose(d_logvar, np.exp(mu + s2 / 2) * s2 / 2, rtol=2e-2)
    lam = 1.5
    assert np.isclose(ex.exponential_pathwise(lam, rng.random(400_000)), -4 / lam**3, rtol=2e-2)
    # the leave-one-out baseline keeps REINFORCE unbiased: average many small estimates
    eps = rng.standard_normal((100_000, 4))
    f = (0.5 + 0.8 * eps - w.C) ** 2
    loo = np.mean([ex.reinforce_loo(fi, ei, 0.8) for fi, ei in zip(f[:20000], eps[:20000])])
    assert abs(loo - w.true_grads(0.5, 0.8)[0]) < 0.1


def test_wrong_answers_are_caught():
    # forgetting dz/dlogvar = eps * sigma / 2 (using eps alone) must fail
    def wrong(mu, logvar, eps):
        z = mu + np.exp(0.5 * logvar) * eps
        return np.mean(np.exp(z)), np.mean(np.exp(z) * eps)
    assert not run_cases(get("ch06.exp_pathwise"), wrong).passed

    # a baseline that includes the sample itself (the plain batch mean) is a different number
    def batch_mean_baseline(f, eps, sigma):
        return np.mean((f - f.mean()) * eps / sigma)
    assert not run_cases(get("ch06.reinforce_loo"), batch_mean_baseline).passed
