"""pytest settings for the library tests."""
import matplotlib

matplotlib.use("Agg")  # figures render off screen, on any machine (the notebooks are not affected)
