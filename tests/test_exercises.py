"""The exercise framework, and every exercise registered by a chapter (vaelite/exercises/ch*.py):
its reference passes, an empty answer fails, a wrong answer fails with useful feedback."""
import numpy as np
import pytest

from vaelite import exercises
from vaelite.exercises import (Exercise, check, compare_values, constant_factor, run_cases,
                               show_solution)

ALL = exercises.load_all()
NAMES = sorted(ALL)
PART_I = [name for name in NAMES if name.split(".")[0] in {f"ch0{i}" for i in range(7)}]


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


def scaled(value, factor):
    """An answer off by a constant: every number times factor (booleans and strings kept)."""
    if isinstance(value, tuple):
        return tuple(scaled(v, factor) for v in value)
    if isinstance(value, list):
        return [scaled(v, factor) for v in value]
    if isinstance(value, dict):
        return {k: scaled(v, factor) for k, v in value.items()}
    if isinstance(value, (bool, np.bool_, str)):
        return value
    return np.asarray(value) * factor if np.ndim(value) else value * factor


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


# ---------------------------------------------------------------- hints for typical mistakes

@pytest.mark.parametrize("factor, heading", [(2.0, "Factor of 2"), (0.5, "Factor of 2"),
                                             (-1.0, "Sign"), (-2.0, "Sign and factor of 2")])
@pytest.mark.parametrize("name", PART_I)
def test_an_answer_off_by_a_constant_gets_a_hint(name, factor, heading):
    reference = ALL[name].reference
    result = run_cases(ALL[name], lambda *args: scaled(reference(*args), factor))
    assert not result.passed
    first = result.failures[0]
    assert first.kind == "wrong value" and first.factor == factor, result.report
    assert f"\n  {heading}: " in result.report
    if factor == 2.0:
        assert "exactly 2 times the expected value" in result.report
    if factor == -1.0:
        assert "opposite sign" in result.report


def test_the_hint_names_the_output_that_is_off():
    def missing_half(mu, logvar, eps):  # dz/dlogvar = eps * sigma, without the 1/2
        sigma = np.exp(0.5 * logvar)
        z = mu + sigma * eps
        return np.mean(np.exp(z)), np.mean(np.exp(z) * eps * sigma)

    result = run_cases(ALL["ch06.exp_pathwise"], missing_half)
    assert result.failures[0].case == 2 and result.failures[0].factor == 2.0
    assert "Factor of 2: output [1] is exactly 2 times the expected value" in result.report


def test_no_factor_hint_for_other_wrong_answers():
    assert "Factor of 2" not in run_cases(ALL["ch00.mean"], lambda x: np.sum(x)).report
    result = run_cases(ALL["ch00.mean"], lambda x: np.sum(x) / len(x) + 1)
    assert result.failures[0].factor is None and "Sign" not in result.report
    assert constant_factor(np.array([2.0, 4.0]), np.array([1.0, 2.0])) == 2.0
    assert constant_factor(np.array([2.0, 3.0]), np.array([1.0, 2.0])) is None
    assert constant_factor(0.5, 0.0) is None                 # no factor turns 0 into 0.5
    assert constant_factor(-1.0, 1.0) == -1.0 and constant_factor(1.0, 1.0) is None
    assert constant_factor(np.ones(2), np.ones(3)) is None   # a wrong shape is not a factor
    assert constant_factor(np.array([np.inf]), np.array([np.inf])) is None


def test_custom_compare_also_gets_the_factor_hint():
    exercise = Exercise(name="test.custom", title="Custom", reference=lambda x: 3 * x,
                        cases=[(1.0, 3.0)], compare=lambda g, e: None if g == e else "differs")
    result = run_cases(exercise, lambda x: -3 * x)
    assert "differs" in result.report and "Sign: your answer" in result.report


def test_an_exception_points_at_the_students_line_not_numpys():
    def inverse_mean(x):
        total = np.sum(x)
        inverse = np.linalg.inv(x)  # a 1-D array: numpy raises LinAlgError deep inside
        return total / inverse

    result = run_cases(ALL["ch00.mean"], inverse_mean)
    first = result.failures[0]
    assert first.kind == "raised" and "LinAlgError" in first.message
    line = inverse_mean.__code__.co_firstlineno + 2
    assert f"at line {line} of inverse_mean: inverse = np.linalg.inv(x)" in result.report
    assert "raised inside numpy, called from this line" in result.report
    assert "linalg.py" not in result.report and "numpy/linalg" not in result.report


def test_an_exception_in_a_students_helper_points_at_the_helper():
    def helper(x):
        return x.reshape(2, 2)  # fails for 3 entries, inside the student's own code

    def answer(x):
        return np.sum(helper(x)) / len(x)

    result = run_cases(ALL["ch00.mean"], answer)
    line = helper.__code__.co_firstlineno + 1
    assert f"at line {line} of helper: return x.reshape(2, 2)" in result.report
    assert "raised inside" not in result.report   # the student's line raised it itself


def _exp_pathwise_answer(sigma_of=lambda logvar: np.exp(0.5 * logvar), half=0.5,
                         sigma_in_dz=True, average=np.mean, f_prime=np.exp):
    """exp_pathwise_grads with one of its typical mistakes."""
    def answer(mu, logvar, eps):
        sigma = sigma_of(logvar)
        z = mu + sigma * eps
        dz_dlogvar = eps * half * (sigma if sigma_in_dz else 1.0)
        return average(f_prime(z)), average(f_prime(z) * dz_dlogvar)
    return answer


@pytest.mark.parametrize("mistake, first_case, output, factor", [
    (dict(average=np.sum), 2, 0, 2.0),                       # a sum over the samples
    (dict(half=1.0), 2, 1, 2.0),                             # dz/dlogvar without the 1/2
    (dict(f_prime=np.ones_like), 2, 0, None),                # forgot f'(z) = exp(z)
    (dict(sigma_of=np.exp), 4, 0, None),                     # sigma = exp(logvar)
    (dict(sigma_in_dz=False), 4, 1, 0.5),                    # dz/dlogvar = eps / 2
])
def test_pathwise_mistakes_fail_on_the_case_that_shows_them(mistake, first_case, output, factor):
    result = run_cases(ALL["ch06.exp_pathwise"], _exp_pathwise_answer(**mistake))
    first = result.failures[0]
    assert first.case == first_case, result.report
    assert first.message.startswith(f"output [{output}]") and first.factor == factor
    assert first.inputs  # a fixed case, with readable numbers
    assert run_cases(ALL["ch06.exp_pathwise"], _exp_pathwise_answer()).passed


def test_kl_of_two_gaussians_with_the_wrong_variance_fails_on_a_fixed_case():
    def mean_term_over_q(mu_q, logvar_q, mu_p, logvar_p):  # (mu_q - mu_p)^2 / var_q
        return 0.5 * np.sum(logvar_p - logvar_q + np.exp(logvar_q) / np.exp(logvar_p)
                            + (mu_q - mu_p) ** 2 / np.exp(logvar_q) - 1, axis=-1)

    result = run_cases(ALL["ch05.kl_diag_gaussians"], mean_term_over_q)
    assert result.failures[0].case == 3, result.report
