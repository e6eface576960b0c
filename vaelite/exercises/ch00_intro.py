"""Exercises of "How to use this book" (book/00_how_to_use.ipynb): two small demos."""
import numpy as np

from vaelite.exercises import Exercise, register


def mean(x):
    """The mean of a vector x: (n,) -> scalar."""
    return np.sum(x) / len(x)


def softplus(x):
    """log(1 + exp(x)), elementwise, without overflow for large x."""
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), and e^-|x| is at most 1
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


register(Exercise(
    name="ch00.mean",
    title="Mean of a vector",
    reference=mean,
    cases=[((np.array([1.0, 2.0, 3.0]),), 2.0),
           ((np.array([-4.0]),), -4.0)],
    random_cases=lambda rng: [(rng.normal(size=n),) for n in (2, 10, 1000)],
    hint="add the entries up, then divide by how many there are.",
    minutes=5,
))

register(Exercise(
    name="ch00.softplus",
    title="A softplus that does not overflow",
    reference=softplus,
    cases=[((np.array([0.0]),), np.array([np.log(2.0)])),
           ((np.array([-1000.0, 0.0, 1000.0]),), np.array([0.0, np.log(2.0), 1000.0]))],
    random_cases=lambda rng: [(rng.normal(scale=s, size=(3, 4)),) for s in (1.0, 50.0)],
    hint="np.exp(1000) overflows. Write log(1 + e^x) as max(x, 0) + log(1 + e^-|x|).",
    minutes=10,
))
