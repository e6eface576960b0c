"""Command line: ``python -m vaelite train|evaluate|sample`` (or the ``vaelite`` script).

    vaelite train --latent 20 --hidden 400 --epochs 50 --out runs/vae20
    vaelite train --backend numba --epochs 50 --out runs/fast  (compiled kernels, same numbers)
  vaelite evaluate runs/vae20/model.npz --k 1000
    vaelite sample runs/vae20/model.npz --n 64 --out samples.png
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .backends import get_backend, use_backend

EXAMPLES = """examples:
  vaelite train --latent 20 --hidden 400 --epochs 50 --out runs/vae20
  vaelite train --latent 2 --epochs 30 --out runs/vae2        (adds latent-space figures)
  vaelite train --backend numba --epochs 50 --out runs/fast  (compiled kernels, same numbers)
  vaelite evaluate runs/vae20/model.npz --k 1000
  vaelite sample runs/vae20/model.npz --n 64 --out samples.png
"""


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


def _add_backend(command):
    command.add_argument("--backend", choices=("numpy", "numba", "cupy"), default=None,
                         help="numpy (the readable reference), numba (fused, compiled kernels; "
                              "same numbers, faster) or cupy (a CUDA GPU); "
                              "default: $VAELITE_BACKEND or numpy")


def build_parser():
    parser = _Parser(prog="vaelite", formatter_class=_Formatter, epilog=EXAMPLES,
                     description="Train, evaluate and sample variational autoencoders on MNIST\n"
                                 "with vaelite (NumPy, hand-written backprop).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", formatter_class=_Formatter, epilog=EXAMPLES,
        help="train a model and write model.npz, metrics.json and figures into --out",
        description="Train a VAE or a plain autoencoder on MNIST. Writes into the folder --out\n"
                    "the checkpoint model.npz, metrics.json (per-epoch history, final test\n"
                    "numbers, config) and PNG figures (loss curves, reconstructions, samples;\n"
                    "latent scatter and manifold when --latent is 2).")
    train.add_argument("--model", choices=("vae", "autoencoder"), default="vae",
                       help="a variational autoencoder or a deterministic autoencoder")
    train.add_argument("--latent", type=_positive_int, default=20, metavar="N",
                       help="number of latent dimensions (2 adds latent-space figures)")
    train.add_argument("--hidden", type=_positive_int, nargs="+", default=[400], metavar="N",
                       help="hidden layer sizes of the encoder (the decoder mirrors them)")
    train.add_argument("--activation", choices=("relu", "leaky_relu", "tanh", "softplus"),
                       default="relu", help="activation between the linear layers")
    train.add_argument("--likelihood", choices=("bernoulli", "gaussian"), default="bernoulli",
                       help="decoder distribution p(x|z)")
    train.add_argument("--beta", type=_float_at_least(0, strict=False), default=1.0,
                       help="weight of the KL term (1: the ELBO; >1: a beta-VAE); VAE only")
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
    train.add_argument("--data", choices=("subset", "full"), default="subset",
                       help="the embedded 5,000-digit subset (offline) or full MNIST")
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
        description="Evaluate a checkpoint on the MNIST test digits: the negative ELBO and, for\n"
                    "a VAE, the importance-weighted estimate of -log p(x) with k samples\n"
                    "(Burda et al., 2015). The test digits are binarized as during training.")
    evaluate.add_argument("checkpoint", help="a model.npz written by 'vaelite train'")
    evaluate.add_argument("--k", type=_positive_int, default=1000, metavar="K",
                          help="importance samples per digit (larger: tighter, slower)")
    evaluate.add_argument("--data", choices=("subset", "full"), default=None,
                          help="test set (default: the one the model was trained with)")
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
    sample.add_argument("--out", default="samples.png", metavar="PNG", help="PNG file to write")
    sample.set_defaults(run=cmd_sample)
    return parser


# --------------------------------------------------------------------------- commands

def cmd_train(args):
    from .data import load_mnist
    from .models import VAE, Autoencoder
    from .optim import Adam
    from .train import fit

    if args.model == "autoencoder" and args.beta != 1.0:
        raise ValueError("--beta applies to --model vae only")
    mnist = load_mnist(args.data, download=args.download)
    x_train = mnist.x_train[:args.n_train]
    common = dict(hidden=args.hidden, latent_dim=args.latent, likelihood=args.likelihood,
                  activation=args.activation, seed=args.seed)
    model = (VAE(beta=args.beta, **common) if args.model == "vae" else Autoencoder(**common))
    binarize = None if args.binarize == "none" else args.binarize

    def report(epoch, model, history):
        tested = history.test_epoch[-1:] == [epoch]
        test = f"  test {history.test['loss'][-1]:.2f}" if tested else ""
        print(f"epoch {epoch}/{args.epochs}  train {history.train['loss'][-1]:.2f}{test}  "
              f"({history.seconds[-1]:.1f} s)", flush=True)

    start = time.perf_counter()
    history = fit(model, x_train, args.epochs, args.batch_size,
                  Adam(model.parameters(), lr=args.lr), test_data=mnist.x_test,
                  binarize=binarize, seed=args.seed, progress=not args.no_progress,
                  callbacks=[report] if args.no_progress else [])
    seconds = time.perf_counter() - start

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    training = {key: value for key, value in vars(args).items() if key not in ("run", "command")}
    from . import io
    io.save(model, out / "model.npz", metadata={"training": training})
    final = {key: values[-1] for key, values in history.test.items()}
    metrics = {"config": {"model": model.config(), "training": training},
               "history": history.as_dict(), "final_test": final,
               "n_train": len(x_train), "n_test": len(mnist.x_test),
               "train_seconds": seconds}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    parts = ", ".join(f"{key} {value:.2f}" for key, value in final.items() if key != "loss")
    print(f"final test loss {final['loss']:.2f} nats ({parts}) on {len(mnist.x_test)} digits; "
          f"train loss {history.train['loss'][-1]:.2f}; {seconds:.0f} s", flush=True)
    figures = _save_figures(model, history, mnist, binarize, out)
    print(f"wrote {out / 'model.npz'}, {out / 'metrics.json'}"
          + "".join(f", {path}" for path in figures))
    return 0


def _load_checkpoint(path):
    from . import io
    return io.load(path), io.load_metadata(path).get("training", {})


def cmd_evaluate(args):
    from . import evaluate
    from .data import load_mnist
    from .train import TEST_BINARIZE_SEED, TEST_NOISE_SEED, prepare_test_images

    model, training = _load_checkpoint(args.checkpoint)
    data = args.data or training.get("data", "subset")
    binarize = args.binarize or training.get("binarize")
    if binarize is None:  # a checkpoint without training metadata
        binarize = "static" if model.likelihood.needs_unit_interval else "none"
    mnist = load_mnist(data, download=args.download)
    x = prepare_test_images(mnist.x_test[:args.n_test], None if binarize == "none" else binarize)
    bound = evaluate.elbo(model, x, TEST_NOISE_SEED)
    parts = ", ".join(f"{key} {value:.2f}" for key, value in bound.items()
                      if key not in ("loss", "nelbo"))
    how = "grey values" if binarize == "none" else f"binarized once, seed {TEST_BINARIZE_SEED}"
    print(f"test digits: {len(x)} ({data}, {how})")
    if "nelbo" in bound:
        print(f"test negative ELBO: {bound['nelbo']:.2f} nats ({parts})")
        start = time.perf_counter()
        nll = evaluate.nll(model, x, args.k, rng=np.random.default_rng(args.seed))
        print(f"importance-weighted NLL (k={args.k}): {nll:.2f} nats "
              f"({time.perf_counter() - start:.0f} s)")
    else:
        print(f"test reconstruction loss: {bound['loss']:.2f} nats (an autoencoder has no "
              "ELBO or likelihood)")
    return 0


def cmd_sample(args):
    model, _ = _load_checkpoint(args.checkpoint)
    if not hasattr(model, "sample"):
        raise ValueError(f"{args.checkpoint} holds a {type(model).__name__}, which has no prior "
                         "to sample from; train a VAE")
    from . import plot
    images = model.sample(args.n, np.random.default_rng(args.seed))
    _write(plot.samples_grid(images), Path(args.out))
    print(f"wrote {args.out}")
    return 0


# --------------------------------------------------------------------------- figures

def _write(fig, path):
    """Save a matplotlib Figure as a PNG file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def _save_figures(model, history, mnist, binarize, out):
    """Loss curves, reconstructions, samples; latent scatter and manifold for a 2-D latent."""
    from . import plot
    from .train import prepare_test_images

    x = prepare_test_images(mnist.x_test, binarize)
    paths = [_write(plot.loss_curves(history), out / "loss_curves.png"),
             _write(plot.reconstruction_grid(x[:10], model.reconstruct(x[:10])),
                    out / "reconstructions.png")]
    if hasattr(model, "sample"):
        images = model.sample(64, np.random.default_rng(0))
        paths.append(_write(plot.samples_grid(images), out / "samples.png"))
    if model.latent_dim == 2:
        paths.append(_write(plot.latent_scatter(model.code(x), mnist.y_test),
                            out / "latent_scatter.png"))
        if hasattr(model, "sample"):
            paths.append(_write(plot.latent_manifold(model, n=15), out / "latent_manifold.png"))
    return paths


# --------------------------------------------------------------------------- entry point

def main(argv=None):
    """Run the command line; return the exit status (0, or 2 after a one-line error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (status 0) or a bad option (status 2, already printed)
        return stop.code
    try:
        with use_backend(getattr(args, "backend", None) or get_backend()):
            return args.run(args)
    except (ValueError, OSError, FloatingPointError, RuntimeError) as err:
        message = " ".join(str(err).split())  # one line
        print(f"vaelite {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vaelite {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
