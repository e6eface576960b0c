"""Models: the whole VAE and Autoencoder backward passes against finite differences (float64,
eps held fixed), shapes, the beta weighting, the reparameterization statistics, input errors."""
import numpy as np
import pytest

import vaelite
from vaelite import VAE, Autoencoder, gradcheck
from vaelite.losses import kl_normal

from vaelite.backends import CPU_BACKENDS

TOL = 1e-6
D, H, L, B = 12, 7, 3, 5  # input, hidden, latent, batch: small enough for full gradchecks
def rng(seed=0):
    return np.random.default_rng(seed)


def data(likelihood, batch=B, seed=1, dtype=np.float64):
    x = rng(seed).random((batch, D))
    if likelihood == "gaussian":  # any real values are fine for a Gaussian decoder
        x = 2 * x - 0.5
    return x.astype(dtype)


def vae(likelihood="bernoulli", **kw):
    kw = {"hidden": (H,), "latent_dim": L, "dtype": np.float64, "seed": 3, **kw}
    return VAE(D, likelihood=likelihood, **kw)


def full_gradcheck(model, loss):
    """Every parameter of the model: analytic grads (already filled) vs finite differences."""
    triples = [(n, p, g.copy()) for n, p, g in model.parameters()]
    errors = gradcheck.check_gradients(loss, triples)
    bad = {k: v for k, v in errors.items() if not v < TOL}
    assert not bad, f"relative errors above {TOL}: {bad}"
    return errors


# --- gradient checks ---------------------------------------------------------------------------

VAE_CASES = [
    ("bernoulli", "fixed", 1.0, "relu"),
    ("bernoulli", "fixed", 0.5, "tanh"),
    ("bernoulli", "fixed", 4.0, "leaky_relu"),
    ("bernoulli", "fixed", 0.0, "softplus"),
    ("gaussian", "fixed", 1.0, "relu"),
    ("gaussian", "fixed", 4.0, "sigmoid"),
    ("gaussian", "global", 1.0, "tanh"),
    ("gaussian", "global", 0.5, "relu"),
    ("gaussian", "pixel", 1.0, "softplus"),
    ("gaussian", "pixel", 4.0, "leaky_relu"),
]


@pytest.mark.parametrize("likelihood,variance,beta,act", VAE_CASES)
def test_vae_gradcheck(likelihood, variance, beta, act, backend):
    model = vae(likelihood, variance=variance, beta=beta, activation=act, sigma=0.8)
    if variance != "fixed":  # a learned log-variance away from its constant start
        lv = model.likelihood.params["logvar"]
        lv[...] = 0.2 * rng(9).standard_normal(lv.shape)
    x = data(likelihood)
    eps = rng(2).standard_normal((B, L))
    parts = model.loss_and_grads(x, eps=eps)
    names = [n for n, _, _ in model.parameters()]
    assert len(names) == 8 + (variance != "fixed")
    errors = full_gradcheck(model, lambda: model.loss(x, eps=eps)["loss"])
    assert set(errors) == set(names)
    assert parts == model.loss(x, eps=eps)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_autoencoder_gradcheck(likelihood, backend):
    model = Autoencoder(D, (H, 6), L, likelihood, activation="tanh", seed=1, dtype=np.float64)
    x = data(likelihood)
    parts = model.loss_and_grads(x)
    assert set(parts) == {"loss", "recon"} and parts["loss"] == parts["recon"]
    full_gradcheck(model, lambda: model.loss(x)["loss"])


def test_vae_gradcheck_binary_data_two_hidden_layers(backend):
    model = VAE(D, (H, 6), L, "bernoulli", beta=2.0, seed=4, dtype=np.float64)
    x = (data("bernoulli") > 0.5).astype(np.float64)
    eps = rng(5).standard_normal((B, L))
    model.loss_and_grads(x, eps=eps)
    full_gradcheck(model, lambda: model.loss(x, eps=eps)["loss"])


@pytest.mark.parametrize("free_bits", [0.05, 0.5])
def test_vae_with_free_bits_gradcheck(backend, free_bits):
    """Free bits: the KL of each latent dimension counts as at least free_bits nats; every
    hand-written gradient still agrees with finite differences, and "kl" stays the true KL."""
    model = vae(beta=1.5, free_bits=free_bits)
    x, eps = data("bernoulli"), rng(6).standard_normal((B, L))
    parts = model.loss_and_grads(x, eps=eps)
    mu, logvar = (np.asarray(v) for v in model.encode(x))
    per_dim = vaelite.losses.kl_normal_per_dimension(mu, logvar)
    assert np.isclose(parts["kl"], per_dim.sum())
    assert np.isclose(parts["loss"], parts["recon"] + 1.5 * np.maximum(per_dim, free_bits).sum())
    full_gradcheck(model, lambda: model.loss(x, eps=eps)["loss"])


def test_gradcheck_of_a_broken_vae_fails(backend):
    """The whole-model check can fail: halve the logvar half of one bias gradient, it is caught."""
    model = vae(beta=1.0)
    x, eps = data("bernoulli"), rng(2).standard_normal((B, L))
    model.loss_and_grads(x, eps=eps)
    model.encoder.parameters()[-1][2][L:] *= 0.5  # corrupt d loss / d (last bias, logvar half)
    triples = [(n, p, g.copy()) for n, p, g in model.parameters()]
    errors = gradcheck.check_gradients(lambda: model.loss(x, eps=eps)["loss"], triples)
    assert errors["encoder.2.b"] > 1e-3


# --- the loss: parts, beta, determinism, gradient bookkeeping ----------------------------------

def test_loss_parts_and_beta_weighting(backend):
    x, eps = data("bernoulli"), rng(2).standard_normal((B, L))
    parts = {beta: vae(beta=beta).loss(x, eps=eps) for beta in (0.0, 0.5, 1.0, 4.0)}
    recon, kl = parts[1.0]["recon"], parts[1.0]["kl"]
    assert kl > 0 and recon > 0
    for beta, p in parts.items():
        assert set(p) == {"loss", "recon", "kl"}
        # same weights (same seed) and same eps: recon and kl do not depend on beta
        assert p["recon"] == pytest.approx(recon, rel=1e-12)
        assert p["kl"] == pytest.approx(kl, rel=1e-12)
        assert p["loss"] == pytest.approx(recon + beta * kl, rel=1e-12)


def test_kl_part_is_the_closed_form_of_the_encoder_output():
    model = vae()
    x, eps = data("bernoulli"), rng(2).standard_normal((B, L))
    mu, logvar = model.encode(x)
    assert model.loss(x, eps=eps)["kl"] == pytest.approx(kl_normal(mu, logvar)[0], rel=1e-12)


def test_loss_is_deterministic_given_rng_or_eps():
    model = vae()
    x = data("bernoulli")
    assert model.loss(x, rng(7)) == model.loss(x, rng(7))
    assert model.loss(x, rng(7)) != model.loss(x, rng(8))
    eps = rng(7).standard_normal((B, L))
    assert model.loss(x, rng(1), eps=eps) == model.loss(x, rng(2), eps=eps)  # eps wins


def test_loss_and_grads_overwrites_and_keeps_grad_arrays(backend):
    model = vae("gaussian", variance="pixel")
    x, eps = data("gaussian"), rng(2).standard_normal((B, L))
    held = [g for _, _, g in model.parameters()]
    model.loss_and_grads(x, eps=eps)
    first = [g.copy() for g in held]
    model.loss_and_grads(x, eps=eps)  # a second call must not accumulate
    for (_, _, g), g_held, g_first in zip(model.parameters(), held, first):
        assert g is g_held
        np.testing.assert_allclose(g, g_first, rtol=1e-12)


def test_float32_model_trains_in_float32(backend):
    model = VAE(D, (H,), L, seed=0)
    x = data("bernoulli", dtype=np.float32)
    parts = model.loss_and_grads(x, rng(0))
    assert all(np.isfinite(v) for v in parts.values())
    for name, p, g in model.parameters():
        assert p.dtype == np.float32 and g.dtype == np.float32, name
    mu, logvar = model.encode(x.astype(np.float64))  # float64 input is cast to the model dtype
    assert mu.dtype == np.float32


def test_reparameterized_z_has_the_right_statistics(backend):
    """z = mu + sigma * eps: over many draws, the mean of z is mu and its std is sigma."""
    model = vae()
    x = np.repeat(data("bernoulli", batch=2), 20_000, axis=0)
    captured = []
    forward = model.decoder.forward

    def record(z):
        captured.append(z.copy())
        return forward(z)

    model.decoder.forward = record
    model.loss(x, rng(11))
    z = captured[0].reshape(2, 20_000, L)
    mu, logvar = model.encode(x[[0, 20_000]])
    sigma = np.exp(0.5 * logvar)
    # 20k draws: standard error of the mean sigma / 141, of the std ~ sigma / 200
    np.testing.assert_allclose(z.mean(axis=1), mu, atol=float(5 * sigma.max() / 141))
    np.testing.assert_allclose(z.std(axis=1), sigma, rtol=0.03)


# --- shapes of the public methods --------------------------------------------------------------

def test_vae_shapes():
    model = vae()
    x = data("bernoulli", batch=4)
    mu, logvar = model.encode(x)
    assert mu.shape == (4, L) and logvar.shape == (4, L)
    np.testing.assert_array_equal(model.code(x), mu)
    assert model.decode(mu).shape == (4, D)
    recon = model.reconstruct(x)
    assert recon.shape == (4, D) and np.all((recon >= 0) & (recon <= 1))
    samples = model.sample(6, rng())
    assert samples.shape == (6, D) and np.all((samples >= 0) & (samples <= 1))
    binary = model.sample(6, rng(), mean=False)
    assert binary.shape == (6, D) and set(np.unique(binary)) <= {0.0, 1.0}
    assert model.interpolate(x[0], x[1], steps=7).shape == (7, D)
    assert model.interpolate(x[:1], x[1:2]).shape == (10, D)
    g = vae("gaussian", variance="global")
    assert g.sample(3, rng(), mean=False).shape == (3, D)


def test_autoencoder_shapes():
    model = Autoencoder(D, (H,), L, seed=0, dtype=np.float64)
    x = data("bernoulli", batch=4)
    z = model.encode(x)
    assert z.shape == (4, L)
    np.testing.assert_array_equal(model.code(x), z)
    assert model.decode(z).shape == (4, D)
    assert model.reconstruct(x).shape == (4, D)
    assert model.interpolate(x[0], x[1], steps=3).shape == (3, D)


@pytest.mark.parametrize("make", [lambda: vae(), lambda: Autoencoder(D, (H,), L, dtype=np.float64)],
                         ids=["VAE", "Autoencoder"])
def test_interpolation_endpoints_are_the_reconstructions(make):
    model = make()
    x = data("bernoulli", batch=2)
    path = model.interpolate(x[0], x[1], steps=5)
    recon = model.reconstruct(x)
    np.testing.assert_allclose(path[0], recon[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(path[-1], recon[1], rtol=1e-12, atol=1e-14)
    assert not np.allclose(path[2], path[0])


def test_parameters_and_config():
    model = vae("gaussian", variance="pixel", beta=2.0)
    names = [n for n, _, _ in model.parameters()]
    assert names[0] == "encoder.0.W" and names[-1] == "likelihood.logvar"
    assert model.n_parameters() == (D * H + H) + (H * 2 * L + 2 * L) + (L * H + H) + (H * D + D) + D
    cfg = model.config()
    assert cfg["model"] == "VAE" and cfg["beta"] == 2.0 and cfg["variance"] == "pixel"
    assert cfg["latent_dim"] == L and cfg["hidden"] == [H] and cfg["dtype"] == "float64"
    assert not VAE.uses_labels and not Autoencoder.uses_labels


# --- bad inputs raise errors that name the problem ---------------------------------------------

@pytest.fixture(params=["VAE", "Autoencoder"])
def model(request):
    if request.param == "VAE":
        return vae()
    return Autoencoder(D, (H,), L, dtype=np.float64)


def bad_call(model, x):
    return model.loss(x, rng(0))


def test_wrong_shape(model):
    with pytest.raises(ValueError, match=rf"{D} columns|\(batch, {D}\)"):
        bad_call(model, np.zeros((4, D + 1)))
    with pytest.raises(ValueError, match="2-D|shape"):
        bad_call(model, np.zeros(D))
    with pytest.raises(ValueError, match="2-D|shape"):
        bad_call(model, np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="empty|shape"):
        bad_call(model, np.zeros((0, D)))


def test_int_dtype(model):
    with pytest.raises((TypeError, ValueError), match="float"):
        bad_call(model, np.zeros((4, D), dtype=np.uint8))
    with pytest.raises((TypeError, ValueError), match="float"):
        model.encode(np.ones((4, D), dtype=np.int64))


def test_not_an_array(model):
    with pytest.raises(TypeError, match="array"):
        bad_call(model, [[0.0] * D])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf(model, bad):
    x = data("bernoulli", batch=4)
    x[2, 3] = bad
    with pytest.raises(ValueError, match="NaN or Inf"):
        bad_call(model, x)
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.loss_and_grads(x, rng(0))


def test_pixels_outside_unit_interval():
    x = data("bernoulli", batch=4)
    x[0, 0] = 1.5
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vae().loss(x, rng(0))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Autoencoder(D, (H,), L).reconstruct(x.astype(np.float32))
    x[1, 1] = -0.2
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vae().encode(x)
    # a Gaussian decoder accepts any finite values
    assert np.isfinite(vae("gaussian").loss(x, rng(0))["loss"])
    assert np.isfinite(Autoencoder(D, (H,), L, "gaussian").loss(x.astype(np.float32))["loss"])


def test_eps_and_rng_errors():
    model = vae()
    x = data("bernoulli", batch=4)
    with pytest.raises(ValueError, match=r"eps must have shape \(4, 3\)"):
        model.loss(x, eps=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="eps must have shape"):
        model.loss_and_grads(x, eps=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="eps contains NaN"):
        model.loss(x, eps=np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="rng"):
        model.loss(x)
    with pytest.raises(ValueError, match="rng"):
        model.loss_and_grads(x, rng=None)
    with pytest.raises(ValueError, match="rng"):
        model.sample(3, None)
    # a list eps of the right shape is accepted
    assert model.loss(x, eps=[[0.0] * 3] * 4) == model.loss(x, eps=np.zeros((4, 3)))


def test_constructor_errors():
    with pytest.raises(ValueError, match="unknown likelihood 'poisson'"):
        VAE(D, (H,), L, likelihood="poisson")
    with pytest.raises(ValueError, match="unknown likelihood"):
        Autoencoder(D, (H,), L, likelihood="categorical")
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        VAE(D, (H,), L, activation="gelu")
    with pytest.raises(ValueError, match="unknown Gaussian variance 'full'"):
        VAE(D, (H,), L, likelihood="gaussian", variance="full")
    with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
        VAE(D, (H,), L, likelihood="gaussian", sigma=0.0)
    for beta in (-1.0, -1e-9, float("nan")):
        with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
            VAE(D, (H,), L, beta=beta)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer, got 0"):
        VAE(D, (H,), 0)


@pytest.mark.parametrize("steps", [1, 0, -3, 2.5])
def test_bad_interpolation_steps(model, steps):
    x = data("bernoulli", batch=2)
    with pytest.raises(ValueError, match="steps must be an integer >= 2"):
        model.interpolate(x[0], x[1], steps=steps)


def test_bad_interpolation_endpoints(model):
    with pytest.raises(ValueError, match=str(D)):
        model.interpolate(np.zeros(D + 1), np.zeros(D + 1))


@pytest.mark.parametrize("n", [0, -1, 2.5])
def test_bad_sample_count(n):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        vae().sample(n, rng())


def test_bad_latent_codes(model):
    with pytest.raises(ValueError, match=rf"z must have shape \(batch, {L}\)"):
        model.decode(np.zeros((4, L + 1)))
    with pytest.raises(ValueError, match="z must have shape"):
        model.decode(np.zeros(L))
    with pytest.raises(ValueError, match="z contains NaN or Inf"):
        model.decode(np.full((2, L), np.nan))


def test_backends_agree_on_a_training_step():
    """The numba backend gives the reference's loss and gradients in float32 too."""
    x = data("bernoulli", batch=16, dtype=np.float32)
    eps = rng(2).standard_normal((16, L)).astype(np.float32)
    results = {}
    for name in CPU_BACKENDS:
        model = VAE(D, (H, 6), L, "bernoulli", beta=2.0, activation="tanh", seed=4)
        with vaelite.use_backend(name):
            parts = model.loss_and_grads(x, eps=eps)
        results[name] = parts, [g.copy() for _, _, g in model.parameters()]
    (p_ref, g_ref), (p_nb, g_nb) = results["numpy"], results["numba"]
    for key in p_ref:
        assert p_nb[key] == pytest.approx(p_ref[key], rel=1e-5)
    for a, b in zip(g_ref, g_nb):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
