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
