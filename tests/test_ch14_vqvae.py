"""Tests of chapter 14's helpers, figures and exercises (VQ-VAE and an autoregressive prior)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite.components import MADEPrior, VectorQuantizer  # noqa: E402
from vaelite.components.autoregressive_prior import made_masks  # noqa: E402
from vaelite.exercises import ch14_vqvae as ex  # noqa: E402
from vaelite.exercises import get, run_cases  # noqa: E402
from vaelite.widgets import render_frame  # noqa: E402
from vaelite.widgets import ch11_limits as w11  # noqa: E402
from vaelite.widgets import ch14_vqvae as w  # noqa: E402

TINY = {"hidden": (8,), "positions": 2, "code_dim": 2, "n_codes": 4, "epochs": 2,
        "batch_size": 20, "prior_hidden": (4,)}


@pytest.fixture(scope="module")
def tiny():
    """The chapter's training on 60 random 16-pixel 'images', with tiny settings."""
    x = np.random.default_rng(0).random((60, 16)).astype(np.float32)
    model, history, usage, seconds = w.train_vqvae(x, **TINY)
    return model, history, usage, x


# ----------------------------------------------------------------------------- training

def test_settings_give_the_vqvae_chapter_11s_budget():
    for key in ("hidden", "epochs", "batch_size", "lr"):
        assert w.SETTINGS[key] == w11.SETTINGS[key]


def test_train_vqvae_records_usage_before_and_after_each_epoch(tiny):
    model, history, usage, x = tiny
    assert usage.epochs == [0, 1, 2] and history.epoch == [1, 2]
    assert len(usage.used) == len(usage.perplexity) == 3
    assert all(1 <= u <= 4 for u in usage.used)
    assert all(1 - 1e-9 <= p <= u + 1e-9 for p, u in zip(usage.perplexity, usage.used))
    stats = model.code_statistics(x)
    assert usage.used[-1] == stats["used_codes"]
    assert usage.perplexity[-1] == pytest.approx(stats["perplexity"])
    assert list(model.prior.hidden) == [4] and not model.prior_trained


def test_revival_is_optional_and_changes_the_run():
    x = np.random.default_rng(1).random((60, 16)).astype(np.float32)
    revived = w.train_vqvae(x, **TINY)[2]
    plain = w.train_vqvae(x, revive=False, **TINY)[2]
    assert revived.used[0] == plain.used[0]  # same start
    assert (revived.used, revived.perplexity) != (plain.used, plain.perplexity)


# ----------------------------------------------------------------------------- straight-through

def test_as_float64_copies_every_parameter(tiny):
    model, _, _, x = tiny
    twin = w.as_float64(model)
    assert twin.dtype == np.float64 and twin.config()["positions"] == model.positions
    for (n, p, _), (m, q, _) in zip(twin.parameters(), model.parameters()):
        assert n == m and p.dtype == np.float64
        np.testing.assert_array_equal(p, q.astype(np.float64))
    xb = (x[:10] > 0.5).astype(np.float64)
    assert twin.loss(xb)["loss"] == pytest.approx(model.loss(xb.astype(np.float32))["loss"],
                                                  rel=1e-5)


def test_recon_at_the_quantised_code_is_the_models_reconstruction_term(tiny):
    model = w.as_float64(tiny[0])
    xb = (tiny[3][:10] > 0.5).astype(np.float64)
    z_q, _, _ = model.quantizer.forward(model.encoder_vectors(xb))
    assert w.recon_at(model, xb, z_q) == pytest.approx(model.loss(xb)["recon"], rel=1e-12)
    assert w.recon_at(model, xb, z_q.reshape(10, -1)) == w.recon_at(model, xb, z_q)


# ----------------------------------------------------------------------------- the MADE prior

def test_all_codes_enumerates_every_sequence_in_order():
    codes = w.all_codes(3, 2)
    assert codes.shape == (8, 3) and codes.dtype == np.int64
    np.testing.assert_array_equal(codes[[0, 1, 7]], [[0, 0, 0], [0, 0, 1], [1, 1, 1]])
    assert len({tuple(c) for c in w.all_codes(2, 5)}) == 25
    with pytest.raises((ValueError, TypeError), match="n_codes"):
        w.all_codes(2, 0)


def test_dependence_is_strictly_lower_triangular_for_a_made():
    prior = MADEPrior(4, 3, hidden=(12,), seed=0, dtype=np.float64)
    dep = w.dependence(prior, w.all_codes(4, 3), np.random.default_rng(0))
    assert dep.shape == (4, 4)
    assert np.all(dep[np.triu_indices(4)] == 0)
    assert np.all(dep[np.tril_indices(4, -1)] > 0)


def test_dependence_finds_a_connection_that_breaks_the_property():
    prior = MADEPrior(3, 2, hidden=(), seed=0, dtype=np.float64)
    cheat = prior.linears[0]
    cheat.mask[...] = 1.0                  # every output sees every input, its own included
    cheat.params["W"][...] = np.random.default_rng(1).normal(size=cheat.params["W"].shape)
    dep = w.dependence(prior, w.all_codes(3, 2), np.random.default_rng(0))
    assert np.all(np.diag(dep) > 0) and np.all(dep[np.triu_indices(3, 1)] > 0)


def test_independent_nll_by_hand():
    train = np.array([[0, 1], [0, 1], [1, 0]])
    # position 0: counts (2, 1) + 1 -> p = (3/5, 2/5); position 1: (1, 2) + 1 -> (2/5, 3/5)
    got = w.independent_nll(train, np.array([[0, 1], [1, 1]]), 2)
    expected = -np.mean([np.log(3 / 5) + np.log(3 / 5), np.log(2 / 5) + np.log(3 / 5)])
    assert got == pytest.approx(expected, rel=1e-12)
    assert w.independent_nll(train, train, 2, pseudo=0.0) < w.independent_nll(train, train, 2)


def test_conditional_is_the_softmax_of_the_logits():
    prior = MADEPrior(3, 4, hidden=(6,), seed=2, dtype=np.float64)
    codes = w.all_codes(3, 4)[::7]
    for i in range(3):
        p = w.conditional(prior, codes, i)
        logits = prior.logits(codes)[:, i, :]
        np.testing.assert_allclose(p, np.exp(logits) / np.exp(logits).sum(1, keepdims=True),
                                   rtol=1e-12)


def test_sampling_steps_narrow_down_to_one_image(tiny):
    model = tiny[0]
    frames = w.sampling_steps(model, n=5, seed=0)
    assert [f["step"] for f in frames] == list(range(model.positions + 1))
    assert [len(f["prefix"]) for f in frames] == list(range(model.positions + 1))
    code = frames[-1]["prefix"]
    for f in frames[:-1]:
        assert f["p"].shape == (4,) and f["p"].sum() == pytest.approx(1)
        assert f["chosen"] == code[f["step"]]
        assert f["completions"].shape == (5, 16)
    assert frames[-1]["p"] is None
    np.testing.assert_allclose(frames[-1]["completions"],
                               np.repeat(model.decode_indices(code[None]), 5, axis=0))


# ----------------------------------------------------------------------------- figures

def test_figures_draw(tiny):
    model, _, usage, _ = tiny
    figs = [w.draw_usage({"a": usage, "b": usage}),
            w.draw_masks(made_masks(3, 2, (6,)), np.tril(np.ones((3, 3)), -1))]
    x = np.random.default_rng(0).random((4, 784))
    frames = [{"step": 0, "prefix": np.array([], int), "completions": x,
               "p": np.full(4, 0.25), "chosen": 1},
              {"step": 1, "prefix": np.array([1]), "completions": x, "p": None,
               "chosen": None}]
    figs += [w.draw_sampling_step(frames, 0), w.draw_sampling_step(frames, 1)]
    for fig in figs:
        assert isinstance(fig, Figure)
        assert render_frame(fig).startswith("data:image/png;base64,")


# ----------------------------------------------------------------------------- exercises

@pytest.mark.parametrize("name", ["ch14.nearest_codes", "ch14.perplexity", "ch14.made_mask",
                                  "ch14.vq_backward"])
def test_reference_solutions_pass_their_checks(name):
    exercise = get(name)
    assert run_cases(exercise, exercise.reference).passed
    assert not run_cases(exercise, lambda *args: None).passed
    assert exercise.minutes > 0


def test_nearest_codes_matches_the_library():
    vq = VectorQuantizer(16, 3, seed=0, dtype=np.float64)
    z = 2 * np.random.default_rng(0).standard_normal((50, 3))
    np.testing.assert_array_equal(ex.nearest_codes(z, vq.params["codebook"]), vq.nearest(z))


def test_perplexity_matches_the_library_and_a_wrong_base_fails():
    vq = VectorQuantizer(8, 2)
    idx = np.random.default_rng(0).integers(0, 5, size=40)
    assert ex.perplexity(np.bincount(idx, minlength=8)) == pytest.approx(vq.perplexity(idx))

    def in_bits(counts):
        p = counts[counts > 0] / counts.sum()
        return float(2 ** (-np.sum(p * np.log2(p))) + 0.5)   # wrong on purpose
    assert not run_cases(get("ch14.perplexity"), in_bits).passed


def test_made_mask_rebuilds_the_librarys_masks():
    n_positions, n_codes, hidden = 3, 2, (6, 5)
    degrees = [np.repeat(np.arange(1, n_positions + 1), n_codes)]
    degrees += [1 + np.arange(h) % (n_positions - 1) for h in hidden]
    ours = [ex.made_mask(a, b) for a, b in zip(degrees, degrees[1:])]
    ours.append(ex.made_mask(degrees[-1], degrees[0], output=True))
    for a, b in zip(ours, made_masks(n_positions, n_codes, hidden)):
        np.testing.assert_array_equal(a, b)


def test_vq_backward_matches_the_library():
    rng = np.random.default_rng(0)
    vq = VectorQuantizer(6, 3, beta_commit=0.4, seed=1, dtype=np.float64)
    z_e, dz_q = rng.standard_normal((5, 4, 3)), rng.standard_normal((5, 4, 3))
    vq.forward(z_e)
    dz_e = vq.backward(dz_q)
    ours, d_codebook = ex.vq_backward(z_e, vq.params["codebook"].copy(), dz_q, 0.4)
    np.testing.assert_allclose(ours, dz_e, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d_codebook, vq.grads["codebook"], rtol=1e-12, atol=1e-15)
