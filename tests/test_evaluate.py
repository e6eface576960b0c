"""Tests of vaelite.evaluate: ELBO, importance-weighted log-likelihood, active units."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from vaelite import VAE, Autoencoder
from vaelite.data import load_mnist
from vaelite.evaluate import (active_units, elbo, kl_per_dimension, latent_activity,
                              log_likelihood, nll, with_nelbo)
from vaelite.train import fit, prepare_test_images


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


@pytest.fixture(scope="module")
def x_test(mnist):
    return prepare_test_images(mnist.x_test[:100], "dynamic")  # 100 binary test digits


@pytest.fixture(scope="module")
def trained(mnist):
    """A small VAE after one epoch on 1,000 digits: far from the prior, so the bounds differ."""
    model = VAE(hidden=(64,), latent_dim=8, seed=0)
    fit(model, mnist.x_train[:1000], 2, batch_size=64, progress=False)
    return model


def test_elbo_is_the_model_loss_averaged_over_batches(trained, x_test):
    one = elbo(trained, x_test, 5, batch_size=1000)
    direct = trained.loss(x_test, np.random.default_rng(5))
    assert {k: one[k] for k in direct} == pytest.approx(direct, rel=1e-6)
    assert one["nelbo"] == pytest.approx(direct["recon"] + direct["kl"], rel=1e-6)
    # batches of unequal size are weighted by their size (deterministic model: exact)
    ae = Autoencoder(hidden=(16,), latent_dim=3)
    assert elbo(ae, x_test, 0, batch_size=7)["loss"] == pytest.approx(ae.loss(x_test)["loss"],
                                                                      rel=1e-5)


def test_nelbo_ignores_beta():
    assert with_nelbo({"loss": 14.0, "recon": 10.0, "kl": 1.0})["nelbo"] == 11.0
    assert with_nelbo({"loss": 3.0, "recon": 3.0}) == {"loss": 3.0, "recon": 3.0}


def test_log_likelihood_matches_a_direct_float64_computation(x_test):
    model = VAE(hidden=(12,), latent_dim=3, seed=1, dtype=np.float64)
    x, k = x_test[:5].astype(np.float64), 7
    mean, values = log_likelihood(model, x, k, rng=np.random.default_rng(3), per_example=True)

    rng = np.random.default_rng(3)
    mu, logvar = model.encode(x)
    eps = rng.standard_normal((k, *mu.shape))
    z = mu + np.exp(0.5 * logvar) * eps  # (k, 5, 3)
    p = 1 / (1 + np.exp(-model.decoder.forward(z.reshape(-1, 3)).reshape(k, 5, -1)))
    log_px_z = np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=-1)
    log_pz = np.sum(-0.5 * z**2 - 0.5 * np.log(2 * np.pi), axis=-1)
    log_qz = np.sum(-0.5 * (z - mu) ** 2 / np.exp(logvar) - 0.5 * logvar
                    - 0.5 * np.log(2 * np.pi), axis=-1)
    expected = np.log(np.mean(np.exp(log_px_z + log_pz - log_qz), axis=0))
    np.testing.assert_allclose(values, expected, rtol=1e-10)
    assert mean == pytest.approx(expected.mean(), rel=1e-12)


def test_chunking_the_samples_does_not_change_the_estimate(trained, x_test):
    whole = log_likelihood(trained, x_test, 10, rng=4, batch_size=100, sample_chunk=10)
    chunked = log_likelihood(trained, x_test, 10, rng=4, batch_size=100, sample_chunk=3)
    assert chunked == pytest.approx(whole, rel=1e-6)  # chunks of 3, 3, 3, 1 samples
    assert nll(trained, x_test, 10, rng=4, batch_size=100) == pytest.approx(-whole, rel=1e-6)


def test_k1_equals_the_elbo_in_expectation(trained, x_test):
    """L_1 = log p(x|z) + log p(z) - log q(z|x), one z: an unbiased estimate of the ELBO
    (with a Monte-Carlo KL instead of the closed form)."""
    seeds = range(40)
    iw = np.array([log_likelihood(trained, x_test, 1, rng=s) for s in seeds])
    bound = np.array([-elbo(trained, x_test, 1000 + s)["nelbo"] for s in seeds])
    standard_error = np.sqrt(iw.var(ddof=1) / len(iw) + bound.var(ddof=1) / len(bound))
    assert abs(iw.mean() - bound.mean()) < 4 * standard_error + 1e-3


def test_importance_weighting_tightens_the_bound(trained, x_test):
    values = [log_likelihood(trained, x_test, k, rng=0) for k in (1, 10, 100)]
    assert values[0] < values[1] < values[2]  # L_1 <= L_10 <= L_100 <= log p(x)
    assert values[2] > -elbo(trained, x_test, 0)["nelbo"]


@settings(max_examples=8, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), k=st.sampled_from([5, 20, 50]))
def test_iw_estimate_is_above_the_elbo_on_average(trained, x_test, seed, k):
    iw = log_likelihood(trained, x_test, k, rng=seed)
    assert iw > -elbo(trained, x_test, seed)["nelbo"]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"k": 0}, ValueError, "k must"), ({"k": 2.5}, ValueError, "k must"),
    ({"batch_size": 0}, ValueError, "batch_size"), ({"rng": None}, ValueError, "rng"),
])
def test_bad_arguments(trained, x_test, kwargs, error, match):
    args = {"k": 2, "rng": 0, **kwargs}
    with pytest.raises(error, match=match):
        log_likelihood(trained, x_test, **args)


def test_autoencoder_has_no_likelihood(x_test):
    ae = Autoencoder(hidden=(8,), latent_dim=2)
    with pytest.raises(TypeError, match="Autoencoder has no q.z.x.: importance sampling"):
        log_likelihood(ae, x_test, 2, rng=0)
    with pytest.raises(TypeError, match="mu, logvar"):
        active_units(ae, x_test)


def test_active_units_counts_dimensions_whose_mean_moves(x_test):
    model = VAE(hidden=(16,), latent_dim=5, seed=0)
    last = model.encoder.layers[-1]
    last.params["W"][:, :2] = 0  # mu_0 and mu_1 are the same for every image: inactive
    last.params["W"][:, 2:5] *= 50  # the other means vary a lot
    activity = latent_activity(model, x_test, batch_size=30)
    assert np.all(activity[:2] == 0) and np.all(activity[2:] > 0.01)
    np.testing.assert_allclose(activity, np.var(model.code(x_test).astype(np.float64), axis=0),
                               rtol=1e-5)
    assert active_units(model, x_test) == 3
    assert active_units(model, x_test, threshold=1e30) == 0


def test_empty_inputs_name_themselves(trained):
    empty = np.zeros((0, 784), np.float32)
    with pytest.raises(ValueError, match="x is empty"):
        elbo(trained, empty, rng=0)
    with pytest.raises(ValueError, match="x is empty"):
        log_likelihood(trained, empty, 2, rng=0)
    with pytest.raises(ValueError, match="x is empty"):
        latent_activity(trained, empty)


def test_integer_seeds_are_accepted_everywhere(trained, x_test):
    assert elbo(trained, x_test, rng=3) == elbo(trained, x_test, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(trained.sample(3, rng=7),
                                  trained.sample(3, np.random.default_rng(7)))
    assert trained.loss(x_test[:5], rng=4) == trained.loss(x_test[:5], np.random.default_rng(4))
    for bad, error in (("7", TypeError), (-1, ValueError), (1.5, ValueError)):
        with pytest.raises(error, match="rng"):
            trained.sample(2, rng=bad)


def test_a_broken_model_is_an_error_not_nan(x_test):
    model = VAE(hidden=(8,), latent_dim=2)
    model.decoder.layers[-1].params["b"][0] = np.nan
    for evaluate_it in (lambda: elbo(model, x_test, rng=0),
                        lambda: log_likelihood(model, x_test, 2, rng=0)):
        with pytest.raises(FloatingPointError, match=r"decoder\.2\.b hold NaN or Inf"):
            evaluate_it()


def test_kl_per_dimension_sums_to_the_kl_term(trained, x_test):
    per_dim = kl_per_dimension(trained, x_test, batch_size=70)
    assert per_dim.shape == (trained.latent_dim,) and np.all(per_dim >= 0)
    assert np.isclose(per_dim.sum(), elbo(trained, x_test, rng=0)["kl"], rtol=1e-4)
    mu, logvar = trained.encode(x_test)
    expected = 0.5 * np.mean(mu.astype(float)**2 + np.exp(logvar.astype(float)) - 1
                             - logvar, axis=0)
    np.testing.assert_allclose(per_dim, expected, rtol=1e-5, atol=1e-7)
