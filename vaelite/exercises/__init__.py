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
import os
import pkgutil
import sys
import sysconfig
import textwrap
import traceback
import warnings
from typing import Any, Callable, Optional

import numpy as np

__all__ = ["Exercise", "CheckResult", "register", "get", "check", "run_cases",
           "compare_values", "constant_factor", "factor_hint", "show_solution", "load_all",
           "summary_table", "REGISTRY"]

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
    Tuples, lists and dicts are compared item by item. (Whether a wrong answer is off by a
    constant factor is constant_factor's question; check() reports both.)
    """
    problem = _mismatch(got, expected, rtol, atol)
    return None if problem is None else problem[:2]


# what an answer that is off by a constant factor most likely got wrong: (heading, sentence)
# with {what} standing for "your answer" or "output [i]"
FACTOR_HINTS = {
    2.0: ("Factor of 2", "{what} is exactly 2 times the expected value. Is a 1/2 missing, or "
                         "is there a sum where a mean belongs?"),
    0.5: ("Factor of 2", "{what} is exactly half the expected value. Is there an extra 1/2, "
                         "or a mean where a sum belongs?"),
    -1.0: ("Sign", "{what} is the expected value with the opposite sign. Is a minus sign "
                   "missing or extra (a log-probability where a loss belongs, or the reverse)?"),
    -2.0: ("Sign and factor of 2", "{what} is exactly -2 times the expected value: the sign "
                                   "is wrong, and a 1/2 is missing or a sum stands for a mean."),
    -0.5: ("Sign and factor of 2", "{what} is exactly -1/2 times the expected value: the sign "
                                   "is wrong, and there is an extra 1/2 or a mean stands for "
                                   "a sum."),
}


def factor_hint(factor, what="your answer"):
    """The hint for an answer that is ``factor`` times the expected value (see FACTOR_HINTS)."""
    heading, sentence = FACTOR_HINTS[factor]
    return f"{heading}: {sentence.format(what=what)}"


def constant_factor(got, expected, rtol=1e-5, atol=1e-8):
    """The factor c in FACTOR_HINTS with got == c * expected (to the tolerances), or None.

    Only for numbers and arrays of the same shape that do not already match.
    """
    if not (_is_numeric(got) and _is_numeric(expected)):
        return None
    g, e = np.asarray(got), np.asarray(expected)
    if g.shape != e.shape or g.dtype == bool or e.dtype == bool:
        return None
    with np.errstate(all="ignore"):
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(e))):
            return None
        if np.allclose(g, e, rtol=rtol, atol=atol):
            return None
        for factor in FACTOR_HINTS:
            if np.allclose(g, factor * e, rtol=rtol, atol=atol):
                return factor
    return None


def _mismatch(got, expected, rtol, atol):
    """None, or (kind, message, factor) for the first item of got that is wrong; factor is
    the constant (see FACTOR_HINTS) by which a wrong number or array is off, else None."""
    if got is None and expected is not None:
        return "not implemented", "returned None (not implemented yet?)", None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return "wrong type", (f"expected a {type(expected).__name__} of {len(expected)} "
                                  f"values, got {_short_type(got)}"), None
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = _mismatch(g, e, rtol, atol)
            if problem:
                return problem[0], f"output [{i}]: {problem[1]}", problem[2]
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return "wrong type", (f"expected a dict with keys {sorted(expected)}, "
                                  f"got {_short_type(got)}"), None
        for key in expected:
            problem = _mismatch(got[key], expected[key], rtol, atol)
            if problem:
                return problem[0], f"output [{key!r}]: {problem[1]}", problem[2]
        return None
    if not _is_numeric(expected):
        return None if got == expected else ("wrong value", "not equal to the expected value",
                                             None)
    if not _is_numeric(got):
        return "wrong type", f"expected a number or an array, got {_short_type(got)}", None
    g, e = np.asarray(got), np.asarray(expected)
    if g.shape != e.shape:
        return "wrong shape", f"expected shape {e.shape}, got shape {g.shape}", None
    if e.dtype == bool or g.dtype == bool:
        equal = np.array_equal(g, e)
        return None if equal else ("wrong value", f"{np.sum(g != e)} entries differ", None)
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
    return "wrong value", message, constant_factor(g, e, rtol, atol)


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
    factor: Optional[float] = None  # the answer is this constant times the expected value
    exception: Optional[str] = None  # kind "raised": the exception's type name


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
    if first.factor is not None:
        what = first.message.split(": ", 1)[0] if first.message.startswith("output [") \
            else "your answer"
        lines += textwrap.wrap(factor_hint(first.factor, what), width=76,
                               initial_indent="  ", subsequent_indent="    ")
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
                           f"{_where(err, func)}", inputs, expected,
                           exception=type(err).__name__)
    if got is None and expected is not None:
        problem = ("not implemented", "returned None (not implemented yet?)", None)
    elif exercise.compare is not None:
        try:
            message = exercise.compare(got, expected)
        except Exception as err:  # e.g. the student returned a string
            message = f"could not compare: {type(err).__name__}: {err}"
        problem = None if message is None else (
            "wrong value", message, constant_factor(got, expected, exercise.rtol, exercise.atol))
    else:
        problem = _mismatch(got, expected, exercise.rtol, exercise.atol)
    if problem is None:
        return None
    kind, message, factor = problem
    numpy_warnings = sorted({str(w.message) for w in caught})
    if numpy_warnings:
        message += "\nwarnings: " + "; ".join(numpy_warnings)
    return Failure(i, kind, message, inputs, expected, got, factor)


def _parameter_names(func):
    try:
        return [p.name for p in inspect.signature(func).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return []


def _library_folders():
    """Folders of code that is not the student's: the standard library, installed packages
    and vaelite itself."""
    paths = sysconfig.get_paths()
    folders = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")
               if key in paths}
    folders.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # vaelite/
    return tuple(os.path.join(os.path.realpath(f), "") for f in folders)


def _is_students(filename):
    if filename.startswith("<"):
        return filename.startswith("<ipython-input")  # old IPython cells; not "<frozen ...>"
    return not os.path.realpath(filename).startswith(_library_folders())


def _where(err, func=None):
    """Where the student's code raised: '\nat line N of name: code' for the innermost frame of
    the traceback that is the student's (not NumPy's, not the library's), and which library
    raised it when the error came from deeper down."""
    frames = traceback.extract_tb(err.__traceback__)[1:]  # [0] is run_cases calling func
    if not frames:
        return ""
    own_file = getattr(getattr(func, "__code__", None), "co_filename", None)
    students = [f for f in frames if f.filename == own_file or _is_students(f.filename)]
    frame = students[-1] if students else frames[-1]
    if not frame.line:
        return ""
    text = f"\nat line {frame.lineno} of {frame.name}: {frame.line.strip()}"
    if frame is not frames[-1]:
        inner = frames[-1].filename.replace(os.sep, "/")
        package = next((name for name in ("numpy", "scipy", "vaelite") if f"/{name}/" in inner),
                       None)
        text += f"\n(raised inside {package or 'a library'}, called from this line)"
    return text


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


HIDE_SOLUTIONS = "VAELITE_HIDE_SOLUTIONS"  # a teacher sets it to 1 to switch show_solution off


def show_solution(name):
    """The reference solution of exercise ``name``, hidden until the reader opens it.

    With the environment variable VAELITE_HIDE_SOLUTIONS set (to anything but "" or "0"), it
    prints that solutions are hidden in this class and returns None.
    """
    exercise = get(name)
    if os.environ.get(HIDE_SOLUTIONS, "") not in ("", "0"):
        print(f"Solutions are hidden in this class ({HIDE_SOLUTIONS} is set): "
              f"check({name!r}, your_function) still gives feedback.")
        return None
    return Solution(exercise)


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
