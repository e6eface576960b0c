"""Tests of the command line (vaelite/__main__.py), run in-process with tiny settings."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from vaelite import VAE, Autoencoder
from vaelite.__main__ import main
from vaelite.io import load, load_metadata, save

PNG = b"\x89PNG\r\n\x1a\n"
TINY = ["--hidden", "32", "--epochs", "1", "--n-train", "500", "--no-progress"]


@pytest.fixture(scope="module")
def run2(tmp_path_factory):
    """A tiny VAE with a 2-D latent space trained by the CLI; returns (folder, stdout)."""
    out = tmp_path_factory.mktemp("vae2")
    from contextlib import redirect_stdout
    from io import StringIO
    buffer = StringIO()
    with redirect_stdout(buffer):
        status = main(["train", "--latent", "2", *TINY, "--seed", "3", "--out", str(out)])
    assert status == 0
    return out, buffer.getvalue()


def assert_one_line_error(capsys, status, match):
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert re.search(match, captured.err), captured.err


def test_train_writes_checkpoint_metrics_and_figures(run2):
    out, stdout = run2
    files = sorted(p.name for p in out.iterdir())
    assert files == ["latent_manifold.png", "latent_scatter.png", "loss_curves.png",
                     "metrics.json", "model.npz", "reconstructions.png", "samples.png"]
    assert all((out / f).read_bytes().startswith(PNG) for f in files if f.endswith(".png"))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["model"]["latent_dim"] == 2
    assert metrics["config"]["model"]["hidden"] == [32]
    assert metrics["config"]["training"]["seed"] == 3 and metrics["n_train"] == 500
    assert metrics["history"]["epoch"] == [1] and len(metrics["history"]["train_loss"]) == 1
    assert metrics["final_test"]["loss"] == metrics["history"]["test_loss"][-1]
    assert 100 < metrics["final_test"]["nelbo"] < 600
    assert "epoch 1/1" in stdout and "final test loss" in stdout
    model = load(out / "model.npz")
    assert isinstance(model, VAE) and model.hidden == [32] and model.latent_dim == 2
    assert load_metadata(out / "model.npz")["training"]["binarize"] == "dynamic"


def test_evaluate_prints_elbo_and_iw_nll(run2, capsys):
    out, _ = run2
    assert main(["evaluate", str(out / "model.npz"), "--k", "20", "--n-test", "100"]) == 0
    text = capsys.readouterr().out
    nelbo = float(re.search(r"test negative ELBO: ([\d.]+) nats", text).group(1))
    nll = float(re.search(r"importance-weighted NLL \(k=20\): ([\d.]+) nats", text).group(1))
    assert "test digits: 100 (subset, binarized once, seed 1)" in text
    assert 50 < nll < nelbo + 1  # the IW bound is tighter (up to Monte-Carlo noise)


def test_sample_writes_a_png(run2, tmp_path, capsys):
    out, _ = run2
    target = tmp_path / "grid" / "s.png"
    assert main(["sample", str(out / "model.npz"), "--n", "9", "--out", str(target)]) == 0
    assert target.read_bytes().startswith(PNG)
    assert str(target) in capsys.readouterr().out


def test_train_an_autoencoder_with_static_binarization(tmp_path, capsys):
    out = tmp_path / "ae"
    args = ["train", "--model", "autoencoder", "--latent", "3", *TINY, "--binarize", "static",
            "--out", str(out)]
    assert main(args) == 0
    assert isinstance(load(out / "model.npz"), Autoencoder)
    assert not (out / "samples.png").exists() and (out / "reconstructions.png").exists()
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.npz"), "--n-test", "50"]) == 0
    assert "reconstruction loss" in capsys.readouterr().out
    status = main(["sample", str(out / "model.npz")])
    assert_one_line_error(capsys, status, "Autoencoder.*no prior")


def test_evaluate_without_metadata_binarizes_a_bernoulli_model(tmp_path, capsys):
    path = save(VAE(hidden=(8,), latent_dim=2), tmp_path / "bare.npz")
    assert main(["evaluate", str(path), "--k", "2", "--n-test", "20"]) == 0
    assert "binarized once" in capsys.readouterr().out


@pytest.mark.parametrize("args, match", [
    (["evaluate", "missing.npz"], "no checkpoint at missing.npz"),
    (["sample", "missing.npz"], "no checkpoint"),
    (["train", "--epochs", "0"], "--epochs: expected a positive integer"),
    (["train", "--epochs", "many"], "--epochs"),
    (["train", "--lr", "-1"], "--lr"),
    (["train", "--binarize", "maybe"], "invalid choice"),
    (["train", "--no-such-option"], "unrecognized arguments"),
    (["train", "--model", "autoencoder", "--beta", "4"], "--beta applies to --model vae"),
    (["fly"], "invalid choice"),
    ([], "required"),
])
def test_errors_are_one_line_with_status_2(args, match, capsys):
    assert_one_line_error(capsys, main(args), match)


def test_corrupt_checkpoint(tmp_path, capsys):
    path = tmp_path / "model.npz"
    path.write_bytes(b"not a checkpoint")
    assert_one_line_error(capsys, main(["evaluate", str(path)]), "model.npz is not a readable")


def test_diverging_training_is_reported(tmp_path, capsys):
    args = ["train", "--hidden", "8", "--lr", "1e9", "--epochs", "3", "--n-train", "256",
            "--no-progress", "--out", str(tmp_path)]
    with np.errstate(all="ignore"):
        status = main(args)
    assert_one_line_error(capsys, status, r"loss became .* epoch \d, step \d.*learning rate")


def test_help_describes_options_and_examples(capsys):
    assert main(["--help"]) == 0
    assert "examples:" in capsys.readouterr().out
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--latent", "--hidden", "--likelihood", "--beta", "--binarize", "--out",
                   "--no-progress", "(default: 128)"):
        assert option in text


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "vaelite", "evaluate", "nowhere.npz"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "vaelite evaluate: error: no checkpoint at nowhere.npz"


def test_full_mnist_missing_offline_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VAELITE_DATA", str(tmp_path))  # an empty cache; no download requested
    status = main(["train", "--data", "full", *TINY, "--out", str(tmp_path / "run")])
    assert_one_line_error(capsys, status, "full MNIST is not in .*download")


def test_the_numba_backend_trains_to_the_same_numbers(tmp_path, capsys):
    """--backend numba runs the compiled kernels: the same metrics as numpy, within float32
    rounding, and the library's backend is restored afterwards."""
    import vaelite
    before = vaelite.get_backend()
    metrics = {}
    for backend in ("numpy", "numba"):
        out = tmp_path / backend
        assert main(["train", *TINY, "--backend", backend, "--out", str(out)]) == 0
        metrics[backend] = json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    assert vaelite.get_backend() == before
    a, b = (metrics[k]["history"]["train_loss"][-1] for k in ("numpy", "numba"))
    assert np.isclose(a, b, rtol=1e-4), (a, b)
    status = main(["train", *TINY, "--backend", "cupy", "--out", str(tmp_path / "x")])
    assert status == 2 and "the cupy backend needs" in capsys.readouterr().err


# --------------------------------------------------------------------------- your own data (--data PATH)

SMALL = ["--hidden", "16", "--latent", "2", "--epochs", "2", "--no-progress"]


def strokes(n=300, seed=0):
    """n digit-like 8x8 images, uint8 0..255, of 4 classes (a row, a column, a diagonal, a
    box) at random places over faint noise; labels 0..3."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 8, 8), np.float32)
    y = np.arange(n) % 4
    for i, label in enumerate(y):
        a, b = rng.integers(1, 7, size=2)
        if label == 0:
            x[i, a, 1:7] = 1
        elif label == 1:
            x[i, 1:7, b] = 1
        elif label == 2:
            steps = np.arange(1, 7)
            x[i, steps, steps if a < 4 else 7 - steps] = 1
        else:
            x[i, 2:6, 2] = x[i, 2:6, 5] = x[i, 2, 2:6] = x[i, 5, 2:6] = 1
    x = np.clip(x + 0.15 * rng.random(x.shape, dtype=np.float32), 0, 1)
    return (x * 255).astype(np.uint8), y


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The stroke images in the formats a user may have: .npz of (n, 8, 8) uint8 with labels,
    .npz of (n, 64) floats, .npz of (n, 48) floats (not square), .npy of (n, 8, 8) uint8."""
    folder = tmp_path_factory.mktemp("data")
    x, y = strokes()
    flat = x.reshape(len(x), 64).astype(np.float32) / 255
    np.savez(folder / "strokes.npz", x=x, y=y)
    np.savez(folder / "flat.npz", x=flat, y=y)
    np.savez(folder / "wide.npz", x=flat[:, :48])
    np.save(folder / "strokes.npy", x)
    return folder


@pytest.fixture(scope="module")
def run8(files, tmp_path_factory):
    """A tiny VAE trained by the CLI on strokes.npz; returns (folder, stdout, image shapes the
    figures were drawn at)."""
    import vaelite.plot as plot
    from contextlib import redirect_stdout
    from io import StringIO
    out, buffer = tmp_path_factory.mktemp("run8") / "run", StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(buffer):
        shapes = _spy_on_drawn_shapes(patch, plot)
        status = main(["train", "--data", str(files / "strokes.npz"), *SMALL, "--out", str(out)])
    assert status == 0
    return out, buffer.getvalue(), shapes


def _spy_on_drawn_shapes(patch, plot):
    """Record the (h, w) of every image grid vaelite.plot draws."""
    shapes, as_images = set(), plot._as_images

    def spy(*args, **kwargs):
        images = as_images(*args, **kwargs)
        shapes.add(images.shape[1:])
        return images
    patch.setattr(plot, "_as_images", spy)
    return shapes


def test_train_on_an_npz_of_8x8_images(run8, files):
    out, stdout, shapes = run8
    assert sorted(p.name for p in out.iterdir()) == [
        "latent_manifold.png", "latent_scatter.png", "loss_curves.png", "metrics.json",
        "model.npz", "reconstructions.png", "samples.png"]
    assert shapes == {(8, 8)}  # reconstructions, samples and the manifold at the images' shape
    assert "note: strokes.npz: x is uint8" in stdout and "divided by 255" in stdout
    assert "270 training and 30 test images of 8x8" in stdout and "on 30 images" in stdout
    source = load_metadata(out / "model.npz")["data"]
    assert source["source"] == str(files / "strokes.npz") and len(source["sha256"]) == 64
    assert (source["n_train"], source["n_test"], source["test_size"], source["seed"]) \
        == (270, 30, 30, 0)
    assert source["image_shape"] == [8, 8]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["data"] == source and metrics["n_test"] == 30
    assert metrics["config"]["model"]["input_dim"] == 64
    assert np.isfinite(metrics["final_test"]["nelbo"])
    assert load(out / "model.npz").input_dim == 64


def test_evaluate_uses_the_runs_held_out_split(run8, files, capsys):
    out, _, _ = run8
    assert main(["evaluate", str(out / "model.npz"), "--k", "20"]) == 0
    text = capsys.readouterr().out
    assert "test images: 30 (the held-out split of" in text and "30 of 300, split seed 0" in text
    nelbo = float(re.search(r"test negative ELBO: ([\d.]+) nats", text).group(1))
    nll = float(re.search(r"importance-weighted NLL \(k=20\): ([\d.]+) nats", text).group(1))
    assert 0 < nll < nelbo + 1 and np.isfinite(nelbo)
    # The same file named explicitly: still its held-out split; another file: all its images.
    assert main(["evaluate", str(out / "model.npz"), "--k", "2",
                 "--data", str(files / "strokes.npz")]) == 0
    assert "the held-out split" in capsys.readouterr().out
    assert main(["evaluate", str(out / "model.npz"), "--k", "2",
                 "--data", str(files / "flat.npz")]) == 0
    assert "test images: 300 (every image of" in capsys.readouterr().out


def test_a_64_input_model_is_never_scored_on_mnist(run8, tmp_path, capsys):
    out, _, _ = run8
    status = main(["evaluate", str(out / "model.npz"), "--data", "subset"])
    assert_one_line_error(capsys, status, "model of 64 inputs, but MNIST digits have 784")
    bare = save(VAE(input_dim=64, hidden=(8,), latent_dim=2), tmp_path / "bare.npz")
    status = main(["evaluate", str(bare)])  # no metadata: no data file to fall back on
    assert_one_line_error(capsys, status, "64 inputs whose metadata names no data file")


def test_sample_from_a_run_on_own_data(run8, tmp_path, capsys):
    out, _, _ = run8
    target = tmp_path / "s.png"
    assert main(["sample", str(out / "model.npz"), "--n", "9", "--out", str(target)]) == 0
    assert target.read_bytes().startswith(PNG)
    capsys.readouterr()
    status = main(["sample", str(out / "model.npz"), "--image-shape", "4", "4"])
    assert_one_line_error(capsys, status, "holds 16 pixels, but the model's images have 64")


def test_flat_float_images_and_an_npy(files, tmp_path, monkeypatch, capsys):
    import vaelite.plot as plot
    for name, extra in (("flat.npz", []), ("strokes.npy", []),
                        ("flat.npz", ["--image-shape", "8", "8"])):
        assert main(["train", "--data", str(files / name), *SMALL, *extra,
                     "--out", str(tmp_path / "run")]) == 0
        assert load_metadata(tmp_path / "run" / "model.npz")["data"]["image_shape"] == [8, 8]
    capsys.readouterr()
    # 48 values per image: not a square, so the shape must be given ...
    status = main(["train", "--data", str(files / "wide.npz"), *SMALL, "--out", str(tmp_path)])
    assert_one_line_error(capsys, status, "48 values per image, not a square.*--image-shape H W")
    # ... and then every figure is drawn at 6x8, including the samples of 'vaelite sample'.
    shapes = _spy_on_drawn_shapes(monkeypatch, plot)
    out = tmp_path / "wide"
    assert main(["train", "--data", str(files / "wide.npz"), "--image-shape", "6", "8", *SMALL,
                 "--test-size", "50", "--split-seed", "7", "--out", str(out)]) == 0
    assert main(["sample", str(out / "model.npz"), "--out", str(tmp_path / "s.png")]) == 0
    assert shapes == {(6, 8)}
    source = load_metadata(out / "model.npz")["data"]
    assert (source["n_test"], source["seed"], source["image_shape"]) == (50, 7, [6, 8])
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.npz"), "--k", "2"]) == 0
    assert "test images: 50 (the held-out split" in capsys.readouterr().out


@pytest.fixture
def bad_files(tmp_path):
    rng = np.random.default_rng(0)
    with_nan = rng.random((20, 64))
    with_nan[3, 5] = np.nan
    np.savez(tmp_path / "nan.npz", x=with_nan)
    np.savez(tmp_path / "range.npz", x=rng.random((20, 64)) * 16)  # 0..16, not uint8
    np.savez(tmp_path / "nox.npz", images=rng.random((20, 64)))
    np.save(tmp_path / "flat1d.npy", rng.random(64))
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    np.savez(tmp_path / "ok.npz", x=rng.random((20, 64)))
    (tmp_path / "a_file").write_text("not a folder")
    return tmp_path


@pytest.mark.parametrize("data, extra, match", [
    ("missing.npz", [], "no data file at .*missing.npz .*--data takes subset, full, or"),
    ("corrupt.npz", [], "corrupt.npz is not a readable .npz or .npy file"),
    ("nox.npz", [], r"nox.npz has no array 'x' \(it holds: images\)"),
    ("nan.npz", [], "x in .*nan.npz contains NaN or Inf"),
    ("range.npz", [], r"x in .*range.npz must lie in \[0, 1\].*Bernoulli"),
    ("flat1d.npy", [], r"x in .*flat1d.npy must have shape \(n, d\) or \(n, h, w\), got shape \(64,\)"),
    ("ok.npz", ["--image-shape", "7", "9"], "64 values per image, but image_shape 7x9 holds 63"),
    ("ok.npz", ["--test-size", "20"], "test_size must be between 1 and 19"),
    ("ok.npz", ["--out", "{folder}/a_file/run"], "--out .*a_file/run is not a writable folder"),
    ("subset", ["--image-shape", "28", "28"], "--image-shape applies to --data PATH only"),
])
def test_bad_data_files_are_one_line_errors(bad_files, data, extra, match, capsys):
    path = data if data == "subset" else str(bad_files / data)
    extra = [arg.format(folder=bad_files) for arg in extra]
    out = ["--out", str(bad_files / "run")] if "--out" not in extra else []
    status = main(["train", "--data", path, *SMALL, *out, *extra])
    assert_one_line_error(capsys, status, match)
    assert not (bad_files / "run").exists()  # nothing trained, nothing written


def test_gaussian_decoder_takes_values_outside_0_1(bad_files, tmp_path):
    assert main(["train", "--data", str(bad_files / "range.npz"), "--likelihood", "gaussian",
                 "--binarize", "none", *SMALL, "--out", str(tmp_path / "g")]) == 0


@pytest.fixture
def good_run(files, tmp_path, capsys):
    """A folder holding a good run; returns (folder, {file name: bytes})."""
    out = tmp_path / "run"
    assert main(["train", "--data", str(files / "strokes.npz"), *SMALL, "--out", str(out)]) == 0
    capsys.readouterr()
    return out, {p.name: p.read_bytes() for p in out.iterdir()}


def test_divergence_leaves_a_good_run_untouched(good_run, files, capsys):
    out, before = good_run
    status = main(["train", "--data", str(files / "strokes.npz"), *SMALL, "--lr", "1e9",
                   "--out", str(out)])
    assert_one_line_error(capsys, status, f"training diverged: .*nothing was written to {out}")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_nan_weights_after_the_last_step_are_never_saved(good_run, files, monkeypatch, capsys):
    """A run whose last step blows up: the loss of every step was finite, the weights are not."""
    import vaelite.train
    out, before = good_run
    real_fit = vaelite.train.fit

    def fit_then_blow_up(model, *args, **kwargs):
        history = real_fit(model, *args, **kwargs)
        model.parameters()[-1][1][...] = np.nan
        return history
    monkeypatch.setattr(vaelite.train, "fit", fit_then_blow_up)
    status = main(["train", "--data", str(files / "strokes.npz"), *SMALL, "--out", str(out)])
    assert_one_line_error(capsys, status, "training diverged: parameter .* NaN or Inf")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("broken", ["elbo", "nll"])
def test_evaluate_never_prints_nan_nats(run8, broken, monkeypatch, capsys):
    import vaelite.evaluate
    out, _, _ = run8
    if broken == "elbo":
        monkeypatch.setattr(vaelite.evaluate, "elbo", lambda *a, **k: {
            "loss": float("nan"), "recon": float("nan"), "kl": 1.0, "nelbo": float("nan")})
    else:
        monkeypatch.setattr(vaelite.evaluate, "nll", lambda *a, **k: float("inf"))
    status = main(["evaluate", str(out / "model.npz"), "--k", "2"])
    captured = capsys.readouterr()
    assert status == 2 and "nan nats" not in captured.out and "inf nats" not in captured.out
    assert captured.err.count("\n") == 1 and "not a finite number" in captured.err


def test_evaluate_notices_a_changed_data_file(files, tmp_path, capsys):
    data = tmp_path / "mine.npz"
    data.write_bytes((files / "strokes.npz").read_bytes())
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), *SMALL, "--out", str(out)]) == 0
    x, y = strokes(seed=1)
    np.savez(data, x=x, y=y)
    capsys.readouterr()
    status = main(["evaluate", str(out / "model.npz")])
    assert_one_line_error(capsys, status, "mine.npz changed since .* was trained on it")
    data.unlink()
    status = main(["evaluate", str(out / "model.npz")])
    assert_one_line_error(capsys, status, "mine.npz, which is no longer there")


@pytest.mark.parametrize("error", ["ChecksumError", "DownloadError"])
def test_download_and_checksum_errors_are_one_line(error, tmp_path, monkeypatch, capsys):
    import vaelite.data

    def fail(*args, **kwargs):
        raise getattr(vaelite.data, error)(f"{error} happened.\n  details on a second line")
    monkeypatch.setattr(vaelite.data, "load_mnist", fail)
    status = main(["train", "--data", "full", *SMALL, "--out", str(tmp_path / "run")])
    assert_one_line_error(capsys, status, f"{error} happened. details on a second line")


def test_free_bits_and_kl_warmup_reach_the_model(tmp_path, capsys):
    out = tmp_path / "fb"
    assert main(["train", *TINY, "--latent", "3", "--epochs", "2", "--free-bits", "0.5",
                 "--kl-warmup", "2", "--out", str(out)]) == 0
    model = load(out / "model.npz")
    assert model.posterior.free_bits == 0.5 and model.beta == 1.0
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert history["train_beta"] == [0.5, 1.0]
    status = main(["train", *TINY, "--model", "autoencoder", "--free-bits", "1",
                   "--out", str(tmp_path / "ae")])
    assert status == 2 and "--free-bits applies to --model vae only" in capsys.readouterr().err


VQ = ["--model", "vqvae", "--hidden", "16", "--epochs", "3", "--positions", "3", "--code-dim",
      "2", "--n-codes", "6", "--prior-epochs", "4", "--prior-hidden", "12", "--lr", "1e-2",
      "--no-progress"]


@pytest.fixture(scope="module")
def runvq(files, tmp_path_factory):
    """A tiny VQ-VAE and its prior trained by the CLI on strokes.npz: (folder, stdout)."""
    from contextlib import redirect_stdout
    from io import StringIO
    out, buffer = tmp_path_factory.mktemp("runvq") / "run", StringIO()
    with redirect_stdout(buffer):
        status = main(["train", "--data", str(files / "strokes.npz"), *VQ, "--out", str(out)])
    assert status == 0
    return out, buffer.getvalue()


def test_train_a_vqvae_then_its_prior(runvq):
    from vaelite import VQVAE
    out, stdout = runvq
    assert sorted(p.name for p in out.iterdir()) == [
        "loss_curves.png", "metrics.json", "model.npz", "prior_loss_curves.png",
        "reconstructions.png", "samples.png", "samples_uniform_prior.png"]
    model = load(out / "model.npz")
    assert isinstance(model, VQVAE) and model.prior_trained and model.prior.hidden == [12]
    assert (model.positions, model.quantizer.code_dim, model.quantizer.n_codes) == (3, 2, 6)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["model"] == model.config()
    prior = metrics["prior"]
    assert prior["history"]["epoch"] == [1, 2, 3, 4]
    nll = prior["history"]["test_loss"]
    assert prior["test_codes"]["prior_nll"] == pytest.approx(nll[-1], rel=1e-5)
    assert prior["uniform_nll"] == pytest.approx(3 * np.log(6))
    assert prior["history"]["train_loss"][-1] < prior["history"]["train_loss"][0]
    assert 1 <= prior["test_codes"]["perplexity"] <= prior["test_codes"]["used_codes"] <= 6
    assert [epoch for epoch, _ in prior["revived_codes"]] == [1, 2]  # none after the last
    assert set(metrics["final_test"]) == {"loss", "recon", "codebook", "commitment"}
    assert "prior epoch 4/4" in stdout
    assert f"prior: test NLL {nll[-1]:.2f} nats per code sequence" in stdout


def test_evaluate_a_vqvae_reports_codes_prior_and_a_bound(runvq, files, capsys):
    from vaelite.data import load_array_file
    from vaelite.train import prepare_test_images
    out, _ = runvq
    assert main(["evaluate", str(out / "model.npz")]) == 0
    text = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    recon = float(re.search(r"reconstruction -log p\(x\|c\): ([\d.]+) nats", text).group(1))
    nll = float(re.search(r"prior NLL -log p\(c\): ([\d.]+) nats per code", text).group(1))
    bound = float(re.search(r"upper bound on -log p\(x\): ([\d.]+) nats", text).group(1))
    assert recon == pytest.approx(metrics["final_test"]["recon"], abs=0.006)
    assert nll == pytest.approx(metrics["prior"]["test_codes"]["prior_nll"], abs=0.006)
    # the bound, recomputed from the model: mean over images of -log p(x|c*) - log p(c*)
    model = load(out / "model.npz")
    x = prepare_test_images(load_array_file(files / "strokes.npz", test_size=0.1,
                                            seed=0).x_test, "dynamic")
    codes = model.encode(x)
    log_joint = (model.likelihood.log_prob(model.decoder.forward(model.code(x)), x)
                 + model.prior.log_prob(codes))  # log p(x|c*) + log p(c*), per image
    assert bound == pytest.approx(-np.mean(log_joint), abs=0.011)
    used = len(np.unique(codes))
    assert f"codebook: {used} of 6 codes used" in text
    assert "importance-weighted NLL (k=" not in text and "--k does not apply" in text


def test_sample_a_vqvae_from_its_prior_or_a_uniform_one(runvq, tmp_path, capsys):
    out, _ = runvq
    for extra in ([], ["--prior", "uniform"]):
        target = tmp_path / f"s{len(extra)}.png"
        assert main(["sample", str(out / "model.npz"), "--n", "8", *extra,
                     "--out", str(target)]) == 0
        assert target.read_bytes().startswith(PNG)
    capsys.readouterr()
    from vaelite import VQVAE
    untrained = save(VQVAE(input_dim=64, hidden=(8,), positions=2, code_dim=2, n_codes=4),
                     tmp_path / "untrained.npz")
    status = main(["sample", str(untrained), "--out", str(tmp_path / "u.png")])
    assert_one_line_error(capsys, status, "prior of this VQVAE is untrained")
    assert main(["sample", str(untrained), "--prior", "uniform",
                 "--out", str(tmp_path / "u.png")]) == 0


@pytest.mark.parametrize("args, match", [
    (["train", "--model", "vae", "--n-codes", "8"], "--n-codes applies to --model vqvae only"),
    (["train", "--prior-epochs", "2"], "--prior-epochs applies to --model vqvae only"),
    (["train", "--model", "vqvae", "--beta", "4"], "--beta applies to --model vae"),
    (["train", "--model", "vqvae", "--latent", "4"], "--latent does not apply to --model vqvae"),
    (["train", "--model", "vqvae", "--positions", "0"], "--positions: expected a positive"),
])
def test_vqvae_option_errors_are_one_line(args, match, capsys):
    assert_one_line_error(capsys, main(args), match)


def test_sample_prior_option_needs_a_vqvae(run2, tmp_path, capsys):
    out, _ = run2
    status = main(["sample", str(out / "model.npz"), "--prior", "uniform",
                   "--out", str(tmp_path / "x.png")])
    assert_one_line_error(capsys, status, "--prior needs a VQ-VAE")
