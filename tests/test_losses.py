"""Losses: gradients against finite differences, golden values, properties (hypothesis) and
numerical stability. Convention: sum over data/latent dimensions, mean over the batch."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vaelite import gradcheck, losses

from vaelite.gradcheck import assert_gradients_ok

LOG_2PI = np.log(2 * np.pi)
def rng(seed=0):
    return np.random.default_rng(seed)


# --- gradient checks (float64) -----------------------------------------------------------------

@pytest.mark.parametrize("binary", [True, False])
def test_bernoulli_nll_gradcheck(binary, backend):
    logits = 2 * rng(1).standard_normal((5, 12))
    x = rng(2).random((5, 12))
    x = (x > 0.5).astype(np.float64) if binary else x
    value, dlogits = losses.bernoulli_nll(logits, x)
    assert dlogits.shape == logits.shape
    errors = gradcheck.check_gradients(lambda: losses.bernoulli_nll(logits, x)[0],
                                       [("logits", logits, dlogits)])
    assert_gradients_ok(errors)


@pytest.mark.parametrize("logvar_shape", [(), (12,), (5, 12)], ids=["scalar", "dim", "batch_dim"])
def test_gaussian_nll_gradcheck(logvar_shape, backend):
    mean = rng(1).standard_normal((5, 12))
    x = rng(2).standard_normal((5, 12))
    logvar = np.asarray(0.5 * rng(3).standard_normal(logvar_shape))  # an array even for ()
    value, dmean, dlogvar = losses.gaussian_nll(mean, x, logvar)
    assert dmean.shape == mean.shape
    assert np.shape(dlogvar) == logvar_shape
    errors = gradcheck.check_gradients(
        lambda: losses.gaussian_nll(mean, x, logvar)[0],
        [("mean", mean, dmean), ("logvar", logvar, np.asarray(dlogvar))])
    assert_gradients_ok(errors)


def test_kl_normal_gradcheck(backend):
    mu = rng(1).standard_normal((5, 3))
    logvar = rng(2).standard_normal((5, 3))
    value, dmu, dlogvar = losses.kl_normal(mu, logvar)
    errors = gradcheck.check_gradients(lambda: losses.kl_normal(mu, logvar)[0],
                                       [("mu", mu, dmu), ("logvar", logvar, dlogvar)])
    assert_gradients_ok(errors)


# --- golden values -----------------------------------------------------------------------------

def test_kl_golden_values():
    # KL(N(2, 1) || N(0, 1)) = mu^2 / 2 = 2
    value, _, _ = losses.kl_normal(np.array([[2.0]]), np.array([[0.0]]))
    assert value == pytest.approx(2.0, abs=1e-12)
    # KL(N(0, sigma^2) || N(0, 1)) with log sigma = 1, logvar = 2: (e^2 - 1 - 2) / 2 = 2.194528
    value, _, _ = losses.kl_normal(np.array([[0.0]]), np.array([[2.0]]))
    assert value == pytest.approx(2.194528, abs=1e-6)
    assert value == pytest.approx(0.5 * (np.exp(2) - 3), rel=1e-14)
    # dimensions add up, the batch is averaged
    value, _, _ = losses.kl_normal(np.array([[2.0, 0.0], [2.0, 0.0]]),
                                   np.array([[0.0, 2.0], [0.0, 2.0]]))
    assert value == pytest.approx(2.0 + 0.5 * (np.exp(2) - 3), rel=1e-14)


def test_kl_zero_at_prior():
    value, dmu, dlogvar = losses.kl_normal(np.zeros((4, 3)), np.zeros((4, 3)))
    assert value == 0
    assert np.all(dmu == 0) and np.all(dlogvar == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_golden_half_prediction(dtype, backend):
    """Logits 0 predict 0.5 everywhere: NLL = 784 log 2 per image, whatever the binary image."""
    x = (rng().random((3, 784)) < rng(1).random((3, 1))).astype(dtype)  # varied densities
    x[0] = 0
    x[1] = 1
    value, dlogits = losses.bernoulli_nll(np.zeros((3, 784), dtype), x)
    assert value == pytest.approx(784 * np.log(2), rel=1e-6)
    np.testing.assert_allclose(losses.bernoulli_log_prob(np.zeros((3, 784), dtype), x),
                               -784 * np.log(2), rtol=1e-6)
    np.testing.assert_allclose(dlogits, (0.5 - x) / 3, rtol=1e-6)


def test_gaussian_nll_is_scaled_squared_error():
    mean = rng(1).standard_normal((4, 10))
    x = rng(2).standard_normal((4, 10))
    for logvar in (0.0, np.log(0.1**2)):
        value, dmean, _ = losses.gaussian_nll(mean, x, logvar)
        sq = np.sum((x - mean) ** 2, axis=1).mean()
        expected = 0.5 * np.exp(-logvar) * sq + 0.5 * 10 * (LOG_2PI + logvar)
        assert value == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(dmean, np.exp(-logvar) * (mean - x) / 4, rtol=1e-12)


def test_nll_values_match_log_probs(backend):
    logits = rng(1).standard_normal((5, 12))
    x = rng(2).random((5, 12))
    assert losses.bernoulli_nll(logits, x)[0] == pytest.approx(
        -np.mean(losses.bernoulli_log_prob(logits, x)), rel=1e-14)
    # the Bernoulli log-probability from its definition
    p = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(losses.bernoulli_log_prob(logits, x),
                               np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=1), rtol=1e-12)
    logvar = rng(3).standard_normal(12)
    assert losses.gaussian_nll(logits, x, logvar)[0] == pytest.approx(
        -np.mean(losses.gaussian_log_prob(x, logits, logvar)), rel=1e-14)


def test_batch_convention_mean_over_batch_sum_over_dims():
    """Repeating the batch changes nothing; doubling the dimensions doubles the value."""
    logits = rng(1).standard_normal((3, 12))
    x = (rng(2).random((3, 12)) > 0.5).astype(float)
    v1 = losses.bernoulli_nll(logits, x)[0]
    assert losses.bernoulli_nll(np.tile(logits, (4, 1)), np.tile(x, (4, 1)))[0] == pytest.approx(v1)
    assert losses.bernoulli_nll(np.tile(logits, 2), np.tile(x, 2))[0] == pytest.approx(2 * v1)
    mu, logvar = rng(3).standard_normal((3, 4)), rng(4).standard_normal((3, 4))
    k1 = losses.kl_normal(mu, logvar)[0]
    assert losses.kl_normal(np.tile(mu, (5, 1)), np.tile(logvar, (5, 1)))[0] == pytest.approx(k1)
    assert losses.kl_normal(np.tile(mu, 2), np.tile(logvar, 2))[0] == pytest.approx(2 * k1)


# --- properties (hypothesis) -------------------------------------------------------------------

def latent_arrays(min_value, max_value):
    return hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5)),
                      elements=st.floats(min_value, max_value, allow_nan=False))


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_kl_nonnegative_and_zero_only_at_prior(data):
    mu = data.draw(latent_arrays(-10, 10))
    logvar = data.draw(hnp.arrays(np.float64, mu.shape,
                                  elements=st.floats(-20, 20, allow_nan=False)))
    value = losses.kl_normal(mu, logvar)[0]
    assert value >= 0
    if np.all(mu == 0) and np.all(logvar == 0):
        assert value == 0
    elif np.max(np.abs(mu)) > 1e-150 or np.max(np.abs(logvar)) > 1e-12:
        # off the prior by more than rounding: mu^2 / 2 does not underflow, and
        # expm1(l) - l ~ l^2 / 2 is above one ulp of l
        assert value > 0


@settings(max_examples=100, deadline=None)
@given(mu=st.floats(-1, 1), logvar=st.floats(-1e-3, 1e-3))
def test_kl_nonnegative_near_the_prior(mu, logvar):
    """Near logvar = 0 the form exp(l) - 1 - l cancels; the KL must still not go negative."""
    for dtype in (np.float32, np.float64):
        value = losses.kl_normal(np.array([[mu]], dtype), np.array([[logvar]], dtype))[0]
        assert value >= 0


@settings(max_examples=25, deadline=None)
@given(mu=latent_arrays(-3, 3), seed=st.integers(0, 2**32 - 1), logvar_scale=st.floats(0, 2))
def test_kl_monte_carlo_converges_to_closed_form(mu, seed, logvar_scale):
    r = np.random.default_rng(seed)
    logvar = logvar_scale * r.standard_normal(mu.shape)
    exact = losses.kl_normal(mu, logvar)[0]
    n = 20_000
    z = mu + np.exp(0.5 * logvar) * r.standard_normal((n, *mu.shape))
    estimate = losses.kl_monte_carlo(mu, logvar, z)
    # per-sample terms log q - log p have a finite variance: a 6 standard-error band
    terms = (losses.normal_log_prob(z, mu, logvar) - losses.normal_log_prob(z, 0.0, 0.0))
    stderr = terms.mean(axis=1).std() / np.sqrt(n)
    assert abs(estimate - exact) <= 6 * stderr + 1e-9


def test_kl_monte_carlo_error_shrinks_with_samples():
    mu = np.array([[1.0, -0.5, 0.2]])
    logvar = np.array([[0.3, -1.0, 0.5]])
    exact = losses.kl_normal(mu, logvar)[0]
    r = rng(7)
    errors = []
    for n in (100, 100_000):
        z = mu + np.exp(0.5 * logvar) * r.standard_normal((n, 1, 3))
        errors.append(abs(losses.kl_monte_carlo(mu, logvar, z) - exact))
    assert errors[1] < 0.02
    assert errors[1] < errors[0]
    # one sample per example is also accepted: z of shape (batch, latent)
    z = mu + np.exp(0.5 * logvar) * r.standard_normal((1, 3))
    assert np.isfinite(losses.kl_monte_carlo(mu, logvar, z))


@settings(max_examples=100, deadline=None)
@given(logits=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 20)),
                         elements=st.floats(-1e4, 1e4)),
       data=st.data())
def test_bernoulli_nll_nonnegative_for_binary_x(logits, data):
    x = data.draw(hnp.arrays(np.float64, logits.shape, elements=st.sampled_from([0.0, 1.0])))
    for dtype in (np.float64, np.float32):
        value = losses.bernoulli_nll(logits.astype(dtype), x.astype(dtype))[0]
        assert np.isfinite(value) and value >= 0


# --- stability -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_nll_huge_logits(dtype, backend):
    logits = np.array([[1e4, -1e4, 1e4, -1e4, 0.0]], dtype)
    x = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, dlogits = losses.bernoulli_nll(logits, x)
    assert np.isfinite(value) and np.all(np.isfinite(dlogits))
    assert dlogits.dtype == dtype
    # right and confident: 0; wrong and confident: 1e4 nats each; logit 0: log 2
    assert value == pytest.approx(2e4 + np.log(2), rel=1e-6)
    np.testing.assert_allclose(dlogits, [[0.0, 0.0, 1.0, -1.0, -0.5]], atol=1e-30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("logvar_value", [-80.0, -30.0, 0.0, 30.0, 80.0])
def test_kl_and_gaussian_nll_finite_for_wide_logvar(dtype, logvar_value, backend):
    """float32 exp overflows above logvar ~ 88.7; [-80, 80] stays finite for a
    realistic (64, 20) latent batch and a (16, 784) image batch with |x - mean| <= 1."""
    r = rng()
    mu = r.standard_normal((64, 20)).astype(dtype)
    logvar = np.full((64, 20), logvar_value, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, dmu, dlogvar = losses.kl_normal(mu, logvar)
        assert np.isfinite(value) and np.all(np.isfinite(dmu)) and np.all(np.isfinite(dlogvar))
        x = r.random((16, 784)).astype(dtype)
        mean = r.random((16, 784)).astype(dtype)
        for shape in [(), (784,), (16, 784)]:
            lv = np.full(shape, logvar_value, dtype)
            value, dmean, dlv = losses.gaussian_nll(mean, x, lv)
            assert np.isfinite(value), shape
            assert np.all(np.isfinite(dmean)) and np.all(np.isfinite(dlv)), shape
            assert dmean.dtype == dtype and np.asarray(dlv).dtype == dtype


def test_gradient_dtypes_follow_inputs():
    for dtype in (np.float32, np.float64):
        a = rng().standard_normal((3, 5)).astype(dtype)
        b = rng(1).random((3, 5)).astype(dtype)
        assert losses.bernoulli_nll(a, b)[1].dtype == dtype
        _, dmean, dlv = losses.gaussian_nll(a, b, np.zeros(5, dtype))
        assert dmean.dtype == dtype and dlv.dtype == dtype and dlv.shape == (5,)
        _, dmu, dlv = losses.kl_normal(a, b)
        assert dmu.dtype == dtype and dlv.dtype == dtype


def test_gaussian_terms_stay_in_float32():
    x = np.zeros((2, 3), np.float32)
    assert losses.gaussian_log_prob(x, x, np.float32(0.0)).dtype == np.float32
    value, dmean, dlogvar = losses.gaussian_nll(x, x, np.zeros(3, np.float32))
    assert dmean.dtype == np.float32 and dlogvar.dtype == np.float32
