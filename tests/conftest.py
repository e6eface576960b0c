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
