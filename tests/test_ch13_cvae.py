"""Tests of chapter 13's helpers, figures and exercises (the conditional VAE)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite import CVAE, VAE, gradcheck  # noqa: E402
from vaelite.exercises import ch13_cvae as ex  # noqa: E402
from vaelite.exercises import get, run_cases  # noqa: E402
from vaelite.widgets import render_frame  # noqa: E402
from vaelite.widgets import ch13_cvae as w  # noqa: E402


def _shown(fig):
    assert isinstance(fig, Figure)
    assert render_frame(fig).startswith("data:image/png;base64,")


@pytest.fixture(scope="module")
def pair():
    """A tiny VAE and CVAE on 100 random 16-pixel images with labels, trained 2 epochs."""
    rng = np.random.default_rng(0)
    x, y = rng.random((100, 16)), rng.integers(0, 10, 100)
    models, seconds = w.train_pair(x, y, hidden=(8,), latent_dim=2, epochs=2, batch_size=50)
    return models, seconds, x, y


# ----------------------------------------------------------------------------- training

def test_train_pair_same_settings_and_seeded(pair):
    models, seconds, x, y = pair
    vae, cvae = models["VAE"], models["CVAE"]
    assert type(vae) is VAE and type(cvae) is CVAE and set(seconds) == {"VAE", "CVAE"}
    assert vae.hidden == cvae.hidden == [8] and vae.latent_dim == cvae.latent_dim == 2
    shapes = {n: p.shape for n, p, _ in cvae.parameters()}
    assert shapes["encoder.0.W"] == (16 + 10, 8) and shapes["decoder.0.W"] == (2 + 10, 8)
    again, _ = w.train_pair(x, y, hidden=(8,), latent_dim=2, epochs=2, batch_size=50)
    assert np.array_equal(again["CVAE"].code(x, y), cvae.code(x, y))
    assert w.SETTINGS["latent_dim"] == 2 and w.SETTINGS["hidden"] == (256,)


def test_mean_codes_reads_labels_only_for_a_cvae(pair):
    models, _, x, y = pair
    assert np.array_equal(w.mean_codes(models["VAE"], x, y), models["VAE"].code(x))
    assert np.array_equal(w.mean_codes(models["CVAE"], x, y), models["CVAE"].code(x, y))


# ----------------------------------------------------------------------------- probes

def test_softmax_gradients_against_finite_differences():
    rng = np.random.default_rng(1)
    codes, labels = rng.normal(size=(9, 3)), rng.integers(0, 4, 9)
    W, b = rng.normal(size=(3, 4)), rng.normal(size=4)
    loss, dW, db = w.softmax_loss_and_grads(W, b, codes, labels)
    errors = gradcheck.check_gradients(lambda: w.softmax_loss_and_grads(W, b, codes, labels)[0],
                                       [("W", W, dW), ("b", b, db)])
    assert max(errors.values()) < 1e-6, errors
    # the exercise's reference (one-hot and softmax written out) gives the same numbers
    for got, expected in zip(ex.softmax_loss_and_grads(W, b, codes, labels), (loss, dW, db)):
        assert np.allclose(got, expected, rtol=1e-10)
    # equal logits: log C
    assert np.isclose(w.softmax_loss_and_grads(np.zeros((3, 4)), np.zeros(4), codes,
                                               labels)[0], np.log(4))


def test_probe_reads_separable_codes_and_not_noise():
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(10), 40)
    centres = 5 * rng.normal(size=(10, 4))
    separable = centres[labels] + rng.normal(size=(400, 4))
    noise = rng.normal(size=(400, 4))
    order = rng.permutation(400)
    train, test = order[:300], order[300:]
    good = w.label_information(separable[train], labels[train], separable[test], labels[test])
    bad = w.label_information(noise[train], labels[train], noise[test], labels[test])
    assert good["knn"] > 0.95 and good["linear"] > 0.9 and good["mi_bound"] > 1.8
    assert bad["knn"] < 0.25 and bad["linear"] < 0.25 and bad["mi_bound"] < 0.1
    h = -np.sum(np.bincount(labels[test]) / 100 * np.log(np.bincount(labels[test]) / 100))
    assert np.isclose(good["entropy"], h)
    assert np.isclose(good["mi_bound"], good["entropy"] - good["cross_entropy"])
    assert good["mi_bound"] <= good["entropy"]


def test_fitted_probe_lowers_the_loss_and_matches_the_exercise_bound():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 200)
    codes = labels[:, None] + 0.5 * rng.normal(size=(200, 2))
    probe = w.fit_linear_probe(codes, labels, n_classes=3)
    log_p = probe["predict_log_proba"](codes)
    assert log_p.shape == (200, 3) and np.allclose(np.exp(log_p).sum(axis=1), 1)
    assert -np.mean(log_p[np.arange(200), labels]) < 0.5 * np.log(3)
    info_bound = ex.mi_lower_bound(log_p, labels)
    shares = np.bincount(labels) / 200
    assert np.isclose(info_bound, -np.sum(shares * np.log(shares))
                      + np.mean(log_p[np.arange(200), labels]))


def test_bad_inputs_are_named():
    codes, labels = np.zeros((5, 2)), np.arange(5)
    with pytest.raises(ValueError, match="codes_train"):
        w.label_information(codes[:, 0], labels, codes, labels)
    with pytest.raises(ValueError, match="codes_test"):
        w.label_information(codes, labels, codes, labels[:3])
    with pytest.raises(ValueError, match="same width"):
        w.label_information(codes, labels, np.zeros((5, 3)), labels)
    with pytest.raises(ValueError, match="q_z"):
        w.kl_split(np.full((2, 2), 0.25), np.full((2, 3, 4), 0.25))
    with pytest.raises(ValueError, match="distribution"):
        w.kl_split(np.full((2, 2), 0.25), np.full((2, 2, 4), 0.5))
    with pytest.raises(ValueError, match="n_per_class"):
        w.generated_accuracy(CVAE(hidden=(4,), latent_dim=2), lambda im: im, 0, 0)


# ----------------------------------------------------------------------------- the KL term

def test_kl_split_adds_up_and_has_the_known_cases():
    rng = np.random.default_rng(4)
    p_xy = rng.dirichlet(np.ones(15)).reshape(5, 3)
    q = rng.dirichlet(np.ones(6), size=(5, 3))
    parts = w.kl_split(p_xy, q)
    assert np.isclose(parts["kl"], parts["i_xz_given_y"] + parts["i_zy"] + parts["kl_marginal"])
    assert all(v >= -1e-12 for v in parts.values())
    # an encoder that ignores x and y and outputs the prior: nothing at all
    uniform = w.kl_split(p_xy, np.full((5, 3, 6), 1 / 6))
    assert all(abs(v) < 1e-12 for v in uniform.values())
    # a code that copies y: I(z; y) = H(y), no style
    copy = np.zeros((5, 3, 6))
    for k in range(3):
        copy[:, k, k] = 1
    p_y = p_xy.sum(axis=0)
    split = w.kl_split(p_xy, copy)
    assert np.isclose(split["i_zy"], -np.sum(p_y * np.log(p_y)))
    assert abs(split["i_xz_given_y"]) < 1e-12 and np.isclose(split["kl"], np.log(6))


# ----------------------------------------------------------------------------- generation

def test_every_class_is_decode_under_each_label(pair):
    cvae = pair[0]["CVAE"]
    z = np.random.default_rng(5).standard_normal((3, 2))
    grid = w.every_class(cvae, z)
    assert grid.shape == (3, 10, 16)
    np.testing.assert_allclose(grid[1, 7], cvae.decode(z[1:2], [7])[0], rtol=1e-6)
    np.testing.assert_allclose(grid[2], cvae.decode(np.repeat(z[2:], 10, axis=0),
                                                    np.arange(10)), rtol=1e-6)


def test_confusion_matrix_and_generated_accuracy(pair):
    assert np.array_equal(w.confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1], 3),
                          [[1, 1, 0], [0, 1, 0], [0, 1, 0]])
    cvae = pair[0]["CVAE"]

    def cheat(images):  # a judge that knows the requested order: class-major, 4 each
        return np.repeat(np.arange(10), 4)
    acc, per_class, confusion, images = w.generated_accuracy(cvae, cheat, 4,
                                                             np.random.default_rng(6))
    assert acc == 1.0 and np.all(per_class == 1) and np.array_equal(confusion, 4 * np.eye(10))
    assert images.shape == (40, 16)
    np.testing.assert_allclose(images[4:8], cvae.sample(40, np.random.default_rng(6),
                                                        labels=np.repeat(np.arange(10), 4))[4:8])

    def always_three(images):
        return np.full(len(images), 3)
    acc, per_class, confusion, _ = w.generated_accuracy(cvae, always_three, 4, 0)
    assert np.isclose(acc, 0.1) and per_class[3] == 1 and confusion[:, 3].sum() == 40


# ----------------------------------------------------------------------------- figures

def test_figures(pair):
    models, _, x, y = pair
    rng = np.random.default_rng(7)
    _shown(w.draw_class_grid(rng.random((3, 10, 784)), ["a", "b", "c"]))
    _shown(w.draw_class_grid(rng.random((2, 10, 784))))
    _shown(w.draw_codes({"VAE": (rng.normal(size=(50, 2)), rng.integers(0, 10, 50)),
                         "CVAE": (rng.normal(size=(50, 2)), rng.integers(0, 10, 50))}))
    info = {"VAE": {"knn": 0.6, "linear": 0.5, "mi_bound": 0.9, "entropy": np.log(10)},
            "CVAE": {"knn": 0.2, "linear": 0.15, "mi_bound": 0.05, "entropy": np.log(10)}}
    _shown(w.draw_label_information(info))
    _shown(w.draw_confusion(np.diag(np.arange(1, 11)), "title"))


def test_widget_frame():
    cvae = CVAE(hidden=(8,), latent_dim=2, seed=0)
    _shown(w.draw_class_manifold(cvae, 3, 0.5, -1.0, n=4))
    _shown(w.draw_class_manifold(cvae, 0, judge=lambda images: np.zeros(len(images), int)))
    with pytest.raises(ValueError, match="labels"):
        w.draw_class_manifold(cvae, 10)


# ----------------------------------------------------------------------------- exercises

def test_first_layer_reference_equals_the_concatenation_in_the_library():
    cvae = CVAE(input_dim=16, hidden=(8,), latent_dim=2, seed=1, dtype=np.float64)
    first = cvae.encoder.mlp.blocks[0][0]
    x, y = np.random.default_rng(8).random((6, 16)), np.array([0, 9, 3, 3, 5, 1])
    joined = np.concatenate([x, np.eye(10)[y]], axis=1) @ first.params["W"] + first.params["b"]
    got = ex.first_layer_with_label(x, y, first.params["W"], first.params["b"])
    assert np.allclose(got, joined, rtol=1e-12)


def test_typical_mistakes_fail():
    def forgot_offset(x, labels, W, b):   # row y instead of row d + y
        return x @ W[:x.shape[1]] + W[labels] + b
    assert not run_cases(get("ch13.first_layer_with_label"), forgot_offset).passed

    def summed_not_mean(W, b, codes, labels):
        loss, dW, db = ex.softmax_loss_and_grads(W, b, codes, labels)
        return loss * len(labels), dW * len(labels), db * len(labels)
    assert not run_cases(get("ch13.softmax_loss_and_grads"), summed_not_mean).passed

    def no_shift(W, b, codes, labels):    # exp(1000) overflows
        with np.errstate(all="ignore"):
            logits = codes @ W + b
            p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            delta = (p - np.eye(W.shape[1])[labels]) / len(labels)
            return (-np.mean(np.log(p[np.arange(len(labels)), labels])), codes.T @ delta,
                    delta.sum(axis=0))
    result = run_cases(get("ch13.softmax_loss_and_grads"), no_shift)
    assert not result.passed and result.failures[0].case == 2

    def log_c_not_entropy(log_proba, labels):   # H(y) taken as log C: wrong when unbalanced
        return np.log(log_proba.shape[1]) + np.mean(log_proba[np.arange(len(labels)), labels])
    result = run_cases(get("ch13.mi_lower_bound"), log_c_not_entropy)
    assert not result.passed and result.failures[0].case == 3
