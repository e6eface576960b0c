"""pytest settings for the library tests."""
import matplotlib

matplotlib.use("Agg")  # figures render off screen, on any machine (the notebooks are not affected)

import pytest  # noqa: E402

import vaelite  # noqa: E402

CPU_BACKENDS = ["numpy", "numba"]  # the numba backend must give the reference's numbers


@pytest.fixture(params=CPU_BACKENDS)
def backend(request):
    """Run a test once per CPU backend."""
    with vaelite.use_backend(request.param):
        yield request.param
