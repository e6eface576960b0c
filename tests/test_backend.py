"""The backend switch: set/get/use_backend, errors, the CuPy path with and without a GPU."""
import importlib.util
import sys
import types

import numpy as np
import pytest

import vaelite
from vaelite import backend


@pytest.fixture(autouse=True)
def restore_backend():
    """Every test leaves the library on the backend it found."""
    previous = backend.get_backend()
    yield
    backend.set_backend(previous)


def test_set_and_get():
    for name in ("numba", "numpy"):
        vaelite.set_backend(name)
        assert vaelite.get_backend() == name
        assert backend.array_module() is np
    assert backend.BACKENDS == ("numpy", "numba", "cupy")


def test_use_backend_restores_even_after_an_error():
    vaelite.set_backend("numpy")
    with vaelite.use_backend("numba"):
        assert vaelite.get_backend() == "numba"
    assert vaelite.get_backend() == "numpy"
    with pytest.raises(KeyError):
        with vaelite.use_backend("numba"):
            raise KeyError("boom")
    assert vaelite.get_backend() == "numpy"


def test_unknown_backend():
    vaelite.set_backend("numpy")
    with pytest.raises(ValueError, match="unknown backend 'jax'; choose one of numpy, numba, cupy"):
        vaelite.set_backend("jax")
    with pytest.raises(ValueError, match="unknown backend"):
        with vaelite.use_backend("torch"):
            pass
    assert vaelite.get_backend() == "numpy"  # a failed switch changes nothing


def test_default_from_environment(monkeypatch):
    monkeypatch.setattr(backend, "_current", None)
    monkeypatch.setenv("VAELITE_BACKEND", "numba")
    assert backend.get_backend() == "numba"
    monkeypatch.setattr(backend, "_current", None)
    monkeypatch.delenv("VAELITE_BACKEND")
    assert backend.get_backend() == "numpy"
    monkeypatch.setattr(backend, "_current", None)
    monkeypatch.setenv("VAELITE_BACKEND", "fortran")
    with pytest.raises(ValueError, match="unknown backend 'fortran'"):
        backend.get_backend()
    monkeypatch.setattr(backend, "_current", None)
    monkeypatch.setenv("VAELITE_BACKEND", "numpy")


def test_cupy_not_installed(monkeypatch):
    """Simulated: with cupy unimportable the error says what to install."""
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    vaelite.set_backend("numpy")
    with pytest.raises(RuntimeError, match="needs CuPy"):
        vaelite.set_backend("cupy")
    assert vaelite.get_backend() == "numpy"


def test_cupy_without_gpu(monkeypatch):
    """Simulated: a cupy that sees no CUDA device gives a clear RuntimeError."""
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(is_available=lambda: False)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    vaelite.set_backend("numpy")
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        vaelite.set_backend("cupy")
    assert vaelite.get_backend() == "numpy"


def _real_cupy():
    if importlib.util.find_spec("cupy") is None:
        return None
    import cupy
    return cupy


def test_real_cupy():
    """With a real CuPy: the backend is refused without a device, and serves cupy with one."""
    cupy = _real_cupy()
    if cupy is None:
        pytest.skip("cupy is not installed")
    if not cupy.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA GPU"):
            vaelite.set_backend("cupy")
        return
    with vaelite.use_backend("cupy"):
        assert backend.array_module() is cupy
    assert backend.array_module() is np
