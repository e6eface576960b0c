"""Save and load models as ``.npz`` checkpoints: plain arrays and JSON, never pickle.

    vaelite.io.save(model, "runs/vae/model.npz")
    model = vaelite.io.load("runs/vae/model.npz")

A checkpoint is a NumPy ``.npz`` archive (a zip of ``.npy`` files) holding
- ``param/<name>`` for every parameter of ``model.parameters()``, e.g. ``param/encoder.0.W``
  (of ``model.checkpoint_parameters()`` where a model has it: parameters trained apart from
  ``fit``'s, such as the VQ-VAE's prior, ``param/prior.layer0.W``);
- ``config``: ``model.config()`` as a JSON string (the model class, its sizes, beta, ...);
- ``metadata``: an optional JSON string (how the model was trained, say);
- ``format``: the version of this layout, ``FORMAT_VERSION``.

Loading rebuilds the model from its config with ``vaelite.models.MODELS`` and copies the
weights in, after checking that the names, shapes and dtypes match exactly. It never unpickles,
so a checkpoint cannot run code.
"""
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .backends import current

FORMAT_VERSION = 1
PARAM_PREFIX = "param/"


def _saved(model):
    """The (name, param, grad) triples a checkpoint holds: ``model.checkpoint_parameters()``
    if the model has parameters outside ``parameters()`` (a VQ-VAE's prior), else those."""
    return getattr(model, "checkpoint_parameters", model.parameters)()


def save(model, path, metadata=None):
    """Write ``model`` (its config and every parameter) to ``path``, exactly that file name.

    metadata: an optional JSON-serialisable dict stored alongside (read it with
    ``load_metadata``). A model with a NaN or Inf parameter is refused (ValueError naming it),
    so a diverged run never replaces a good checkpoint. The file is written to a temporary name first, then renamed, so an
    interrupted save never leaves a half-written checkpoint under ``path``.
    """
    if not isinstance(path, (str, os.PathLike)) or str(path) == "" or "\x00" in str(path):
        raise TypeError(f"path must be a file name such as 'runs/vae/model.npz', got {path!r}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path {path} is a folder; give a file name such as {path / 'model.npz'}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict (or None), got {type(metadata).__name__}")
    try:
        metadata_json = json.dumps(metadata if metadata is not None else {}, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TypeError(f"metadata must be JSON-serialisable (plain numbers, strings, lists, "
                        f"dicts): {err}") from None
    to_host = current().to_host  # a model trained on a GPU saves NumPy arrays
    arrays = {PARAM_PREFIX + name: to_host(param) for name, param, _ in _saved(model)}
    for key, a in arrays.items():
        if not np.all(np.isfinite(a)):
            raise ValueError(f"not saving {path}: parameter {key[len(PARAM_PREFIX):]} holds NaN "
                             "or Inf values (did training diverge?)")
    arrays["config"] = np.array(json.dumps(model.config()))
    arrays["metadata"] = np.array(metadata_json)
    arrays["format"] = np.array(FORMAT_VERSION)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(path):
    """Every array of the checkpoint, read eagerly, or a ValueError naming the path."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is not a readable vaelite checkpoint (truncated or corrupt "
                         f"file?): {err}") from None
    if "format" not in arrays or "config" not in arrays:
        raise ValueError(f"{path} is not a vaelite checkpoint: it has no 'format' or 'config' "
                         "entry")
    version = arrays["format"]
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != FORMAT_VERSION:
        raise ValueError(f"{path} has checkpoint format version {version}, but this vaelite "
                         f"reads version {FORMAT_VERSION}")
    return arrays


def _json(arrays, key, path):
    try:
        value = json.loads(str(arrays[key][()]))
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path}: the {key!r} entry is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: the {key!r} entry must be a JSON object")
    return value


def load_metadata(path):
    """The metadata dict stored by ``save(..., metadata=...)`` ({} if none)."""
    arrays = _read(path)
    return _json(arrays, "metadata", path) if "metadata" in arrays else {}


def load(path):
    """Rebuild the model saved at ``path`` and return it, with bit-identical parameters.

    Raises FileNotFoundError for a missing file and ValueError, naming the path and the
    problem, for a truncated or corrupt file, another format version, an unknown model,
    parameters whose names, shapes or dtypes differ from the rebuilt model's, or a parameter
    that holds NaN or Inf.
    """
    from .models import MODELS

    arrays = _read(path)
    config = _json(arrays, "config", path)
    name = config.pop("model", None)
    if name not in MODELS:
        raise ValueError(f"{path}: unknown model {name!r}; known: {', '.join(MODELS)}")
    try:
        model = MODELS[name](**config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: cannot rebuild {name} from its config {config}: {err}") \
            from None

    backend = current()  # the model is rebuilt on the current backend's device
    saved = {key[len(PARAM_PREFIX):]: a for key, a in arrays.items()
             if key.startswith(PARAM_PREFIX)}
    params = {pname: p for pname, p, _ in _saved(model)}
    expected = {pname: backend.to_host(p) for pname, p in params.items()}
    missing, unexpected = params.keys() - saved.keys(), saved.keys() - params.keys()
    if missing or unexpected:
        raise ValueError(f"{path}: parameters do not match the {name} config: "
                         f"missing {sorted(missing)}, unexpected {sorted(unexpected)}")
    for pname, p in expected.items():
        if saved[pname].shape != p.shape or saved[pname].dtype != p.dtype:
            raise ValueError(f"{path}: parameter {pname} has shape {saved[pname].shape} and "
                             f"dtype {saved[pname].dtype}, the model expects {p.shape} {p.dtype}")
        if not np.all(np.isfinite(saved[pname])):
            raise ValueError(f"{path}: parameter {pname} holds NaN or Inf values; the "
                             "checkpoint is unusable (saved from a diverged run?)")
    for pname, p in params.items():
        p[...] = backend.asarray(saved[pname])  # in place: grads and optimizers keep their arrays
    return model
