"""Command line: ``python -m vaelite train|evaluate|sample|exercises`` (or the ``vaelite`` script).

    vaelite train --latent 20 --hidden 400 --epochs 50 --out runs/vae20
    vaelite train --backend numba --epochs 50 --out runs/fast  (compiled kernels, same numbers)
    vaelite train --data my_images.npz --epochs 20 --out runs/mine  (your own images)
    vaelite evaluate runs/vae20/model.npz --k 1000
    vaelite sample runs/vae20/model.npz --n 64 --out samples.png
"""
import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .backends import get_backend, use_backend

EXAMPLES = """examples:
  vaelite train --latent 20 --hidden 400 --epochs 50 --out runs/vae20
  vaelite train --latent 2 --epochs 30 --out runs/vae2        (adds latent-space figures)
  vaelite train --backend numba --epochs 50 --out runs/fast  (compiled kernels, same numbers)
  vaelite train --data my_images.npz --epochs 20 --out runs/mine
      (your own images: an .npz with x of shape (n, h, w) or (n, d), optional labels y)
  vaelite evaluate runs/vae20/model.npz --k 1000
  vaelite sample runs/vae20/model.npz --n 64 --out samples.png
  vaelite train --model cvae --epochs 20 --out runs/cvae    (a conditional VAE: needs labels)
  vaelite sample runs/cvae/model.npz --label 7 --out sevens.png
  vaelite train --model vqvae --positions 8 --code-dim 4 --n-codes 32 --prior-epochs 20 \
      --out runs/vq                    (a VQ-VAE, then its autoregressive prior over the codes)
  vaelite sample runs/vq/model.npz --prior uniform --out garbage.png
"""

MNIST_DATA = ("subset", "full")
DEFAULT_TEST_SIZE = 0.1  # the share of your own images held out for testing
VQ_DEFAULTS = {"positions": 4, "code_dim": 8, "n_codes": 32, "beta_commit": 0.25,
               "prior_hidden": [64], "prior_epochs": 10}  # --model vqvae's options
VQ_REVIVE_IMAGES = 1000  # dead codes are moved onto encoder outputs of this many training images


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the examples' line breaks; shows defaults, except the empty ones."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (and exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _float_at_least(low, strict):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not np.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(
                f"expected a number {'>' if strict else '>='} {low}, got {text!r}")
        return value
    return parse


def _count_or_fraction(text):
    try:
        value = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not 0 < value < 1:
            raise argparse.ArgumentTypeError(
                f"expected a count (100) or a fraction in (0, 1) (0.1), got {text!r}") from None
        return value
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a count >= 1 or a fraction, got {text!r}")
    return value


def _add_backend(command):
    command.add_argument("--backend", choices=("numpy", "numba", "cupy"), default=None,
                         help="numpy (the readable reference), numba (fused, compiled kernels; "
                              "same numbers, faster) or cupy (a CUDA GPU); "
                              "default: $VAELITE_BACKEND or numpy")


def build_parser():
    parser = _Parser(prog="vaelite", formatter_class=_Formatter, epilog=EXAMPLES,
                     description="Train, evaluate and sample variational autoencoders on MNIST or on\n"
                                 "your own images "
                                 "with vaelite (NumPy, hand-written backprop).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", formatter_class=_Formatter, epilog=EXAMPLES,
        help="train a model and write model.npz, metrics.json and figures into --out",
        description="Train a VAE or a plain autoencoder on MNIST or on your own images (--data\n"
                    "PATH). Writes into the folder --out the checkpoint model.npz, metrics.json\n"
                    "(per-epoch history, final test numbers, config, data source and split) and\n"
                    "PNG figures (loss curves, reconstructions, samples; latent scatter and\n"
                    "manifold when --latent is 2). Nothing is written if training diverges.")
    train.add_argument("--model", choices=("vae", "cvae", "autoencoder", "vqvae"),
                       default="vae",
                       help="a variational autoencoder, a conditional VAE (needs labels), a "
                            "deterministic autoencoder, or a VQ-VAE (discrete codes) followed "
                            "by its autoregressive prior")
    train.add_argument("--latent", type=_positive_int, metavar="N",
                       help="number of latent dimensions (default 20; 2 adds latent-space "
                            "figures); not for vqvae, whose code is --positions x --code-dim")
    train.add_argument("--hidden", type=_positive_int, nargs="+", default=[400], metavar="N",
                       help="hidden layer sizes of the encoder (the decoder mirrors them)")
    train.add_argument("--activation", choices=("relu", "leaky_relu", "tanh", "softplus"),
                       default="relu", help="activation between the linear layers")
    train.add_argument("--likelihood", choices=("bernoulli", "gaussian"), default="bernoulli",
                       help="decoder distribution p(x|z)")
    train.add_argument("--beta", type=_float_at_least(0, strict=False), default=1.0,
                       help="weight of the KL term (1: the ELBO; >1: a beta-VAE); VAE only")
    train.add_argument("--free-bits", type=_float_at_least(0, strict=False), default=0.0,
                       metavar="NATS", help="free bits: the KL of each latent dimension counts "
                       "as at least NATS (0: off); VAE only")
    train.add_argument("--kl-warmup", type=_float_at_least(0, strict=False), default=0.0,
                       metavar="EPOCHS", help="KL warm-up: beta rises linearly from 0 over "
                       "this many epochs (0: off); VAE only")
    vq = {"positions": "code vectors per image", "code_dim": "size of each code vector",
          "n_codes": "codebook size", "prior_epochs": "epochs of the prior's training"}
    for key, what in vq.items():
        train.add_argument("--" + key.replace("_", "-"), type=_positive_int, default=None,
                           metavar="N", help=f"--model vqvae: {what} (default "
                                             f"{VQ_DEFAULTS[key]})")
    train.add_argument("--beta-commit", type=_float_at_least(0, strict=False), default=None,
                       metavar="BETA", help=f"--model vqvae: weight of the commitment loss (default "
                            f"{VQ_DEFAULTS['beta_commit']})")
    train.add_argument("--prior-hidden", type=_positive_int, nargs="+", default=None,
                       metavar="N", help=f"--model vqvae: hidden sizes of the MADE prior over "
                                         f"the codes (default {VQ_DEFAULTS['prior_hidden'][0]})")
    train.add_argument("--epochs", type=_positive_int, default=10, metavar="N",
                       help="passes over the data")
    train.add_argument("--batch-size", type=_positive_int, default=128, metavar="N",
                       help="minibatch size")
    train.add_argument("--lr", type=_float_at_least(0, strict=True), default=1e-3,
                       help="Adam learning rate")
    train.add_argument("--seed", type=int, default=0,
                       help="seed of the initial weights, shuffling, binarization and noise")
    train.add_argument("--binarize", choices=("dynamic", "static", "none"), default="dynamic",
                       help="dynamic: resample binary pixels every batch; static: once; "
                            "none: grey values")
    train.add_argument("--data", default="subset", metavar="SOURCE",
                       help="subset: the embedded 5,000 MNIST digits (offline); full: all of "
                            "MNIST; or PATH: your own images, an .npz with an array x of shape "
                            "(n, h, w) or (n, d) and optional labels y, or an .npy of images "
                            "(uint8 0..255 is divided by 255; other values must lie in [0, 1] "
                            "unless --likelihood gaussian --binarize none)")
    train.add_argument("--test-size", type=_count_or_fraction, default=None, metavar="N|F",
                       help=f"with --data PATH: images held out for testing, a count or a "
                            f"fraction (default: {DEFAULT_TEST_SIZE})")
    train.add_argument("--split-seed", type=int, default=None, metavar="SEED",
                       help="with --data PATH: seed of the train/test split (default: 0)")
    train.add_argument("--image-shape", type=_positive_int, nargs=2, default=None,
                       metavar=("H", "W"),
                       help="with --data PATH of (n, d) images: draw them as H x W images "
                            "(needed unless d is a square)")
    train.add_argument("--download", action="store_true",
                       help="with --data full: download MNIST if it is not cached yet")
    train.add_argument("--n-train", type=_positive_int, default=None, metavar="N",
                       help="use only the first N training digits (quick experiments)")
    train.add_argument("--out", default="vaelite-run", metavar="DIR",
                       help="output folder (created if needed)")
    train.add_argument("--no-progress", action="store_true",
                       help="no progress bar; print one line per epoch instead")
    _add_backend(train)
    train.set_defaults(run=cmd_train)

    evaluate = commands.add_parser(
        "evaluate", formatter_class=_Formatter, epilog=EXAMPLES,
        help="print the test negative ELBO and the importance-weighted NLL of a checkpoint",
        description="Evaluate a checkpoint on its test images (the MNIST test digits, or the\n"
                    "held-out split of the file it was trained on): the negative ELBO and, for\n"
                    "a VAE, the importance-weighted estimate of -log p(x) with k samples\n"
                    "(Burda et al., 2015). The test images are binarized as during training.")
    evaluate.add_argument("checkpoint", help="a model.npz written by 'vaelite train'")
    evaluate.add_argument("--k", type=_positive_int, default=1000, metavar="K",
                          help="importance samples per digit (larger: tighter, slower)")
    evaluate.add_argument("--data", default=None, metavar="SOURCE",
                          help="subset, full (MNIST test digits) or PATH (every image of an "
                               ".npz/.npy file; the run's own file: its held-out split); "
                               "default: the test set the model was trained with")
    evaluate.add_argument("--download", action="store_true",
                          help="with --data full: download MNIST if it is not cached yet")
    evaluate.add_argument("--binarize", choices=("static", "none"), default=None,
                          help="binarize the test digits once (default: as in training)")
    evaluate.add_argument("--n-test", type=_positive_int, default=None, metavar="N",
                          help="use only the first N test digits (quick checks)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the importance samples")
    _add_backend(evaluate)
    evaluate.set_defaults(run=cmd_evaluate)

    sample = commands.add_parser(
        "sample", formatter_class=_Formatter, epilog=EXAMPLES,
        help="decode z ~ N(0, I) from a VAE checkpoint into a grid of images",
        description="Draw n latent codes from the prior N(0, I), decode them (the mean image\n"
                    "of p(x|z)) and save them as a PNG grid.")
    sample.add_argument("checkpoint", help="a VAE model.npz written by 'vaelite train'")
    sample.add_argument("--n", type=_positive_int, default=64, metavar="N",
                        help="number of samples")
    sample.add_argument("--seed", type=int, default=0, help="seed of the latent codes")
    sample.add_argument("--label", type=int, default=None, metavar="CLASS",
                        help="with a conditional VAE (--model cvae): draw this class (default: "
                             "random classes)")
    sample.add_argument("--prior", choices=("learned", "uniform"), default=None,
                        help="with a VQ-VAE: draw the codes from its trained prior (learned, "
                             "the default) or uniformly (to see why a prior is needed)")
    sample.add_argument("--out", default="samples.png", metavar="PNG", help="PNG file to write")
    sample.add_argument("--image-shape", type=_positive_int, nargs=2, default=None,
                        metavar=("H", "W"),
                        help="draw the samples as H x W images (default: the training images' "
                             "shape)")
    sample.set_defaults(run=cmd_sample)

    from .classroom.cli import add_command  # exercises list | workbook | grade
    add_command(commands, _Formatter)
    return parser


# --------------------------------------------------------------------------- commands

def cmd_train(args):
    from .models import CVAE, VAE, VQVAE, Autoencoder
    from .optim import Adam
    from .train import TrainingDiverged, fit, reinit_dead_codes

    for option, value, default in (("--beta", args.beta, 1.0), ("--free-bits", args.free_bits, 0),
                                   ("--kl-warmup", args.kl_warmup, 0)):
        if args.model in ("autoencoder", "vqvae") and value != default:
            raise ValueError(f"{option} applies to --model vae only (or cvae)")
    if args.model == "vqvae" and args.latent is not None:
        raise ValueError("--latent does not apply to --model vqvae: its code is "
                         "--positions x --code-dim")
    args.latent = 20 if args.latent is None else args.latent
    for key in VQ_DEFAULTS:
        if args.model != "vqvae" and getattr(args, key) is not None:
            raise ValueError(f"--{key.replace('_', '-')} applies to --model vqvae only")
        if args.model == "vqvae" and getattr(args, key) is None:
            setattr(args, key, VQ_DEFAULTS[key])
    # A Bernoulli decoder, and binarization, need values in [0, 1].
    unit = args.binarize != "none" or args.likelihood == "bernoulli"
    data, source = _training_data(args, unit)
    out = _writable_folder(args.out)  # before training, not after an hour of it
    x_train = data.x_train[:args.n_train]
    common = dict(input_dim=x_train.shape[1], hidden=args.hidden, latent_dim=args.latent,
                  likelihood=args.likelihood, activation=args.activation, seed=args.seed)
    if args.model == "cvae":
        n_classes, y_train, y_test = _class_labels(data, args.data)
        model = CVAE(beta=args.beta, free_bits=args.free_bits, n_classes=n_classes, **common)
        train_data, test_data = (x_train, y_train[:args.n_train]), (data.x_test, y_test)
    elif args.model == "vqvae":
        del common["latent_dim"]  # the code is positions x code_dim
        model = VQVAE(positions=args.positions, code_dim=args.code_dim, n_codes=args.n_codes,
                      beta_commit=args.beta_commit, prior_hidden=args.prior_hidden, **common)
        train_data, test_data = x_train, data.x_test
    else:
        model = (VAE(beta=args.beta, free_bits=args.free_bits, **common)
                 if args.model == "vae" else Autoencoder(**common))
        train_data, test_data = x_train, data.x_test
    binarize = None if args.binarize == "none" else args.binarize
    word = "digits" if args.data in MNIST_DATA else "images"

    def report(epoch, model, history):
        tested = history.test_epoch[-1:] == [epoch]
        test = f"  test {history.test['loss'][-1]:.2f}" if tested else ""
        print(f"epoch {epoch}/{args.epochs}  train {history.train['loss'][-1]:.2f}{test}  "
              f"({history.seconds[-1]:.1f} s)", flush=True)

    untouched = f"nothing was written to {out}"
    optimizer = Adam(model.parameters(), lr=args.lr)
    callbacks = [report] if args.no_progress else []
    if args.model == "vqvae":  # dead codes are moved back among the encoder outputs
        callbacks.insert(0, reinit_dead_codes(x_train[:VQ_REVIVE_IMAGES], optimizer,
                                              seed=args.seed, last_epoch=args.epochs - 1))
    start = time.perf_counter()
    try:  # divergence is reported in one line below, without NumPy's overflow warnings
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = fit(model, train_data, args.epochs, args.batch_size, optimizer,
                          test_data=test_data, binarize=binarize, seed=args.seed,
                          progress=not args.no_progress, callbacks=callbacks,
                          kl_warmup=args.kl_warmup)
    except TrainingDiverged as err:
        raise TrainingDiverged(f"training diverged: {err}; {untouched}") from None
    seconds = time.perf_counter() - start
    _check_finite(model, history, f"lower the learning rate (now {args.lr}); {untouched}")

    training = {key: value for key, value in vars(args).items() if key not in ("run", "command")}
    final = {key: values[-1] for key, values in history.test.items()}
    metrics = {"config": {"model": model.config(), "training": training, "data": source},
               "history": history.as_dict(), "final_test": final,
               "n_train": len(x_train), "n_test": len(data.x_test),
               "train_seconds": seconds}
    if args.model == "vqvae":
        metrics["prior"] = _train_vq_prior(model, args, x_train, data.x_test, binarize,
                                           callbacks[0].revived, untouched)
        metrics["config"]["model"] = model.config()  # prior_trained is now True
    metrics_text = json.dumps(metrics, indent=2, allow_nan=False) + "\n"
    from . import io
    io.save(model, out / "model.npz", metadata={"training": training, "data": source})
    _write_text(out / "metrics.json", metrics_text)
    parts = ", ".join(f"{key} {value:.2f}" for key, value in final.items() if key != "loss")
    print(f"final test loss {final['loss']:.2f} nats ({parts}) on {len(data.x_test)} {word}; "
          f"train loss {history.train['loss'][-1]:.2f}; {seconds:.0f} s", flush=True)
    if args.model == "vqvae":
        print(_vq_summary(metrics["prior"]), flush=True)
    figures = _save_figures(model, history, data.x_test, data.y_test, source["image_shape"],
                            binarize, out, metrics.get("prior"))
    print(f"wrote {out / 'model.npz'}, {out / 'metrics.json'}"
          + "".join(f", {path}" for path in figures))
    return 0


def _train_vq_prior(model, args, x_train, x_test, binarize, revived, untouched):
    """Stage 2 of a VQ-VAE: fit its prior on the codes of the training images (binarized once,
    as the test images are, unless --binarize none); return the prior's metrics."""
    from .data import binarize_static
    from .train import TRAIN_BINARIZE_SEED, TrainingDiverged, fit_prior, prepare_test_images

    x_codes = x_train if binarize is None else binarize_static(x_train, TRAIN_BINARIZE_SEED)
    x_test = prepare_test_images(x_test, binarize)

    def report(epoch, prior, history):
        print(f"prior epoch {epoch}/{args.prior_epochs}  train {history.train['loss'][-1]:.2f}"
              f"  test {history.test['loss'][-1]:.2f} nats per code sequence "
              f"({history.seconds[-1]:.1f} s)", flush=True)

    start = time.perf_counter()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = fit_prior(model, x_codes, args.prior_epochs, args.batch_size,
                                seed=args.seed, progress=not args.no_progress, test_data=x_test,
                                callbacks=[report] if args.no_progress else [])
    except TrainingDiverged as err:
        raise TrainingDiverged(f"the prior's training diverged: {err}; {untouched}") from None
    return {"history": history.as_dict(), "train_seconds": time.perf_counter() - start,
            "test_codes": model.code_statistics(x_test),
            "uniform_nll": model.positions * math.log(model.quantizer.n_codes),
            "n_codes": model.quantizer.n_codes,
            "revived_codes": [[epoch, dead.tolist()] for epoch, dead in revived]}


def _vq_summary(prior):
    """One line: the prior's test NLL, the codebook's usage and perplexity."""
    codes = prior["test_codes"]
    return (f"prior: test NLL {codes['prior_nll']:.2f} nats per code sequence (a uniform prior: "
            f"{prior['uniform_nll']:.2f}); test codes use {codes['used_codes']} of "
            f"{prior['n_codes']} codebook vectors, perplexity {codes['perplexity']:.1f}; "
            f"{prior['train_seconds']:.0f} s")


def _class_labels(data, source):
    """(n_classes, y_train, y_test) for a conditional VAE, or a clear error without labels."""
    if data.y_train is None or data.y_test is None:
        raise ValueError(f"--model cvae needs class labels, and {source} has none (an .npz "
                         "needs an integer array y, one label per image)")
    y_train, y_test = np.asarray(data.y_train), np.asarray(data.y_test)
    if y_train.dtype.kind not in "iu" or min(y_train.min(), y_test.min()) < 0:
        raise ValueError(f"--model cvae needs integer class labels 0, 1, 2, ...; {source} has "
                         f"labels of dtype {y_train.dtype} from {y_train.min()}")
    return max(2, int(max(y_train.max(), y_test.max())) + 1), y_train, y_test


def _training_data(args, unit):
    """(a dataset with x_train, x_test, y_test; its source and split as a JSON-ready dict)."""
    from .data import IMAGE_SHAPE, load_array_file, load_mnist

    if args.data in MNIST_DATA:
        given = [option for option, value in (("--test-size", args.test_size),
                                              ("--split-seed", args.split_seed),
                                              ("--image-shape", args.image_shape))
                 if value is not None]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise ValueError(f"{', '.join(given)} {verb} to --data PATH only; MNIST "
                             f"({args.data}) has a fixed train/test split of 28x28 digits")
        mnist = load_mnist(args.data, download=args.download)
        split = ("the embedded stratified 4,500/500 split, seed 0" if args.data == "subset"
                 else "the official 60,000/10,000 split")
        return mnist, {"source": mnist.name, "image_shape": list(IMAGE_SHAPE),
                       "n_train": len(mnist.x_train), "n_test": len(mnist.x_test),
                       "split": split}
    test_size = DEFAULT_TEST_SIZE if args.test_size is None else args.test_size
    seed = 0 if args.split_seed is None else args.split_seed
    data = _load_file(load_array_file, args.data, test_size=test_size, seed=seed,
                      image_shape=args.image_shape, unit_interval=unit)
    if data.scaled:
        print(f"note: {data.scaled}")
    print(f"data: {data.source}, {len(data.x_train)} training and {len(data.x_test)} test "
          f"images of {data.image_shape[0]}x{data.image_shape[1]} (split seed {seed})",
          flush=True)
    return data, data.split_info()


def _load_file(loader, path, **kwargs):
    """Call a loader of vaelite.data on a --data PATH; a missing file names the choices."""
    try:
        return loader(path, **kwargs)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{err} (--data takes subset, full, or the path of an .npz or "
                                ".npy file)") from None


def _writable_folder(path):
    """Create the folder ``path`` if needed and check that a file can be written in it."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".vaelite-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OSError(f"--out {out} is not a writable folder: {err.strerror or err}") from None
    return out


def _check_finite(model, history, advice):
    """Raise FloatingPointError unless every parameter and the last losses are finite."""
    from .backends import current

    to_host = current().to_host
    for name, param, _ in model.parameters():
        if not np.all(np.isfinite(to_host(param))):
            raise FloatingPointError(f"training diverged: parameter {name} holds NaN or Inf "
                                     f"after the last step; {advice}")
    for split, record in (("train", history.train), ("test", history.test)):
        for key, values in record.items():
            if values and not np.isfinite(values[-1]):
                raise FloatingPointError(f"training diverged: the final {split} {key} is "
                                         f"{values[-1]}; {advice}")


def _write_text(path, text):
    """Write a text file through a temporary name, so it is never left half-written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_checkpoint(path):
    """(the model, its training options, its data source) from a model.npz."""
    from . import io
    model, metadata = io.load(path), io.load_metadata(path)
    return model, metadata.get("training", {}), metadata.get("data") or {}


def _finite(value, what, path):
    if not np.isfinite(value):
        raise FloatingPointError(f"{path}: {what} is {value}, not a finite number (a diverged "
                                 "model, or data unlike its training data?)")
    return value


def cmd_evaluate(args):
    from . import evaluate
    from .train import TEST_BINARIZE_SEED, TEST_NOISE_SEED, prepare_test_images

    model, training, source = _load_checkpoint(args.checkpoint)
    binarize = args.binarize or training.get("binarize")
    if binarize is None:  # a checkpoint without training metadata
        binarize = "static" if model.likelihood.needs_unit_interval else "none"
    unit = binarize != "none" or model.likelihood.needs_unit_interval
    x, y, described = _evaluation_data(args, model, training, source, unit)
    x = prepare_test_images(x[:args.n_test], None if binarize == "none" else binarize)
    given = {}
    if model.uses_labels:  # a conditional VAE scores log p(x|y) under the true labels
        if y is None:
            raise ValueError(f"{args.checkpoint} holds a conditional VAE, which needs the test "
                             "images' labels, and the data has none")
        given = {"labels": y[:args.n_test]}
    def quiet():  # NumPy's overflow warnings off: non-finite results are errors below
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")

    with quiet():
        bound = evaluate.elbo(model, x, TEST_NOISE_SEED, **given)
    for key, value in bound.items():
        _finite(value, f"the test {key}", args.checkpoint)
    parts = ", ".join(f"{key} {value:.2f}" for key, value in bound.items()
                      if key not in ("loss", "nelbo"))
    how = "grey values" if binarize == "none" else f"binarized once, seed {TEST_BINARIZE_SEED}"
    print(described(len(x), how))
    if hasattr(model, "code_statistics"):  # a VQ-VAE: discrete codes and a prior over them
        _evaluate_codes(model, x, bound, args.checkpoint)
    elif "nelbo" in bound:
        print(f"test negative ELBO: {bound['nelbo']:.2f} nats ({parts})", flush=True)
        start = time.perf_counter()
        with quiet():
            nll = evaluate.nll(model, x, args.k, rng=np.random.default_rng(args.seed), **given)
        _finite(nll, "the importance-weighted NLL", args.checkpoint)
        print(f"importance-weighted NLL (k={args.k}): {nll:.2f} nats "
              f"({time.perf_counter() - start:.0f} s)")
    else:
        print(f"test reconstruction loss: {bound['loss']:.2f} nats (an autoencoder has no "
              "ELBO or likelihood)")
    return 0


def _evaluate_codes(model, x, bound, path):
    """Print a VQ-VAE's test numbers: reconstruction, the prior's NLL, codebook use, and the
    bound on -log p(x) that holds for a deterministic code (no importance sampling applies)."""
    stats = model.code_statistics(x)
    print(f"test reconstruction -log p(x|c): {bound['recon']:.2f} nats (codebook loss "
          f"{bound['codebook']:.2f}, commitment {bound['commitment']:.2f})")
    print(f"codebook: {stats['used_codes']} of {model.quantizer.n_codes} codes used, "
          f"perplexity {stats['perplexity']:.1f}")
    if stats["prior_nll"] is None:
        print("prior: untrained (train with 'vaelite train --model vqvae', which fits it)")
        return
    nll = _finite(stats["prior_nll"], "the prior's NLL", path)
    print(f"prior NLL -log p(c): {nll:.2f} nats per code sequence (uniform: "
          f"{model.positions * math.log(model.quantizer.n_codes):.2f})")
    print(f"upper bound on -log p(x): {bound['recon'] + nll:.2f} nats = reconstruction + prior "
          "NLL, since p(x) = sum_c p(c) p(x|c) >= p(c*) p(x|c*) for the code c* of x (q(c|x) is "
          "a point mass: no ELBO sampling or importance-weighted NLL, --k does not apply)")


def _evaluation_data(args, model, training, source, unit):
    """The test images (n, d) for ``evaluate``, their labels (n,) or None, and a function
    describing them in one line."""
    from .data import load_array_file, load_mnist, read_array_file

    d, path = model.input_dim, args.checkpoint
    trained_on_file = "sha256" in source  # a run on --data PATH records its file's SHA-256
    data = args.data
    if data is None and trained_on_file:
        data = source["source"]
    elif data is None:
        data = training.get("data", "subset")
        if d != 784 or data not in MNIST_DATA:
            raise ValueError(f"{path} holds a model of {d} inputs whose metadata names no data "
                             f"file; pass --data PATH (MNIST digits have 784 pixels)")

    if data in MNIST_DATA:
        if d != 784:
            raise ValueError(f"{path} holds a model of {d} inputs, but MNIST digits have 784 "
                             "pixels; omit --data to score its own held-out images, or pass "
                             "--data PATH")
        mnist = load_mnist(data, download=args.download)
        return mnist.x_test, mnist.y_test, lambda n, how: f"test digits: {n} ({data}, {how})"

    if trained_on_file and Path(data).expanduser().resolve() == Path(source["source"]):
        if not Path(data).exists():
            raise FileNotFoundError(f"{path} was trained on {data}, which is no longer there; "
                                    "pass --data PATH to score it on the images of a file")
        shape = source.get("image_shape")
        split = _load_file(load_array_file, data, test_size=source["test_size"],
                           seed=source["seed"], image_shape=shape, unit_interval=unit)
        if split.sha256 != source["sha256"]:
            raise ValueError(f"{data} changed since {path} was trained on it (its SHA-256 "
                             "differs), so its held-out split is no longer the one the model "
                             "never saw; pass --data PATH to score every image of a file")
        x = split.x_test
        return x, split.y_test, lambda n, how: (
            f"test images: {n} (the held-out split of {data}: {len(x)} of "
            f"{len(x) + len(split.x_train)}, split seed {source['seed']}; {how})")
    x, y, _, _ = _load_file(read_array_file, data, n_features=d, unit_interval=unit)
    return x, y, lambda n, how: f"test images: {n} (every image of {data}; {how})"


def cmd_sample(args):
    model, _, source = _load_checkpoint(args.checkpoint)
    if not hasattr(model, "sample"):
        raise ValueError(f"{args.checkpoint} holds a {type(model).__name__}, which has no prior "
                         "to sample from; train a VAE")
    shape = args.image_shape or source.get("image_shape")
    if shape is None and math.isqrt(model.input_dim) ** 2 != model.input_dim:
        raise ValueError(f"{args.checkpoint}: images of {model.input_dim} pixels are not "
                         "square and the checkpoint records no shape; pass --image-shape H W")
    if shape is not None and shape[0] * shape[1] != model.input_dim:
        raise ValueError(f"--image-shape {shape[0]} {shape[1]} holds {shape[0] * shape[1]} "
                         f"pixels, but the model's images have {model.input_dim}")
    if args.label is not None and not model.uses_labels:
        raise ValueError(f"--label needs a conditional VAE (train --model cvae); "
                         f"{args.checkpoint} holds a {type(model).__name__}")
    if args.label is not None and not 0 <= args.label < model.n_classes:
        raise ValueError(f"--label {args.label}: the model knows classes 0 to "
                         f"{model.n_classes - 1}")
    if args.prior is not None and not hasattr(model, "sample_codes"):
        raise ValueError(f"--prior needs a VQ-VAE (train --model vqvae); {args.checkpoint} "
                         f"holds a {type(model).__name__}")
    from . import plot
    given = {"labels": args.label} if model.uses_labels else {}
    if args.prior is not None:
        given = {"prior": args.prior}
    images = model.sample(args.n, np.random.default_rng(args.seed), **given)
    if not np.all(np.isfinite(images)):
        raise FloatingPointError(f"{args.checkpoint}: the samples hold NaN or Inf (a diverged "
                                 "model?)")
    _write(plot.samples_grid(images, image_shape=shape), Path(args.out))
    print(f"wrote {args.out}")
    return 0


# --------------------------------------------------------------------------- figures

def _write(fig, path):
    """Save a matplotlib Figure as a PNG file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def _save_figures(model, history, x_test, y_test, image_shape, binarize, out, prior=None):
    """Loss curves, reconstructions, samples; latent scatter and manifold for a 2-D latent;
    for a VQ-VAE (prior: its metrics) the prior's curves and samples from a uniform prior."""
    from . import plot
    from .train import prepare_test_images

    shape = tuple(image_shape)
    x = prepare_test_images(x_test, binarize)
    # a conditional model is given the labels: the test labels, and for samples 0, 1, 2, ...
    given = (lambda rows: {"labels": y_test[rows]}) if model.uses_labels else (lambda rows: {})
    paths = [_write(plot.loss_curves(history), out / "loss_curves.png"),
             _write(plot.reconstruction_grid(x[:10], model.reconstruct(x[:10], **given(
                 slice(10))), image_shape=shape), out / "reconstructions.png")]
    if hasattr(model, "sample"):
        classes = ({"labels": np.arange(64) % model.n_classes} if model.uses_labels else {})
        images = model.sample(64, np.random.default_rng(0), **classes)
        paths.append(_write(plot.samples_grid(images, image_shape=shape), out / "samples.png"))
    if prior is not None:
        paths += [_write(plot.loss_curves(prior["history"], title="the prior over codes: "
                                          "-log p(c), nats per code sequence"),
                         out / "prior_loss_curves.png"),
                  _write(plot.samples_grid(model.sample(64, np.random.default_rng(0), "uniform"),
                                           title="codes from a uniform prior",
                                           image_shape=shape), out / "samples_uniform_prior.png")]
    elif model.latent_dim == 2:
        paths.append(_write(plot.latent_scatter(model.code(x, **given(slice(None))), y_test),
                            out / "latent_scatter.png"))
        if hasattr(model, "sample") and not model.uses_labels:
            paths.append(_write(plot.latent_manifold(model, n=15, image_shape=shape),
                                out / "latent_manifold.png"))
    return paths


# --------------------------------------------------------------------------- entry point

def main(argv=None):
    """Run the command line; return the exit status (0, or 2 after a one-line error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (status 0) or a bad option (status 2, already printed)
        return stop.code
    from .data import ChecksumError, DownloadError
    try:
        with use_backend(getattr(args, "backend", None) or get_backend()):
            return args.run(args)
    except (ValueError, OSError, FloatingPointError, RuntimeError,  # TrainingDiverged is a
            ChecksumError, DownloadError) as err:                   # FloatingPointError
        message = " ".join(str(err).split())  # one line
        print(f"vaelite {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vaelite {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
