"""One switch for the whole library: which implementation runs the hot loops.

    import vaelite
    vaelite.set_backend("numba")      # or "numpy" (the readable reference) or "cupy" (GPU)
    with vaelite.use_backend("numpy"):
        ...

The NumPy backend runs the readable reference code. The Numba backend runs fused, compiled
twins of the hot loops (see ``vaelite/kernels``); tests hold the two equal. The CuPy backend
runs the same array code on a GPU. The default comes from the environment variable
``VAELITE_BACKEND`` and is "numpy" when it is unset.

Why "numpy" stays the default even where Numba is installed: the default runs the code a reader
reads, and the Numba kernels compile on first use (a few seconds in a fresh environment, under a
second once cached on disk) while they save tens of microseconds per training example, so they
pay off only for runs of many epochs. Measured figures: benchmarks/README.md.
"""
import contextlib
import os

import numpy as np

BACKENDS = ("numpy", "numba", "cupy")
CPU_BACKENDS = ("numpy", "numba")

_current = None


def _check_name(name):
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "numba":
        import importlib.util  # check without importing numba: kernels compile on first use

        if importlib.util.find_spec("numba") is None:
            raise RuntimeError("the numba backend needs Numba: pip install numba")
    if name == "cupy":
        try:
            import cupy
        except ImportError as err:
            raise RuntimeError("the cupy backend needs CuPy: pip install -e '.[gpu]'") from err
        if not cupy.cuda.is_available():
            raise RuntimeError("the cupy backend needs a CUDA GPU, and none is available")
    return name


def set_backend(name):
    """Select the backend for the whole library: "numpy", "numba" or "cupy"."""
    global _current
    _current = _check_name(name)


def get_backend():
    """The name of the backend in use."""
    global _current
    if _current is None:
        _current = _check_name(os.environ.get("VAELITE_BACKEND", "numpy"))
    return _current


@contextlib.contextmanager
def use_backend(name):
    """Run a block of code with another backend, then restore the previous one."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def array_module():
    """The array module of the current backend: numpy, or cupy on the GPU."""
    if get_backend() == "cupy":
        import cupy
        return cupy
    return np
