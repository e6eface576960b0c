"""pytest settings for the library tests."""
import matplotlib

matplotlib.use("Agg")  # figures render off screen, on any machine (the notebooks are not affected)

import pytest  # noqa: E402

import vaelite  # noqa: E402
from vaelite.backend import CPU_BACKENDS  # noqa: E402


@pytest.fixture(params=CPU_BACKENDS)
def backend(request):
    """Run a test once per CPU backend: the numba backend must give the reference's numbers."""
    with vaelite.use_backend(request.param):
        yield request.param


@pytest.fixture(scope="session")
def tt():
    """benchmarks/train_throughput.py, imported by path (it is a script, not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "train_throughput.py"
    spec = importlib.util.spec_from_file_location("train_throughput", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
