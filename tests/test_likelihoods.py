"""Decoder likelihoods p(x|z): gradients (incl. learned variances), values, means and samples."""
import numpy as np
import pytest

from vaelite import gradcheck, losses
from vaelite.likelihoods import Bernoulli, Gaussian, make_likelihood

from vaelite.gradcheck import assert_gradients_ok

LOG_2PI = np.log(2 * np.pi)


def rng(seed=0):
    return np.random.default_rng(seed)


def check_likelihood(lik, out, x):
    """Gradcheck of lik.nll wrt the decoder output and every parameter of the likelihood."""
    value, dout = lik.nll(out, x)
    triples = [("out", out, dout)] + [(n, p, g.copy()) for n, p, g in lik.parameters()]
    return gradcheck.check_gradients(lambda: lik.nll(out, x)[0], triples)


def test_bernoulli_gradcheck():
    out = 2 * rng(1).standard_normal((5, 12))
    x = (rng(2).random((5, 12)) > 0.5).astype(np.float64)
    errors = check_likelihood(Bernoulli(), out, x)
    assert set(errors) == {"out"}
    assert_gradients_ok(errors)


@pytest.mark.parametrize("variance,sigma", [("fixed", 1.0), ("fixed", 0.3), ("global", 1.0),
                                            ("global", 0.5), ("pixel", 1.0), ("pixel", 2.0)])
def test_gaussian_gradcheck(variance, sigma):
    lik = Gaussian(12, variance, sigma, dtype=np.float64)
    if variance != "fixed":  # move the learned log-variance away from its constant start
        lik.params["logvar"][...] = 0.3 * rng(4).standard_normal(lik.params["logvar"].shape)
    out = rng(1).standard_normal((5, 12))
    x = rng(2).standard_normal((5, 12))
    errors = check_likelihood(lik, out, x)
    expected = {"out"} if variance == "fixed" else {"out", "logvar"}
    assert set(errors) == expected
    assert_gradients_ok(errors)


def test_gaussian_parameters_and_shapes():
    assert Gaussian(12, "fixed").parameters() == []
    (name, p, g), = Gaussian(12, "global", dtype=np.float64).parameters("likelihood.")
    assert name == "likelihood.logvar" and p.shape == () and g.shape == () and p.dtype == np.float64
    (name, p, g), = Gaussian(12, "pixel", sigma=0.5).parameters()
    assert p.shape == (12,) and p.dtype == np.float32
    np.testing.assert_allclose(p, 2 * np.log(0.5), rtol=1e-6)


@pytest.mark.parametrize("variance", ["global", "pixel"])
def test_gaussian_nll_overwrites_logvar_grad_in_place(variance):
    lik = Gaussian(12, variance, dtype=np.float64)
    held = lik.grads["logvar"]
    out, x = rng(1).standard_normal((5, 12)), rng(2).standard_normal((5, 12))
    lik.nll(out, x)
    first = held.copy()
    lik.nll(out, x)
    assert lik.grads["logvar"] is held
    np.testing.assert_allclose(held, first, rtol=1e-12)
    assert np.any(held != 0)


def test_values_match_losses_and_log_prob():
    out = rng(1).standard_normal((5, 12))
    x = rng(2).random((5, 12))
    b = Bernoulli()
    assert b.nll(out, x)[0] == pytest.approx(losses.bernoulli_nll(out, x)[0], rel=1e-14)
    assert b.nll(out, x)[0] == pytest.approx(-np.mean(b.log_prob(out, x)), rel=1e-14)
    assert b.log_prob(out, x).shape == (5,)
    for variance in Gaussian.VARIANCES:
        g = Gaussian(12, variance, sigma=0.7, dtype=np.float64)
        value = g.nll(out, x)[0]
        assert value == pytest.approx(-np.mean(g.log_prob(out, x)), rel=1e-14)
        expected = (0.5 * np.sum((x - out) ** 2, axis=1).mean() / 0.7**2
                    + 0.5 * 12 * (LOG_2PI + 2 * np.log(0.7)))
        assert value == pytest.approx(expected, rel=1e-12)


def test_means_and_samples():
    out = np.array([[-1e4, 0.0, 1e4]] * 4000)
    b = Bernoulli()
    np.testing.assert_allclose(b.mean(out[:1]), [[0.0, 0.5, 1.0]])
    s = b.sample(out, rng())
    assert s.shape == out.shape and set(np.unique(s)) <= {0.0, 1.0}
    assert np.all(s[:, 0] == 0) and np.all(s[:, 2] == 1)
    assert abs(s[:, 1].mean() - 0.5) < 0.03
    g = Gaussian(3, "fixed", sigma=0.5, dtype=np.float64)
    mean = np.tile([[0.0, 1.0, -2.0]], (20000, 1))
    assert g.mean(mean) is mean
    s = g.sample(mean, rng())
    assert s.shape == mean.shape and s.dtype == np.float64
    np.testing.assert_allclose(s.mean(axis=0), [0, 1, -2], atol=0.02)
    np.testing.assert_allclose(s.std(axis=0), 0.5, rtol=0.03)
    s32 = Gaussian(3, "pixel", sigma=2.0).sample(mean.astype(np.float32), rng())
    assert s32.dtype == np.float32
    np.testing.assert_allclose(s32.std(axis=0), 2.0, rtol=0.03)


def test_make_likelihood_and_errors():
    assert isinstance(make_likelihood("bernoulli", 12), Bernoulli)
    g = make_likelihood("gaussian", 12, "pixel", 0.5)
    assert isinstance(g, Gaussian) and g.variance == "pixel" and g.sigma == 0.5
    assert g.config() == {"likelihood": "gaussian", "variance": "pixel", "sigma": 0.5}
    assert Bernoulli().config() == {"likelihood": "bernoulli"}
    assert Bernoulli.needs_unit_interval and not Gaussian.needs_unit_interval
    with pytest.raises(ValueError, match="unknown likelihood 'poisson'"):
        make_likelihood("poisson", 12)
    with pytest.raises(ValueError, match="unknown Gaussian variance 'diag'"):
        Gaussian(12, "diag")
    for sigma in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
            Gaussian(12, "fixed", sigma)
