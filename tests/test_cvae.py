"""The conditional VAE: its backward pass against finite differences (float64), the labels really
conditioning encoder and decoder, interpolation with labels and decoding under blended labels,
training with (images, labels), io, the backends, label errors, and the command line's
``train --model cvae`` and ``sample --label``."""
import re

import numpy as np
import pytest

import vaelite
from vaelite import evaluate, gradcheck, io
from vaelite.__main__ import main
from vaelite.data import load_mnist
from vaelite.models import CVAE, MODELS, VAE

TOL = 1e-6
D, H, L, B, C = 12, 7, 3, 6, 4  # input, hidden, latent, batch, classes


def cvae(likelihood="bernoulli", **kw):
    kw = {"hidden": (H,), "latent_dim": L, "n_classes": C, "dtype": np.float64, "seed": 3, **kw}
    return CVAE(D, likelihood=likelihood, **kw)


def data(likelihood="bernoulli", batch=B):
    x = np.random.default_rng(1).random((batch, D))
    return 2 * x - 0.5 if likelihood == "gaussian" else x


LABELS = np.array([0, 1, 2, 3, 1, 2])


@pytest.mark.parametrize("likelihood,variance,beta,act", [
    ("bernoulli", "fixed", 1.0, "relu"), ("bernoulli", "fixed", 0.5, "tanh"),
    ("gaussian", "pixel", 2.0, "softplus"), ("gaussian", "global", 1.0, "leaky_relu")])
def test_cvae_gradcheck(likelihood, variance, beta, act, backend):
    model = cvae(likelihood, variance=variance, beta=beta, activation=act, sigma=0.8)
    x, eps = data(likelihood), np.random.default_rng(2).standard_normal((B, L))
    parts = model.loss_and_grads(x, eps=eps, labels=LABELS)
    assert parts == model.loss(x, eps=eps, labels=LABELS)
    triples = [(n, p, g.copy()) for n, p, g in model.parameters()]
    errors = gradcheck.check_gradients(lambda: model.loss(x, eps=eps, labels=LABELS)["loss"],
                                       triples)
    assert set(errors) == {n for n, _, _ in model.parameters()}
    bad = {k: v for k, v in errors.items() if not v < TOL}
    assert not bad, f"relative errors above {TOL}: {bad}"


def test_layer_sizes_config_and_registry():
    model = cvae()
    assert MODELS["CVAE"] is CVAE and isinstance(model, VAE) and model.uses_labels
    shapes = {n: tuple(p.shape) for n, p, _ in model.parameters()}
    assert shapes["encoder.0.W"] == (D + C, H) and shapes["decoder.0.W"] == (L + C, H)
    assert model.config()["n_classes"] == C and model.config()["model"] == "CVAE"


def test_labels_condition_encoder_and_decoder(backend):
    model = cvae()
    x = data()
    mu_a = model.encode(x, LABELS)[0]
    mu_b = model.encode(x, (LABELS + 1) % C)[0]
    assert np.abs(mu_a - mu_b).max() > 1e-3  # the encoder reads the label
    z = np.repeat(np.random.default_rng(4).standard_normal((1, L)), C, axis=0)
    each = model.decode(z, np.arange(C))  # one z, every class: style kept, class changed
    assert each.shape == (C, D) and np.abs(each - each[0]).max() > 1e-3
    np.testing.assert_allclose(model.decode(z[:1], [2])[0], each[2], rtol=1e-12)
    # the same noise gives the same decoded class, and sample(labels=k) is decode(z, k)
    np.testing.assert_allclose(model.sample(3, 5, labels=2),
                               model.decode(np.random.default_rng(5).standard_normal((3, L)),
                                            [2, 2, 2]), rtol=1e-12)
    drawn = model.sample(200, 0)  # random classes: not all the same image
    assert drawn.shape == (200, D) and np.abs(drawn - drawn[0]).max() > 1e-3
    assert model.reconstruct(x, LABELS).shape == (B, D)


def test_log_likelihood_and_elbo_take_labels(backend):
    model = cvae()
    x = (data() > 0.5).astype(np.float64)
    ll = evaluate.log_likelihood(model, x, 200, rng=0, labels=LABELS, batch_size=4)
    bound = evaluate.elbo(model, x, 0, labels=LABELS)
    assert ll < 0 and -ll < bound["nelbo"] + 0.5  # L_200 is tighter than one-sample ELBO
    other = evaluate.log_likelihood(model, x, 200, rng=0, labels=(LABELS + 1) % C)
    assert other != ll
    with pytest.raises(ValueError, match="labels"):
        evaluate.log_likelihood(model, x, 5, rng=0, labels=LABELS[:3])


def test_interpolate_with_labels(backend):
    model = cvae()
    x = data()
    path = model.interpolate(x[0], x[1], 5, labels=(0, 2))  # decoded from class 0 to class 2
    assert path.shape == (5, D)
    np.testing.assert_allclose(path[0], model.reconstruct(x[:1], [0])[0], rtol=1e-10)
    np.testing.assert_allclose(path[-1], model.reconstruct(x[1:2], [2])[0], rtol=1e-10)
    c1, c2 = model.code(x[:1], [0]), model.code(x[1:2], [2])
    middle = (c1 + c2) / 2
    # one class for every step: the codes' path decoded under that class
    same = model.interpolate(x[:1], x[1:2], 3, labels=(0, 2), decode_labels=3)
    np.testing.assert_allclose(same, model.decode(np.concatenate([c1, middle, c2]), [3, 3, 3]),
                               rtol=1e-10)
    assert np.array_equal(same, model.interpolate(x[0], x[1], 3, (0, 2), (3, 3)))
    # a pair: the one-hot moves with the code; halfway the decoder reads [middle, 0.5, 0.5]
    mixed = model.interpolate(x[0], x[1], 3, labels=(0, 2), decode_labels=(1, 3))
    half = np.array([[0, 0.5, 0, 0.5]])
    np.testing.assert_allclose(mixed[1], model.decode_mixed(middle, half)[0], rtol=1e-10)
    assert np.abs(mixed[1] - same[1]).max() > 1e-4
    # the encoder reads the labels: other labels, other codes, another path
    assert np.abs(model.interpolate(x[0], x[1], 3, labels=(1, 3), decode_labels=3)
                  - same).max() > 1e-4


def test_decode_mixed_is_a_per_class_bias(backend):
    """A one-hot row is ``decode``; any blend w enters the first layer as w @ W_c, the label
    rows of its weight matrix, computed here by hand for the one-hidden-layer decoder."""
    model = cvae()
    z = np.random.default_rng(6).standard_normal((4, L))
    onehot = np.eye(C)[[2, 0, 3, 3]]
    np.testing.assert_allclose(model.decode_mixed(z, onehot), model.decode(z, [2, 0, 3, 3]),
                               rtol=1e-12)
    w = np.random.default_rng(7).dirichlet(np.ones(C), size=4)
    p = {name: vaelite.backends.current().to_host(param) for name, param, _ in
         model.parameters()}
    W1, b1, W2, b2 = p["decoder.0.W"], p["decoder.0.b"], p["decoder.2.W"], p["decoder.2.b"]
    hidden = np.maximum(z @ W1[:L] + w @ W1[L:] + b1, 0)
    expected = 1 / (1 + np.exp(-(hidden @ W2 + b2)))
    np.testing.assert_allclose(model.decode_mixed(z, w), expected, rtol=1e-10)


@pytest.mark.parametrize("kwargs,error,match", [
    ({}, ValueError, "labels"),
    ({"labels": (0, 4)}, ValueError, "labels"),
    ({"labels": (0.0, 1.0)}, TypeError, "labels"),
    ({"labels": (0, 1, 2)}, ValueError, "labels"),
    ({"labels": True}, TypeError, "labels"),
    ({"labels": (0, 1), "decode_labels": -1}, ValueError, "decode_labels"),
    ({"labels": (0, 1), "decode_labels": "a"}, TypeError, "decode_labels"),
    ({"labels": (0, 1), "steps": 1}, ValueError, "steps")])
def test_interpolate_errors_are_named(kwargs, error, match):
    model, x = cvae(), data()
    with pytest.raises(error, match=match):
        model.interpolate(x[0], x[1], **kwargs)


@pytest.mark.parametrize("weights,error", [
    (np.full((2, C), 0.3), ValueError), (np.full((2, C - 1), 1 / (C - 1)), ValueError),
    (np.array([[1.5, -0.5, 0, 0]] * 2), ValueError), (np.full((2, C), "a"), TypeError),
    (np.array([[np.nan, 1, 0, 0]] * 2), ValueError)])
def test_decode_mixed_errors_are_named(weights, error):
    with pytest.raises(error, match="weights"):
        cvae().decode_mixed(np.zeros((2, L)), weights)


@pytest.mark.parametrize("labels,error", [
    (None, ValueError), (LABELS[:4], ValueError), (LABELS.astype(float), TypeError),
    (np.array([0, 1, 2, 3, 4, 1]), ValueError), (np.array([0, -1, 2, 3, 1, 1]), ValueError),
    (LABELS[:, None], ValueError)])
def test_bad_labels_are_named(labels, error):
    model = cvae()
    with pytest.raises(error, match="labels"):
        model.loss(data(), 0, labels=labels)
    with pytest.raises((ValueError, TypeError), match="labels"):
        model.sample(3, 0, labels=C)
    with pytest.raises(TypeError, match="labels"):
        model.sample(3, 0, labels=True)
    with pytest.raises(ValueError, match="n_classes"):
        cvae(n_classes=1)


def test_fit_with_labels_lowers_the_loss_and_io_round_trip(tmp_path, backend):
    mnist = load_mnist()
    x, y = mnist.x_train[:300], mnist.y_train[:300]
    model = CVAE(hidden=(32,), latent_dim=4, seed=1)
    with pytest.raises(ValueError, match="labels"):
        vaelite.fit(model, x, 1, progress=False)
    history = vaelite.fit(model, (x, y), 3, 50, test_data=(mnist.x_test[:100],
                                                              mnist.y_test[:100]),
                          progress=False)
    assert history.train["loss"][-1] < history.train["loss"][0] - 20
    loaded = io.load(io.save(model, tmp_path / "cvae.npz"))
    assert isinstance(loaded, CVAE) and loaded.n_classes == 10
    z = np.random.default_rng(0).standard_normal((10, 4))
    np.testing.assert_array_equal(loaded.decode(z, np.arange(10)), model.decode(z, np.arange(10)))


def run_everything(name):
    with vaelite.use_backend(name):
        model = CVAE(D, (H,), L, n_classes=C, seed=2, dtype=np.float64)
        x = (data() > 0.5).astype(np.float64)
        vaelite.fit(model, (x, LABELS), 2, 3, progress=False)
        return {"loss": model.loss(x, 1, labels=LABELS)["loss"],
                "sample": model.sample(4, 3), "mu": model.encode(x, LABELS)[0],
                "ll": evaluate.log_likelihood(model, x, 10, rng=0, labels=LABELS),
                "recon": model.reconstruct(x, LABELS),
                "path": model.interpolate(x[0], x[1], 4, labels=(0, 1), decode_labels=(2, 3))}


def test_strict_and_numba_equal_numpy():
    results = {name: run_everything(name) for name in ("numpy", "numba", "strict")}
    for name in ("numba", "strict"):
        for key, value in results["numpy"].items():
            np.testing.assert_allclose(results[name][key], value, rtol=1e-8, atol=1e-10,
                                       err_msg=f"{name} {key}")


# --- the command line ---------------------------------------------------------------------------

TINY = ["--hidden", "16", "--epochs", "1", "--n-train", "300", "--no-progress"]


def one_line_error(capsys, status, match):
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert re.search(match, err), err


def test_cli_train_sample_evaluate_cvae(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "cvae", "--latent", "2", *TINY, "--out", str(out)]) == 0
    model = io.load(out / "model.npz")
    assert isinstance(model, CVAE) and model.n_classes == 10
    assert (out / "latent_scatter.png").exists() and not (out / "latent_manifold.png").exists()
    png = tmp_path / "sevens.png"
    assert main(["sample", str(out / "model.npz"), "--n", "8", "--label", "7",
                 "--out", str(png)]) == 0 and png.exists()
    assert main(["evaluate", str(out / "model.npz"), "--k", "5", "--n-test", "20"]) == 0
    assert "importance-weighted NLL" in capsys.readouterr().out
    one_line_error(capsys, main(["sample", str(out / "model.npz"), "--label", "10",
                                 "--out", str(png)]), r"--label 10.*0 to 9")


def test_cli_label_errors(tmp_path, capsys):
    path = io.save(VAE(hidden=(8,), latent_dim=2), tmp_path / "vae.npz")
    one_line_error(capsys, main(["sample", str(path), "--label", "3",
                                 "--out", str(tmp_path / "s.png")]), "--label needs a conditional")
    images = tmp_path / "images.npz"
    np.savez(images, x=np.random.default_rng(0).random((40, 16)))
    one_line_error(capsys, main(["train", "--model", "cvae", "--data", str(images), *TINY,
                                 "--out", str(tmp_path / "r")]), "cvae needs class labels")
