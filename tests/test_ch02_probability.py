"""Tests for chapter 2 (a probability toolkit): its widget functions and its exercises."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite.exercises import get, run_cases  # noqa: E402
from vaelite.exercises import ch02_probability as ex  # noqa: E402
from vaelite.widgets import ch02_probability as w  # noqa: E402


def test_normal_pdf_matches_the_formula_and_broadcasts():
    x = np.linspace(-3, 3, 7)
    expected = np.exp(-(x - 0.5) ** 2 / (2 * 0.8**2)) / np.sqrt(2 * np.pi * 0.8**2)
    assert np.allclose(w.normal_pdf(x, 0.5, 0.8), expected)
    grid = w.normal_pdf(x[:, None], np.array([0.0, 1.0])[None, :], 2.0)
    assert grid.shape == (7, 2)
    assert np.allclose(grid[:, 1], w.normal_pdf(x, 1.0, 2.0))


def test_normal_pdf_integrates_to_one():
    x = np.linspace(-30, 30, 60_001)
    for sigma in (0.1, 1.0, 4.0):
        assert np.isclose(np.sum(w.normal_pdf(x, 0.3, sigma)) * (x[1] - x[0]), 1.0)


def test_observations_are_fixed_and_scale_with_the_noise():
    a, b = w.observations(10, 1.0), w.observations(10, 2.0)
    assert np.array_equal(a, w.observations(10, 1.0))
    assert np.allclose(b - w.TRUE_MEAN, 2 * (a - w.TRUE_MEAN))
    assert w.observations(0).shape == (0,)
    with pytest.raises(ValueError):
        w.observations(10_000)


def test_disease_posterior():
    post, evidence = w.disease_posterior(0.01, 0.95, 0.05)
    assert np.isclose(evidence, 0.059)
    assert np.isclose(post, 0.0095 / 0.059)
    # a perfect test (no false positives) makes a positive result certain
    assert np.isclose(w.disease_posterior(0.01, 0.9, 0.0)[0], 1.0)
    # the posterior grows with the prior
    values = [w.disease_posterior(p)[0] for p in (0.001, 0.01, 0.1, 0.5)]
    assert np.all(np.diff(values) > 0)


def test_conjugate_posterior_limits():
    # no data: the posterior is the prior
    m, s = w.conjugate_gaussian_posterior(0.7, 1.3, 1.0, [])
    assert np.isclose(m, 0.7) and np.isclose(s, 1.3)
    # lots of data: the posterior mean goes to the sample mean, the std to sigma/sqrt(n)
    x = w.observations(64, 0.5)
    m, s = w.conjugate_gaussian_posterior(-3.0, 10.0, 0.5, x)
    assert abs(m - x.mean()) < 1e-3 and np.isclose(s, 0.5 / 8, rtol=1e-3)


@pytest.mark.parametrize("n", [0, 1, 5, 30])
def test_bayes_curves_grid_posterior_equals_the_closed_form(n):
    mu = np.linspace(-8, 8, 8001)
    dmu = mu[1] - mu[0]
    x = w.observations(n, 1.2)
    c = w.bayes_curves(mu, 0.5, 0.9, 1.2, x)
    assert np.isclose(np.sum(c["posterior"]) * dmu, 1.0)
    assert np.isclose(np.sum(c["prior"]) * dmu, 1.0)
    assert np.isclose(np.sum(c["likelihood"]) * dmu, 1.0)
    assert np.allclose(c["posterior"], c["exact"], atol=1e-8)
    # Bayes' rule rearranged gives the evidence at any mu
    m, s = w.conjugate_gaussian_posterior(0.5, 0.9, 1.2, x)
    lik = np.prod(w.normal_pdf(x, 0.0, 1.2))
    assert np.isclose(lik * w.normal_pdf(0.0, 0.5, 0.9) / w.normal_pdf(0.0, m, s),
                      c["evidence_grid"])


def test_draw_functions_return_figures():
    for fig in (w.draw_disease_test(0.02), w.draw_bayes_update(0.0, 1.0, 1.0, 0),
                w.draw_bayes_update(-1.0, 0.3, 0.5, 64)):
        assert isinstance(fig, Figure)
        plt.close(fig)


# ----------------------------------------------------------------------------- exercises


def test_typical_mistakes_are_caught():
    def naive_log_pdf(x, mu, sigma):  # the log of the density: -inf in the tail
        with np.errstate(divide="ignore"):
            return np.log(np.exp(-(x - mu) ** 2 / (2 * sigma**2)) / np.sqrt(2 * np.pi * sigma**2))
    assert not run_cases(get("ch02.normal_log_pdf"), naive_log_pdf).passed

    def unnormalised(prior, likelihood):  # forgets the evidence
        return prior * likelihood
    assert not run_cases(get("ch02.discrete_posterior"), unnormalised).passed

    def stds_not_variances(m0, v0, v, x):  # adds standard deviations instead of precisions
        return ex.gaussian_posterior(m0, np.sqrt(v0), np.sqrt(v), x)
    assert not run_cases(get("ch02.gaussian_posterior"), stds_not_variances).passed


def test_exercise_references_agree_with_the_widget_functions():
    x = w.observations(7, 0.8)
    m, s = w.conjugate_gaussian_posterior(0.2, 1.5, 0.8, x)
    pm, pv = ex.gaussian_posterior(0.2, 1.5**2, 0.8**2, x)
    assert np.isclose(pm, m) and np.isclose(pv, s**2)
    post = ex.discrete_posterior(np.array([0.01, 0.99]), np.array([0.95, 0.05]))
    assert np.isclose(post[0], w.disease_posterior(0.01)[0])
    xs = np.linspace(-4, 4, 9)
    assert np.allclose(np.exp(ex.normal_log_pdf(xs, 0.1, 0.7)), w.normal_pdf(xs, 0.1, 0.7))
