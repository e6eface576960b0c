"""The exercise framework, and every exercise registered by a chapter (vaelite/exercises/ch*.py):
its reference passes, an empty answer fails, a wrong answer fails with useful feedback."""
import numpy as np
import pytest

from vaelite import exercises
from vaelite.exercises import Exercise, check, compare_values, run_cases, show_solution

ALL = exercises.load_all()
NAMES = sorted(ALL)


def perturbed(value):
    """A generic wrong answer: every number moved a little (value * 1.1 + 0.1)."""
    if isinstance(value, tuple):
        return tuple(perturbed(v) for v in value)
    if isinstance(value, list):
        return [perturbed(v) for v in value]
    if isinstance(value, dict):
        return {k: perturbed(v) for k, v in value.items()}
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, np.ndarray) and value.dtype == bool):
        return np.logical_not(value)
    return np.asarray(value) * 1.1 + 0.1 if np.ndim(value) else value * 1.1 + 0.1


def test_the_registry_has_the_demo_exercises():
    assert "ch00.mean" in ALL and "ch00.softplus" in ALL
    assert ALL["ch00.mean"].chapter == "ch00_intro"


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes(name):
    result = run_cases(ALL[name], ALL[name].reference)
    assert result.passed, result.report
    assert result.n_cases >= 2, "an exercise needs at least two cases"


@pytest.mark.parametrize("name", NAMES)
def test_empty_answer_fails(name):
    result = run_cases(ALL[name], lambda *args, **kwargs: None)
    assert not result
    assert "not implemented" in result.report
    assert "case 1 of" in result.report


@pytest.mark.parametrize("name", NAMES)
def test_wrong_answer_fails_with_feedback(name):
    reference = ALL[name].reference
    result = run_cases(ALL[name], lambda *args: perturbed(reference(*args)))
    assert not result.passed
    first = result.failures[0]
    assert f"case {first.case} of {result.n_cases}" in result.report
    assert "inputs:" in result.report
    assert "expected:" in result.report and "got:" in result.report


@pytest.mark.parametrize("name", NAMES)
def test_solution_shows_source(name):
    solution = show_solution(name)
    assert "def " in repr(solution) or "lambda" in repr(solution)
    assert "<details" in solution._repr_html_()


@pytest.mark.parametrize("name", NAMES)
def test_random_cases_are_reproducible(name):
    first, second = ALL[name].all_cases(), ALL[name].all_cases()
    assert len(first) == len(second)
    for (args1, _), (args2, _) in zip(first, second):
        assert repr(args1) == repr(args2)


# ---------------------------------------------------------------- the checker itself

def test_check_prints_and_returns_a_truthy_result(capsys):
    result = check("ch00.mean", lambda x: np.sum(x) / len(x))
    assert result and result.passed and not result.failures
    assert "all 5 cases passed" in capsys.readouterr().out


def test_each_kind_of_failure_is_named():
    def kind(answer):
        return run_cases(ALL["ch00.mean"], answer).failures[0].kind

    assert kind(lambda x: None) == "not implemented"
    assert kind(lambda x: 1 / 0) == "raised"
    assert kind(lambda x: np.mean(x, keepdims=True)) == "wrong shape"
    assert kind(lambda x: np.sum(x)) == "wrong value"
    assert kind(lambda x: "two") == "wrong type"


def test_feedback_for_an_exception_names_it(capsys):
    result = check("ch00.mean", lambda x: x.no_such_method())
    out = capsys.readouterr().out
    assert not result
    assert "raised AttributeError" in out and "case 1 of 5" in out


def test_not_implemented_error_counts_as_not_implemented():
    def mean(x):
        raise NotImplementedError

    assert run_cases(ALL["ch00.mean"], mean).failures[0].kind == "not implemented"


def test_overflow_feedback_shows_the_warning():
    result = run_cases(ALL["ch00.softplus"], lambda x: np.log(1 + np.exp(x)))
    assert not result
    assert "inf" in result.report and "overflow" in result.report
    assert "x=[-1000, 0, 1000]" in result.report


def test_not_a_function_is_feedback_not_an_error():
    result = check("ch00.mean", 3.0)
    assert not result and "expected a function" in result.report


def test_the_answer_cannot_change_the_cases():
    def greedy(x):
        value = np.sum(x) / len(x)
        x[:] = 0.0  # changes its input in place
        return value

    assert run_cases(ALL["ch00.mean"], greedy).passed


def test_unknown_name_suggests_the_closest():
    with pytest.raises(KeyError, match="ch00.mean"):
        check("ch00.maen", np.mean)


def test_compare_values():
    assert compare_values(1.0, 1.0) is None
    assert compare_values((np.ones(2), 3.0), (np.ones(2), 3.0)) is None
    assert compare_values((np.ones(2),), (np.ones(2), 3.0))[0] == "wrong type"
    assert compare_values(np.ones(3), np.ones((3, 1)))[0] == "wrong shape"
    kind, message = compare_values(np.array([1.0, 2.5]), np.array([1.0, 2.0]))
    assert kind == "wrong value" and "max abs error 0.5" in message and "1 of 2" in message
    assert compare_values(np.array([np.nan]), np.array([1.0]))[0] == "wrong value"
    assert compare_values({"a": 1.0}, {"a": 1.0}) is None
    assert compare_values({"a": 2.0}, {"a": 1.0})[0] == "wrong value"


def test_custom_compare_and_tolerances():
    def close_in_sum(got, expected):
        return None if abs(np.sum(got) - np.sum(expected)) < 1e-9 else "the sums differ"

    exercise = Exercise(name="test.sorted", title="Sort", reference=np.sort,
                        cases=[(np.array([3.0, 1.0]), np.array([1.0, 3.0]))],
                        compare=close_in_sum)
    assert run_cases(exercise, lambda x: x).passed  # same sum, so this compare accepts it
    failed = run_cases(exercise, lambda x: x + 1)
    assert not failed and "the sums differ" in failed.report
    loose = Exercise(name="test.loose", title="Loose", reference=np.exp,
                     cases=[(0.0, 1.0)], atol=0.1)
    assert run_cases(loose, lambda x: 1.05).passed
