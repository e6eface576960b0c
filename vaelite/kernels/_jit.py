"""Lazy Numba compilation of the kernel twins.

A twin is an ordinary top-level Python function (a loop that reads like C). ``jit(func)``
compiles it the first time a kernel runs under the "numba" backend, so ``import vaelite``
neither imports numba nor compiles anything. Options used for every twin:

- ``cache=True``: the machine code is written next to the source (``__pycache__``, or the folder
  in ``NUMBA_CACHE_DIR``) and a new process loads it in milliseconds instead of compiling again.
  Each twin is its own top-level function: two kernels built by one closure would share one
  cache entry, and the wrong one could load.
- ``error_model="numpy"``: a division by zero gives inf/nan as in NumPy instead of raising,
  which lets LLVM vectorise loops that divide.
- serial (no ``parallel=True``): on a 2-core machine, Numba's thread pool spinning beside
  OpenBLAS's threads made a training step up to 20x slower. The matrix products stay in BLAS,
  which uses the cores; the elementwise kernels here are memory-bound and fast on one thread.
- ``fastmath`` only where a kernel says so (it allows reordering sums, which vectorises them);
  never the "nnan"/"ninf" flags, so NaN and inf behave as in the reference.
"""
import importlib.util

_compiled = {}

# fastmath flags that keep NaN/inf semantics: reassociation (vectorised sums), contraction (FMA),
# reciprocal and approximate-function flags are left out to stay close to the reference.
FAST = frozenset({"reassoc", "contract", "nsz"})


def numba_available():
    """True when numba can be imported (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


def jit(func, fastmath=False):
    """The compiled twin of ``func`` (compiled on first call, cached on disk)."""
    kernel = _compiled.get(func)
    if kernel is None:
        import numba

        kernel = numba.njit(func, cache=True, nogil=True, error_model="numpy",
                            fastmath=set(fastmath) if fastmath else False)
        _compiled[func] = kernel
    return kernel
