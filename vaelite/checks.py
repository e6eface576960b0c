"""Argument checks shared by the public API.

Each returns the value in the form the library uses, or raises an error that names the argument
and says what is expected: a TypeError for a value of the wrong kind (None, a string, a bool
where a number is expected), a ValueError for a value of the right kind out of range (0, 2.5,
NaN, inf where a positive integer is expected).
"""
import math
import numbers

import numpy as np


def integer(value, name, minimum=1):
    """``value`` as an int >= ``minimum`` (a whole float such as 10.0 is accepted)."""
    expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")
    if not (math.isfinite(value) and float(value).is_integer() and value >= minimum):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def number(value, name, minimum=None, strict=False):
    """``value`` as a finite float, >= ``minimum`` (> with ``strict``) when given."""
    bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite number{bound}, got {value!r} "
                        f"({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value) or (minimum is not None
                                    and (value < minimum or (strict and value == minimum))):
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return value


def sizes(value, name):
    """A sequence of positive integers (layer widths; it may be empty) as a list of ints."""
    try:
        entries = None if isinstance(value, (str, bytes)) else list(value)
    except TypeError:
        entries = None
    if entries is None:
        raise TypeError(f"{name} must be a sequence of positive integers such as (400,), "
                        f"got {value!r}")
    return [integer(v, f"each entry of {name}") for v in entries]


def choice(value, name, options):
    """``value``, one of the strings (or None) in ``options``."""
    if not (value is None or isinstance(value, str)) or value not in options:
        shown = ", ".join(repr(o) for o in options)
        raise ValueError(f"unknown {name} {value!r}; choose one of {shown}")
    return value


def flag(value, name):
    """``value`` as a bool (True, False or a NumPy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def generator(rng, name="rng"):
    """A numpy.random.Generator from a Generator or an integer seed (None is an error)."""
    if rng is None:
        raise ValueError(f"pass {name}=np.random.default_rng(seed) (or an integer seed)")
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(integer(rng, f"{name} (a Generator or an integer seed)", 0))


def float_dtype(dtype, name="dtype"):
    """np.float32 or np.float64 as a NumPy dtype."""
    try:
        dtype = np.dtype(dtype)
    except (TypeError, ValueError, SyntaxError):  # NumPy parses strings such as "f4, i2"
        raise TypeError(f"{name} must be np.float32 or np.float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be np.float32 or np.float64, got {dtype}")
    return dtype
