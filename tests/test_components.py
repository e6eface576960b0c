"""Latent components: the diagonal-Gaussian posterior (forward, backward, log-density, draws)
and the standard-normal prior, checked by finite differences and closed forms, on the CPU
backends."""
import numpy as np
import pytest

import vaelite
from vaelite.components import DiagonalGaussian, StandardNormal
from vaelite.gradcheck import numerical_gradient, relative_error


def backward_and_finite_differences(q, h, eps, w, beta):
    """(dh by q.backward, dh by central differences) for the loss sum(w * z) / batch +
    beta * kl_term of the posterior q, with eps fixed."""
    batch = len(h)

    def loss():
        z, _, kl_term = q.forward(h, eps)
        return float(np.sum(w * z)) / batch + beta * kl_term

    loss()
    dh = q.backward(w / batch, beta)
    return dh, numerical_gradient(loss, h)


@pytest.mark.parametrize("beta", [0.0, 1.0, 3.5])
def test_posterior_backward_matches_finite_differences(backend, beta):
    rng = np.random.default_rng(0)
    q = DiagonalGaussian(3)
    h, eps, w = rng.normal(size=(5, 6)), rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    dh, numeric = backward_and_finite_differences(q, h, eps, w, beta)
    assert relative_error(dh, numeric) < 1e-8


def test_posterior_forward_is_the_reparameterization_and_closed_form_kl(backend):
    rng = np.random.default_rng(1)
    q = DiagonalGaussian(2)
    mu, logvar, eps = rng.normal(size=(4, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    z, kl, kl_term = q.forward(np.concatenate([mu, logvar], axis=1), eps)
    assert kl_term == kl  # no free bits
    np.testing.assert_allclose(z, mu + np.exp(logvar / 2) * eps, rtol=1e-12)
    per_example = 0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=1)
    assert np.isclose(kl, per_example.mean(), rtol=1e-12)


@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_free_bits_forward_and_backward(backend, beta):
    """With free bits, each dimension's KL counts as at least lam, and a dimension below lam
    gets no KL gradient; finite differences agree (away from the kink at KL_j = lam)."""
    rng = np.random.default_rng(5)
    mu = rng.normal(size=(6, 4)) * np.array([0.05, 1.0, 0.1, 2.0])  # dims 0, 2 nearly unused
    logvar = rng.normal(size=(6, 4)) * 0.1
    h, eps, w = np.concatenate([mu, logvar], axis=1), rng.normal(size=(6, 4)), rng.normal(
        size=(6, 4))
    lam = 0.2
    q = DiagonalGaussian(4, free_bits=lam)
    z, kl, kl_term = q.forward(h, eps)
    per_dim = vaelite.losses.kl_normal_per_dimension(mu, logvar)
    assert np.isclose(per_dim.sum(), kl) and np.isclose(np.maximum(per_dim, lam).sum(), kl_term)
    assert per_dim[0] < lam < per_dim[1]  # the case is the intended one

    dh, numeric = backward_and_finite_differences(q, h, eps, w, beta)
    assert relative_error(dh, numeric) < 1e-7
    below = per_dim < lam
    np.testing.assert_allclose(dh[:, :4][:, below], (w / 6)[:, below])  # only the z path


def test_log_densities_and_draws():
    rng = np.random.default_rng(2)
    q, p = DiagonalGaussian(2), StandardNormal(2)
    h = np.array([[1.0, -2.0, np.log(0.25), np.log(4.0)]])
    z = np.array([[[1.5, -2.0]], [[0.0, 0.0]]])  # (samples=2, batch=1, latent=2)
    sd = np.array([0.5, 2.0])
    expected_q = np.sum(-0.5 * ((z - h[:, :2]) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi),
                        axis=-1)
    np.testing.assert_allclose(q.log_prob(z, h), expected_q, rtol=1e-12)
    np.testing.assert_allclose(p.log_prob(z), np.sum(-0.5 * z**2 - 0.5 * np.log(2 * np.pi),
                                                     axis=-1), rtol=1e-12)
    draws = q.sample(h, rng, 20_000)
    assert draws.shape == (20_000, 1, 2)
    np.testing.assert_allclose(draws.mean(axis=0)[0], [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(draws.std(axis=0)[0], sd, rtol=0.03)
    prior = p.sample(10_000, rng, np.float32)
    assert prior.shape == (10_000, 2) and prior.dtype == np.float32
    assert abs(prior.mean()) < 0.05 and abs(prior.std() - 1) < 0.05


def test_vae_is_assembled_from_the_components():
    model = vaelite.VAE(hidden=(8,), latent_dim=3)
    assert isinstance(model.posterior, DiagonalGaussian) and isinstance(model.prior,
                                                                         StandardNormal)
    assert model.encoder.sizes[-1] == model.posterior.encoder_outputs == 6


def test_log_importance_weights_are_log_p_x_z_plus_log_p_z_minus_log_q(backend):
    model = vaelite.VAE(hidden=(8,), latent_dim=2, dtype=np.float64, seed=1)
    x = (np.random.default_rng(3).random((4, 784)) < 0.3).astype(np.float64)
    log_w = model.log_importance_weights(x, 5, np.random.default_rng(4))
    assert log_w.shape == (5, 4)
    h = model.encoder.forward(x)
    z = model.posterior.sample(h, np.random.default_rng(4), 5)  # the same draws
    logits = model.decoder.forward(z.reshape(-1, 2))
    log_px_z = np.sum(np.tile(x, (5, 1)) * logits - np.logaddexp(0, logits), axis=1)
    expected = (log_px_z.reshape(5, 4) + model.prior.log_prob(z)
                - model.posterior.log_prob(z, h))
    np.testing.assert_allclose(log_w, expected, rtol=1e-10)
