"""Auto-checked exercises for the book.

Each chapter registers its exercises in its own module, ``vaelite/exercises/chNN_topic.py``::

    import numpy as np
    from vaelite.exercises import Exercise, register

    def mean(x):                        # the reference solution, shown by show_solution
        return np.sum(x) / len(x)

    register(Exercise(
        name="ch00.mean",
        title="Mean of a vector",
        reference=mean,
        cases=[((np.array([1.0, 2.0, 3.0]),), 2.0)],           # (args, expected) pairs
        random_cases=lambda rng: [(rng.normal(size=n),) for n in (1, 7)],  # args only
    ))

A chapter notebook then runs ``check("ch00.mean", my_mean)``, which prints feedback and
returns a :class:`CheckResult`, and ``show_solution("ch00.mean")``, which shows the reference
folded away until the reader opens it.
"""
import copy
import dataclasses
import difflib
import html
import importlib
import inspect
import pkgutil
import sys
import textwrap
import traceback
import warnings
from typing import Any, Callable, Optional

import numpy as np

__all__ = ["Exercise", "CheckResult", "register", "get", "check", "run_cases",
           "compare_values", "show_solution", "load_all", "summary_table", "REGISTRY"]

REGISTRY = {}  # name -> Exercise


@dataclasses.dataclass
class Exercise:
    """One auto-checked exercise.

    name:         unique id, "chNN.short_name"
    title:        what the reader sees in the feedback
    reference:    a correct solution; its source is what show_solution displays
    cases:        fixed cases, a list of (args, expected); args is a tuple of positional
                  arguments (a single non-tuple value is taken as the only argument)
    random_cases: optional function rng -> list of args; expected = reference(*args)
    seed:         seed of the rng given to random_cases (so every run checks the same cases)
    rtol, atol:   tolerance of the default comparison (np.allclose)
    compare:      optional function (got, expected) -> None if equal, else a message
    hint:         printed when the answer is wrong
    minutes:      a teacher's estimate of the time a student needs
    """
    name: str
    title: str
    reference: Callable
    cases: list = dataclasses.field(default_factory=list)
    random_cases: Optional[Callable] = None
    seed: int = 0
    rtol: float = 1e-5
    atol: float = 1e-8
    compare: Optional[Callable] = None
    hint: str = ""
    minutes: int = 10
    chapter: str = ""  # the registering module, e.g. "ch01_autoencoder" (set by register)

    def all_cases(self):
        """Every case as (args, expected), fixed ones first."""
        out = [(_as_args(args), expected) for args, expected in self.cases]
        if self.random_cases is not None:
            rng = np.random.default_rng(self.seed)
            for args in self.random_cases(rng):
                args = _as_args(args)
                out.append((args, self.reference(*copy.deepcopy(args))))
        return out


def _as_args(args):
    return args if isinstance(args, tuple) else (args,)


def register(exercise):
    """Add an exercise to the registry (a later one with the same name replaces it)."""
    if not exercise.chapter:
        # remember which chapter module registered it, for the teachers' table
        caller = sys._getframe(1).f_globals.get("__name__", "")
        exercise.chapter = caller.rsplit(".", 1)[-1]
    REGISTRY[exercise.name] = exercise
    return exercise


def load_all():
    """Import every chapter module vaelite/exercises/ch*.py, so the registry is complete."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name.startswith("ch"):
            importlib.import_module(f"{__name__}.{module.name}")
    return REGISTRY


def get(name):
    """The exercise called ``name``."""
    if name not in REGISTRY:
        load_all()
    if name not in REGISTRY:
        close = difflib.get_close_matches(name, list(REGISTRY), n=3)
        raise KeyError(f"no exercise called {name!r}" +
                       (f"; did you mean {', '.join(close)}?" if close else ""))
    return REGISTRY[name]


# ----------------------------------------------------------------------------- comparing

def compare_values(got, expected, rtol=1e-5, atol=1e-8):
    """None if ``got`` matches ``expected``, else (kind, message).

    kind is one of "not implemented", "wrong type", "wrong shape", "wrong value".
    Tuples, lists and dicts are compared item by item.
    """
    if got is None and expected is not None:
        return "not implemented", "returned None (not implemented yet?)"
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return "wrong type", (f"expected a {type(expected).__name__} of {len(expected)} "
                                  f"values, got {_short_type(got)}")
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = compare_values(g, e, rtol, atol)
            if problem:
                return problem[0], f"output [{i}]: {problem[1]}"
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return "wrong type", (f"expected a dict with keys {sorted(expected)}, "
                                  f"got {_short_type(got)}")
        for key in expected:
            problem = compare_values(got[key], expected[key], rtol, atol)
            if problem:
                return problem[0], f"output [{key!r}]: {problem[1]}"
        return None
    if not _is_numeric(expected):
        return None if got == expected else ("wrong value", "not equal to the expected value")
    if not _is_numeric(got):
        return "wrong type", f"expected a number or an array, got {_short_type(got)}"
    g, e = np.asarray(got), np.asarray(expected)
    if g.shape != e.shape:
        return "wrong shape", f"expected shape {e.shape}, got shape {g.shape}"
    if e.dtype == bool or g.dtype == bool:
        equal = np.array_equal(g, e)
        return None if equal else ("wrong value", f"{np.sum(g != e)} entries differ")
    if np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        return None
    bad = ~np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(g.astype(float) - e.astype(float))[bad]
    parts = []
    if np.any(np.isfinite(err)):
        parts.append(f"max abs error {np.max(err[np.isfinite(err)]):.3g}")
    nonfinite = np.sum(~np.isfinite(g) & np.isfinite(e))
    if nonfinite:
        parts.append(f"got {nonfinite} nan/inf where a finite number was expected")
    message = "; ".join(parts) or "wrong nan/inf entries"
    if g.ndim:
        message += f" ({np.sum(bad)} of {g.size} entries wrong)"
    return "wrong value", message


def _is_numeric(x):
    if isinstance(x, (bool, int, float, complex, np.number, np.bool_)):
        return True
    return isinstance(x, np.ndarray) and x.dtype.kind in "biufc"


def _short_type(x):
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)} values"
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype}"
    return f"{type(x).__name__} {short_repr(x)}"


def short_repr(x, width=120):
    """A one-line, shortened repr of a value (arrays show their shape)."""
    if isinstance(x, np.ndarray):
        text = np.array2string(x, threshold=8, edgeitems=2, separator=", ",
                               formatter={"float_kind": lambda v: f"{v:.4g}"})
        text = " ".join(text.split())
        if x.ndim != 1 or x.size > 8:
            text += f" (shape {x.shape})"
    elif isinstance(x, tuple):
        text = "(" + ", ".join(short_repr(v, width) for v in x) + ("," if len(x) == 1 else "") + ")"
    elif isinstance(x, list):
        text = "[" + ", ".join(short_repr(v, width) for v in x) + "]"
    elif isinstance(x, (float, np.floating)):
        text = f"{x:.6g}"
    else:
        text = repr(x)
    return text if len(text) <= width else text[: width - 3] + "..."


# ----------------------------------------------------------------------------- checking

@dataclasses.dataclass
class Failure:
    """One failed case."""
    case: int       # 1-based
    kind: str       # "raised", "not implemented", "wrong type", "wrong shape", "wrong value"
    message: str
    inputs: str
    expected: Any = None
    got: Any = None


@dataclasses.dataclass
class CheckResult:
    """What check() found. Truthy when every case passed."""
    name: str
    passed: bool
    n_cases: int
    failures: list
    report: str

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return (f"CheckResult({self.name!r}, passed={self.passed}, "
                f"{self.n_cases - len(self.failures)}/{self.n_cases} cases)")

    def _ipython_display_(self):
        pass  # check() has already printed the report; don't show it twice in a notebook


def check(name, func, verbose=True):
    """Run ``func`` on every case of exercise ``name``; print feedback; return a CheckResult.

    Mistakes in ``func`` (an exception, a wrong value, a wrong shape...) are reported,
    never raised.
    """
    exercise = get(name)
    result = run_cases(exercise, func)
    if verbose:
        print(result.report)
    return result


def run_cases(exercise, func):
    """Check ``func`` against ``exercise`` quietly; return a CheckResult."""
    header = f"{exercise.name}: {exercise.title}"
    if not callable(func):
        report = f"✗ {header}\n  expected a function, got {_short_type(func)}"
        return CheckResult(exercise.name, False, 0, [Failure(0, "wrong type", report, "")],
                           report)
    cases = exercise.all_cases()
    names = _parameter_names(exercise.reference)
    failures = []
    for i, (args, expected) in enumerate(cases, start=1):
        failure = _run_case(exercise, func, i, args, expected, names)
        if failure:
            failures.append(failure)
    if not failures:
        report = f"✓ {header}\n  all {len(cases)} cases passed."
        return CheckResult(exercise.name, True, len(cases), [], report)
    first = failures[0]
    lines = [f"✗ {header}",
             f"  {len(failures)} of {len(cases)} cases failed. "
             f"The first, case {first.case} of {len(cases)}: {first.kind}",
             f"    inputs:   {first.inputs}"]
    if first.kind != "raised":
        lines += [f"    expected: {short_repr(first.expected, 66)}",
                  f"    got:      {short_repr(first.got, 66)}"]
    lines += ["    " + line for line in first.message.split("\n")]
    if exercise.hint and first.kind != "not implemented":
        lines += textwrap.wrap(f"Hint: {exercise.hint}", width=76,
                               initial_indent="  ", subsequent_indent="    ")
    report = "\n".join(lines)
    return CheckResult(exercise.name, False, len(cases), failures, report)


def _run_case(exercise, func, i, args, expected, names):
    # one argument a line, so that the feedback stays narrow
    inputs = "\n              ".join(f"{n}={short_repr(a, 56)}" if n else short_repr(a, 56)
                                     for n, a in zip(names + [None] * len(args), args))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = func(*copy.deepcopy(args))  # a copy: the student may change the inputs
        except NotImplementedError:
            return Failure(i, "not implemented", "raised NotImplementedError "
                           "(not implemented yet?)", inputs, expected)
        except Exception as err:  # the student's bug, reported as feedback
            return Failure(i, "raised", f"raised {type(err).__name__}: {err}"
                           f"{_where(err)}", inputs, expected)
    if got is None and expected is not None:
        problem = ("not implemented", "returned None (not implemented yet?)")
    elif exercise.compare is not None:
        try:
            message = exercise.compare(got, expected)
        except Exception as err:  # e.g. the student returned a string
            message = f"could not compare: {type(err).__name__}: {err}"
        problem = None if message is None else ("wrong value", message)
    else:
        problem = compare_values(got, expected, exercise.rtol, exercise.atol)
    if problem is None:
        return None
    kind, message = problem
    numpy_warnings = sorted({str(w.message) for w in caught})
    if numpy_warnings:
        message += "\nwarnings: " + "; ".join(numpy_warnings)
    return Failure(i, kind, message, inputs, expected, got)


def _parameter_names(func):
    try:
        return [p.name for p in inspect.signature(func).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return []


def _where(err):
    """' (at line N: code)' for the innermost frame of a traceback, if it has a source line."""
    frames = traceback.extract_tb(err.__traceback__)
    if len(frames) < 2 or not frames[-1].line:
        return ""
    return f"\nat line {frames[-1].lineno}: {frames[-1].line.strip()}"


# ----------------------------------------------------------------------------- solutions

class Solution:
    """The reference solution's source, folded in a <details> element until it is opened."""

    def __init__(self, exercise):
        self.title = exercise.title
        self.source = textwrap.dedent(inspect.getsource(exercise.reference)).strip() + "\n"

    def __repr__(self):
        return self.source

    def _repr_html_(self):
        # syntax highlighting with pygments (installed with IPython); the book's theme
        # restyles the same "highlight" classes, so solutions look like every other code cell
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
            formatter = HtmlFormatter(cssclass="highlight")
            code = highlight(self.source, PythonLexer(), formatter)
            style = "\n".join(formatter.get_token_style_defs(".vaelite-solution .highlight"))
            code = f"<style>{style}</style>\n{code}"
        except ImportError:
            code = f"<pre>{html.escape(self.source)}</pre>"
        return ('<details class="vaelite-solution"><summary style="cursor: pointer; '
                f'font-weight: 600">Show the solution: {html.escape(self.title)}</summary>\n'
                f"{code}</details>")


def show_solution(name):
    """The reference solution of exercise ``name``, hidden until the reader opens it."""
    return Solution(get(name))


def summary_table(label=None):
    """A Markdown table of the registered exercises, by chapter, for the teachers' page.

    label: optional function chapter module name -> text of the Chapter column.
    """
    load_all()
    by_chapter = {}
    for ex in REGISTRY.values():
        by_chapter.setdefault(ex.chapter, []).append(ex)
    rows = ["| Chapter | Exercises (minutes each) | Minutes in all |", "| --- | --- | ---: |"]
    for chapter in sorted(by_chapter):
        exercises = by_chapter[chapter]
        titles = "; ".join(f"{ex.title} ({ex.minutes})".replace("|", "\\|") for ex in exercises)
        total = sum(ex.minutes for ex in exercises)
        rows.append(f"| {label(chapter) if label else chapter} | {titles} | {total} |")
    return "\n".join(rows) + "\n"
