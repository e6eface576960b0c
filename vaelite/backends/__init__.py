"""One switch for the whole library: which backend object runs the array code.

    import vaelite
    vaelite.set_backend("numba")      # "numpy" (the readable reference), "numba", "cupy" (GPU)
    with vaelite.use_backend("numpy"):
        ...
    from vaelite.backends import current
    current().xp                      # the array namespace of the backend in use

A backend is an object (``numpy_backend.NumpyBackend`` and its subclasses). It owns

- ``xp``, the array namespace (the Python array API standard: numpy, cupy or array_api_strict),
  and the device: ``asarray`` moves host data there, ``to_host`` brings results back as NumPy;
- its random draws (``uniform``, ``standard_normal``), always seeded by a ``numpy.random.Generator``;
- the fused primitives of a training step: bias + activation and its backward pass,
  reparameterization + KL and its backward pass, the Bernoulli NLL from logits, the Adam update,
  log-sum-exp, binarization.

The NumPy backend's methods are the readable reference; "numba" overrides the primitives it
speeds up with compiled twins; "cupy" runs the same code on a GPU (plus two fused GPU kernels);
"strict" runs it on ``array_api_strict`` arrays, for the tests: a NumPy-only call fails there on
a CPU machine instead of on a reader's GPU. Layers, losses, models and optimizers call
``current()``'s methods and never ask for its name.

The default comes from the environment variable ``VAELITE_BACKEND`` and is "numpy" when it is
unset. Why "numpy" stays the default even where Numba is installed: the default runs the code a
reader reads, and the Numba kernels compile on first use (a few seconds in a fresh environment,
under a second once cached on disk), so they pay off only for runs of many epochs. Importing
vaelite imports neither numba nor cupy: a backend's module is imported when it is selected.
"""
import contextlib
import importlib
import os

# name -> (module in this package, class): imported only when selected
_REGISTRY = {
    "numpy": ("numpy_backend", "NumpyBackend"),
    "numba": ("numba_backend", "NumbaBackend"),
    "cupy": ("cupy_backend", "CupyBackend"),
    "strict": ("strict_backend", "StrictBackend"),
}
BACKENDS = tuple(_REGISTRY)
CPU_BACKENDS = ("numpy", "numba")  # the ones a reader runs on a laptop
TEST_BACKENDS = ("numpy", "numba", "strict")  # every CPU machine runs the test suite on these

_instances = {}
_current = None


def make_backend(name):
    """The backend object called ``name`` (one instance per name), or a clear error: ValueError
    for an unknown name, RuntimeError when its library or device is missing."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name not in _instances:
        module, cls = _REGISTRY[name]
        _instances[name] = getattr(importlib.import_module(f".{module}", __name__), cls)()
    return _instances[name]


def set_backend(name):
    """Select the backend for the whole library: "numpy", "numba", "cupy" or "strict"."""
    global _current
    _current = make_backend(name)


def current():
    """The backend object in use (chosen by ``VAELITE_BACKEND`` until ``set_backend``)."""
    global _current
    if _current is None:
        _current = make_backend(os.environ.get("VAELITE_BACKEND", "numpy"))
    return _current


def get_backend():
    """The name of the backend in use."""
    return current().name


@contextlib.contextmanager
def use_backend(name):
    """Run a block of code with another backend, then restore the previous one."""
    previous = current()
    set_backend(name)
    try:
        yield current()
    finally:
        global _current
        _current = previous
