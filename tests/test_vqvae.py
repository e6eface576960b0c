"""The VQ-VAE and its vector quantiser: gradients with the code assignment held fixed, the
straight-through identity, nearest-neighbour assignment, usage and perplexity, dead codes (and
the fit callback that revives them with fresh Adam moments), training, the prior the model owns
(kept out of fit, trained by fit_prior, saved by io, sampled), config and io, bad inputs,
backends."""
import numpy as np
import pytest

import vaelite
from vaelite import gradcheck
from vaelite.data import load_mnist
from vaelite.components import VectorQuantizer
from vaelite.models.vqvae import VQVAE
from vaelite.train import reinit_dead_codes

TOL = 1e-6
B, D, P, C, K = 5, 6, 3, 2, 4  # batch, pixels, positions, code_dim, n_codes


def rng(seed):
    return np.random.default_rng(seed)


def small(likelihood="bernoulli", activation="tanh", **kw):
    return VQVAE(D, (7,), P, C, K, likelihood, activation=activation, dtype=np.float64, **kw)


def data(likelihood):
    x = rng(1).random((B, D))
    return x if likelihood == "gaussian" else (x > 0.5).astype(np.float64)


def frozen_loss(model, x):
    """f() for finite differences: the loss with its stop-gradients frozen at the current point,

        recon(decoder(z_e + sg[z_q - z_e])) + ||sg[z_e] - e||^2 + beta ||z_e - sg[e]||^2,

    whose exact gradient is what ``loss_and_grads`` computes by hand (straight-through). The
    assignment is held fixed: f asserts that no nudge changed any nearest code."""
    q = model.quantizer
    z_e0 = model._z_e(x).copy()
    z_q0, idx0, _ = q.forward(z_e0)
    z_q0, idx0 = z_q0.copy(), idx0.copy()

    def f():
        z_e = model._z_e(x)
        _, idx, _ = q.forward(z_e)
        np.testing.assert_array_equal(idx, idx0)  # the nudge kept every assignment
        e = q.params["codebook"][idx0]
        z = z_e + (z_q0 - z_e0)
        recon, _ = model.likelihood.nll(model.decoder.forward(z.reshape(len(x), -1)), x)
        return (float(recon) + np.sum((z_e0 - e) ** 2) / len(x)
                + q.beta_commit * np.sum((z_e - z_q0) ** 2) / len(x))

    return f


@pytest.mark.parametrize("likelihood,act,beta", [("bernoulli", "tanh", 0.25),
                                                  ("bernoulli", "relu", 1.0),
                                                  ("gaussian", "softplus", 0.5),
                                                  ("gaussian", "leaky_relu", 0.0)])
def test_gradients_match_finite_differences_with_assignment_fixed(backend, likelihood, act,
                                                                  beta):
    model = small(likelihood, act, beta_commit=beta, seed=3)
    x = data(likelihood)
    parts = model.loss_and_grads(x)
    f = frozen_loss(model, x)
    assert f() == pytest.approx(parts["loss"], rel=1e-12)
    triples = [(n, p, g.copy()) for n, p, g in model.parameters()]
    assert [n for n, _, _ in triples][-1] == "quantizer.codebook"
    assert all(np.any(g != 0) for _, _, g in triples)
    errors = gradcheck.check_gradients(f, triples)
    bad = {k: v for k, v in errors.items() if not v < TOL}
    assert not bad, f"relative errors above {TOL}: {bad}"
    assert parts == model.loss(x)
    assert set(parts) == {"loss", "recon", "codebook", "commitment"}
    assert parts["commitment"] == pytest.approx(beta * parts["codebook"])


def test_straight_through_identity_and_quantizer_losses(backend):
    """dz_e = dz_q + d commitment / d z_e; grads["codebook"] = d codebook / d codebook; both
    against finite differences of the forward losses (the assignment unchanged)."""
    vq = VectorQuantizer(K, C, beta_commit=0.4, seed=2, dtype=np.float64)
    z_e = rng(4).standard_normal((B, P, C))
    dz_q = rng(5).standard_normal((B, P, C))
    z_q, idx, losses = vq.forward(z_e)
    dz_e = vq.backward(dz_q)
    commit = 2 * 0.4 * (z_e - z_q) / B
    np.testing.assert_allclose(dz_e, dz_q + commit, rtol=1e-12, atol=1e-15)

    def loss(key):
        def f():
            _, i, parts = vq.forward(z_e)
            np.testing.assert_array_equal(i, idx)
            return parts[key]
        return f

    errs = gradcheck.check_gradients(loss("commitment"), [("z_e", z_e, dz_e - dz_q)])
    errs.update(gradcheck.check_gradients(loss("codebook"), vq.parameters()))
    assert max(errs.values()) < TOL, errs


def test_codebook_gradient_is_a_scatter_add(backend):
    vq = VectorQuantizer(K, C, seed=0, dtype=np.float64)
    z_e = rng(6).standard_normal((B, P, C))
    _, idx, _ = vq.forward(z_e)
    vq.backward(np.zeros_like(z_e))
    expected = np.zeros((K, C))
    e = vq.params["codebook"]
    for n, k in enumerate(idx.reshape(-1)):
        expected[k] += 2 * (e[k] - z_e.reshape(-1, C)[n]) / B
    np.testing.assert_allclose(vq.grads["codebook"], expected, rtol=1e-12, atol=1e-15)


def test_nearest_neighbour_assignment_against_brute_force(backend):
    vq = VectorQuantizer(16, 3, seed=1, dtype=np.float64)
    z_e = 2 * rng(7).standard_normal((40, 5, 3))
    z_q, idx, losses = vq.forward(z_e)
    e = vq.params["codebook"]
    brute = np.array([[np.argmin([np.sum((z - code) ** 2) for code in e]) for z in row]
                      for row in z_e])
    np.testing.assert_array_equal(idx, brute)
    np.testing.assert_array_equal(z_q, e[brute])
    assert losses["codebook"] == pytest.approx(np.sum((z_e - e[brute]) ** 2) / 40, rel=1e-12)
    np.testing.assert_array_equal(vq.counts, np.bincount(brute.ravel(), minlength=16))


def test_usage_and_perplexity_on_made_up_indices():
    vq = VectorQuantizer(8, 2)
    uniform = np.tile(np.arange(8), (3, 2))
    np.testing.assert_allclose(vq.usage(uniform), np.full(8, 1 / 8))
    assert vq.perplexity(uniform) == pytest.approx(8)
    assert vq.perplexity(np.full((4, 3), 5)) == pytest.approx(1)
    assert vq.perplexity([[0, 1], [0, 1]]) == pytest.approx(2)
    p = np.array([0.5, 0.25, 0.25])
    assert vq.perplexity([0, 0, 1, 2]) == pytest.approx(np.exp(-np.sum(p * np.log(p))))


def test_dead_codes_are_moved_onto_encoder_outputs(backend):
    vq = VectorQuantizer(K, C, seed=0, dtype=np.float64)
    vq.params["codebook"][1:3] = 1e3  # two codes no encoder output is near
    z_e = rng(8).standard_normal((B, P, C))
    vq.forward(z_e)
    before = vq.params["codebook"].copy()
    held = vq.params["codebook"]
    dead = vq.reinit_dead_codes(z_e, rng(9))
    np.testing.assert_array_equal(dead, [1, 2])
    assert vq.params["codebook"] is held  # changed in place: an optimizer still holds it
    np.testing.assert_array_equal(held[[0, 3]], before[[0, 3]])
    rows = z_e.reshape(-1, C)
    for k in dead:
        assert np.any(np.all(rows == held[k], axis=1)), f"code {k} is not an encoder output"
    assert not np.array_equal(held[1], held[2])  # drawn without replacement
    vq.forward(z_e)
    assert vq.counts[1] > 0 and vq.counts[2] > 0  # each now the nearest code of its own row
    assert vq.reinit_dead_codes(z_e, rng(9)).size == np.sum(vq.counts == 0)


def test_fit_on_mnist_lowers_the_loss_and_uses_the_codebook():
    """Adam at lr 1e-2 (the codebook moves at most lr per step, so at 1e-3 it falls behind the
    growing encoder outputs in so few steps) and dead codes moved back after every epoch."""
    x = load_mnist().x_train[:600]
    model = VQVAE(hidden=(64,), positions=4, code_dim=4, n_codes=16, seed=0)
    before = model.loss(x)["loss"]
    draws = rng(0)

    def revive(epoch, m, history):
        m.quantizer.reinit_dead_codes(m.encoder_vectors(x[:200]), draws)

    history = vaelite.fit(model, x, 5, 25, vaelite.Adam(model.parameters(), lr=1e-2),
                          binarize=None, progress=False, callbacks=[revive])
    after = model.loss(x)
    assert after["loss"] < 0.5 * before, (before, after)
    assert history.train["loss"][-1] < history.train["loss"][0]
    codes = model.encode(x)
    assert codes.shape == (600, 4) and codes.dtype == np.int64
    assert model.quantizer.perplexity(codes) > 8
    images = model.decode_indices(codes[:10])
    assert images.shape == (10, 784) and np.all((images >= 0) & (images <= 1))
    np.testing.assert_allclose(images, model.reconstruct(x[:10]), rtol=1e-6)


def test_config_rebuilds_the_model_and_io_round_trip(tmp_path):
    model = small("gaussian", beta_commit=0.3, seed=5)
    config = model.config()
    assert config.pop("model") == "VQVAE"
    twin = VQVAE(**config)
    for (n, p, _), (m, q, _) in zip(model.parameters(), twin.parameters()):
        assert n == m
        np.testing.assert_array_equal(p, q)
    if "VQVAE" not in vaelite.models.MODELS:
        pytest.skip("VQVAE is not in vaelite.models.MODELS yet: io.load cannot rebuild it")
    model.quantizer.params["codebook"][...] += 1.0  # trained-looking parameters
    loaded = vaelite.io.load(vaelite.io.save(model, tmp_path / "vq.npz"))
    x = data("gaussian")
    assert loaded.loss(x) == model.loss(x)
    np.testing.assert_array_equal(loaded.encode(x), model.encode(x))


def test_bad_inputs_raise_errors_naming_the_argument():
    for kwargs, name in [({"positions": 0}, "positions"), ({"code_dim": 0}, "code_dim"),
                         ({"n_codes": 1}, "n_codes"), ({"beta_commit": -1}, "beta_commit")]:
        with pytest.raises((ValueError, TypeError), match=name):
            VQVAE(**kwargs)
    model = small()
    with pytest.raises(ValueError, match="indices"):
        model.decode_indices(np.zeros((2, P + 1), dtype=int))
    with pytest.raises(ValueError, match="indices"):
        model.decode_indices(np.full((2, P), K))
    with pytest.raises(TypeError, match="indices"):
        model.decode_indices(np.zeros((2, P)))
    with pytest.raises(ValueError, match="z_e"):
        model.quantizer.forward(np.zeros((2, P, C + 1)))
    with pytest.raises(ValueError, match="z_e_samples"):
        model.quantizer.reinit_dead_codes(np.zeros((3, C + 1)), 0)
    with pytest.raises(ValueError, match="x"):
        model.loss(np.zeros((2, D + 1)))


def run_everything():
    """Adam steps, a dead-code re-initialisation, encode and decode, in float64."""
    x = data("bernoulli")
    model = small(seed=1)
    opt = vaelite.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(5):
        losses.append(model.loss_and_grads(x)["loss"])
        opt.step()
        if step == 2:
            model.quantizer.reinit_dead_codes(model.encoder_vectors(x), rng(0))
    backend = vaelite.backends.current()
    params = [backend.to_host(p).copy() for _, p, _ in model.parameters()]
    codes = model.encode(x)
    return losses, params, codes, model.decode_indices(codes)


def test_same_numbers_on_every_backend(any_backend):
    losses, params, codes, images = run_everything()
    with vaelite.use_backend("numpy"):
        ref_losses, ref_params, ref_codes, ref_images = run_everything()
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-8)
    for p, r in zip(params, ref_params):
        np.testing.assert_allclose(p, r, rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(codes, ref_codes)
    np.testing.assert_allclose(images, ref_images, rtol=1e-8)


def host(params):
    backend = vaelite.backends.current()
    return [backend.to_host(p).copy() for _, p, _ in params]


def test_the_prior_is_kept_out_of_fit_and_saved_with_the_model(tmp_path):
    model = small(seed=2, prior_hidden=(5,))
    names = [n for n, _, _ in model.parameters()]
    prior_names = [n for n, _, _ in model.checkpoint_parameters()][len(names):]
    assert not any(n.startswith("prior.") for n in names)
    assert prior_names == ["prior." + n for n, _, _ in model.prior.parameters()]
    assert (model.prior.n_positions, model.prior.n_codes, model.prior.hidden) == (P, K, [5])
    before = host(model.prior.parameters())
    x = data("bernoulli")
    vaelite.fit(model, x, 3, 2, progress=False)
    for a, b in zip(before, host(model.prior.parameters())):
        np.testing.assert_array_equal(a, b)  # fit and its Adam never touch the prior
    for _, p, _ in model.prior.parameters():
        p[...] = rng(3).standard_normal(p.shape)  # trained-looking weights
    model.prior_trained = True
    loaded = vaelite.io.load(vaelite.io.save(model, tmp_path / "vq.npz"))
    assert loaded.config() == model.config()
    assert loaded.config()["prior_hidden"] == [5] and loaded.prior_trained
    for a, b in zip(host(model.checkpoint_parameters()), host(loaded.checkpoint_parameters())):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.sample_codes(7, 4), model.sample_codes(7, 4))


def test_fit_prior_trains_the_prior_on_the_codes_and_leaves_the_vqvae_alone():
    x = load_mnist().x_train[:300]
    x_test = load_mnist().x_test[:100]
    model = VQVAE(hidden=(32,), positions=3, code_dim=2, n_codes=8, seed=0, prior_hidden=(16,))
    vaelite.fit(model, x, 2, 50, vaelite.Adam(model.parameters(), lr=1e-2), binarize=None,
                progress=False)
    vq_before = host(model.parameters())
    codes = model.encode(x)
    start = -np.mean(model.prior.log_prob(codes))
    assert not model.prior_trained
    history = vaelite.fit_prior(model, x, 15, 32, progress=False, test_data=x_test)
    assert model.prior_trained
    for a, b in zip(vq_before, host(model.parameters())):
        np.testing.assert_array_equal(a, b)
    assert history.epoch == list(range(1, 16)) and history.test_epoch == history.epoch
    train = history.train["loss"]
    assert train[-1] < train[0] - 0.3 and train[-1] < start - 0.3
    # the recorded numbers are the prior's NLL, nats per code sequence, computed another way
    stats = model.code_statistics(x_test)
    assert history.test["loss"][-1] == pytest.approx(stats["prior_nll"], rel=1e-5)
    assert -np.mean(model.prior.log_prob(codes)) < start - 0.3
    usage = model.quantizer.usage(model.encode(x_test))
    assert stats["used_codes"] == np.sum(usage > 0)
    assert stats["perplexity"] == pytest.approx(model.quantizer.perplexity(model.encode(x_test)))
    with pytest.raises(TypeError, match="fit_prior needs"):
        vaelite.fit_prior(vaelite.VAE(hidden=(8,), latent_dim=2), x, 1)


def test_sampling_from_the_learned_and_the_uniform_prior():
    model = small(seed=4)
    with pytest.raises(ValueError, match="untrained"):
        model.sample(3, rng(0))
    uniform = model.sample_codes(4000, rng(1), prior="uniform")
    assert uniform.shape == (4000, P) and uniform.dtype == np.int64
    assert np.all(np.bincount(uniform.ravel(), minlength=K) / uniform.size > 0.22)
    model.prior_trained = True  # as fit_prior leaves it
    codes = model.sample_codes(6, rng(2))
    np.testing.assert_array_equal(codes, model.prior.sample(6, rng(2)))
    images = model.sample(6, rng(2))
    assert images.shape == (6, D)
    np.testing.assert_array_equal(images, model.decode_indices(codes))
    np.testing.assert_array_equal(model.sample(5, rng(3), prior="uniform"),
                                  model.decode_indices(model.sample_codes(5, rng(3), "uniform")))
    with pytest.raises(ValueError, match="prior"):
        model.sample(2, rng(0), prior="gaussian")
    with pytest.raises(ValueError, match="n must be"):
        model.sample_codes(0, rng(0))
    with pytest.raises(TypeError, match="prior_trained"):
        small(prior_trained="yes")


def test_reinit_callback_revives_a_dead_code_with_fresh_adam_moments(backend):
    """A code far from every encoder output is dead: the callback moves it onto an encoder
    output, zeroes its (stale, made-up) Adam moments and leaves the other rows alone; in the
    next epoch the code is chosen and trained."""
    x = data("bernoulli")
    model = small(seed=6)
    opt = vaelite.Adam(model.parameters(), lr=1e-2)
    vaelite.fit(model, x, 1, B, opt, binarize=None, progress=False)
    codebook = model.quantizer.params["codebook"]
    slot = [n for n, _, _ in opt.parameters].index("quantizer.codebook")
    codebook[2] = 1e3
    for state in (opt.m[slot], opt.v[slot]):
        state[...] = 0.5  # stale moments, as a code that moved away would carry
    revive = reinit_dead_codes(x, opt, every=2, seed=1, last_epoch=3)
    revive(1, model, None)
    assert revive.revived == []  # every 2 epochs: not at epoch 1
    revive(2, model, None)
    (epoch, dead), = revive.revived
    assert epoch == 2 and 2 in dead
    z_e = model.encoder_vectors(x).reshape(-1, C)
    assert np.any(np.all(z_e == codebook[2], axis=1))  # moved onto an encoder output
    alive = np.setdiff1d(np.arange(K), dead)
    for state in (opt.m[slot], opt.v[slot]):
        assert np.all(state[dead] == 0) and np.all(state[alive] == 0.5)
    moved = codebook[2].copy()
    codebook[3] = 1e3  # dead too, but after last_epoch nothing is revived
    revive(4, model, None)
    assert len(revive.revived) == 1 and np.all(codebook[3] == 1e3)
    vaelite.fit(model, x, 1, B, opt, binarize=None, progress=False)
    assert model.quantizer.counts[2] > 0  # chosen again
    assert not np.array_equal(codebook[2], moved)  # and trained
    with pytest.raises(TypeError, match="optimizer"):
        reinit_dead_codes(x, "adam")
    with pytest.raises(ValueError, match="codebook"):
        reinit_dead_codes(x, vaelite.Adam(small().parameters()))(1, model, None)


def prior_everything():
    """fit, the reinit callback, fit_prior, sampling and code statistics, in float64."""
    x = data("bernoulli")
    model = small(seed=7, prior_hidden=(6,))
    opt = vaelite.Adam(model.parameters(), lr=1e-2)
    revive = reinit_dead_codes(x, opt, seed=3)
    vaelite.fit(model, x, 3, 2, opt, binarize=None, progress=False, callbacks=[revive])
    history = vaelite.fit_prior(model, x, 3, 2, seed=1, progress=False, test_data=x)
    return (history.train["loss"] + history.test["loss"], host(model.checkpoint_parameters()),
            model.sample_codes(20, rng(5)), model.sample(4, rng(6)), model.code_statistics(x),
            [d.tolist() for _, d in revive.revived])


def test_prior_paths_give_the_same_numbers_on_every_backend(any_backend):
    got = prior_everything()
    with vaelite.use_backend("numpy"):
        ref = prior_everything()
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-8)
    for p, r in zip(got[1], ref[1]):
        np.testing.assert_allclose(p, r, rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(got[2], ref[2])
    np.testing.assert_allclose(got[3], ref[3], rtol=1e-8)
    assert got[4]["used_codes"] == ref[4]["used_codes"]
    assert got[4]["prior_nll"] == pytest.approx(ref[4]["prior_nll"], rel=1e-8)
    assert got[5] == ref[5]
