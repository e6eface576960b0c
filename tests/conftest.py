"""pytest settings for the library tests."""
import importlib.util

import matplotlib

matplotlib.use("Agg")  # figures render off screen, on any machine (the notebooks are not affected)

import pytest  # noqa: E402

import vaelite  # noqa: E402
from vaelite.backends import CPU_BACKENDS, TEST_BACKENDS  # noqa: E402


def gpu_reason():
    """Why the cupy backend cannot run here, or None when CuPy and a CUDA device are present."""
    if importlib.util.find_spec("cupy") is None:
        return "CuPy is not installed (pip install -e '.[gpu]')"
    import cupy

    if not cupy.cuda.is_available():
        return "no CUDA device"
    return None


ALL_BACKENDS = [*TEST_BACKENDS, pytest.param("cupy", marks=pytest.mark.skipif(
    gpu_reason() is not None, reason=f"cupy backend: {gpu_reason()}"))]


@pytest.fixture(params=ALL_BACKENDS)
def any_backend(request):
    """Run a test once per backend: numpy, numba, strict (array_api_strict arrays on a simulated
    device), and cupy where a GPU is present; each must give the reference's numbers."""
    with vaelite.use_backend(request.param) as backend:
        yield backend


@pytest.fixture(params=CPU_BACKENDS)
def backend(request):
    """Run a test once per CPU backend on NumPy arrays: numpy and numba."""
    with vaelite.use_backend(request.param):
        yield request.param
