"""The strict backend, for the tests: the reference code on ``array_api_strict`` arrays.

``array_api_strict`` implements the Python array API standard and nothing more, on a simulated
device ("device1") whose arrays NumPy refuses to convert. A NumPy-only call (``np.exp(x)``, the
``x.reshape`` method, an ``out=`` argument) or a result that should have gone through ``to_host``
then fails on a CPU machine, in the test suite, instead of on a reader's GPU with CuPy. Random
numbers come from the NumPy generator and are moved to the device, so with the same seed the
numbers equal the "numpy" backend's.
"""
import numpy as np

from .numpy_backend import NumpyBackend


class StrictBackend(NumpyBackend):
    """The generic array code on array_api_strict arrays on a non-CPU device (tests only)."""

    name = "strict"

    def __init__(self):
        try:
            import array_api_strict
        except ImportError as err:
            raise RuntimeError("the strict backend is for the tests and needs array-api-strict: "
                               "pip install array-api-strict") from err
        self.xp = array_api_strict
        self.device = array_api_strict.Device("device1")
        self.host = array_api_strict.Device("CPU_DEVICE")

    def asarray(self, a, dtype=None):
        if isinstance(a, np.ndarray):
            a = np.ascontiguousarray(a)  # array_api_strict copies from a contiguous buffer
        return self.xp.asarray(a, dtype=self.dtype(dtype) if dtype is not None else None,
                               device=self.device)

    def numpy_dtype(self, dtype):
        if isinstance(dtype, (np.dtype, type, str)):  # already NumPy's
            return np.dtype(dtype)
        return next(np.dtype(name) for name in ("float32", "float64", "int64", "bool")
                    if dtype == getattr(self.xp, name))

    def to_host(self, a):
        return np.asarray(a.to_device(self.host))
