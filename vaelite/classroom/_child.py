"""Runs in the grading subprocess: ``python -m vaelite.classroom._child SPEC`` (SPEC is JSON).

SPEC: {"submission": path of a .ipynb or .py, "exercises": {exercise name: function name},
"result_fd": the write end of a pipe, "output_limit": bytes of the student's output kept}.

Loads the submission into one namespace (a notebook: every code cell in order, a cell that
raises or does not parse is skipped and remembered; a .py: the whole file), then runs each
exercise through ``vaelite.exercises.run_cases`` (the checker of the book) and writes one JSON
line per event to ``result_fd``: {"event": "loading"}, {"event": "start", "exercise": name},
{"event": "result", ...}. The parent (grading.py) keeps the time and kills this process when
it runs out; this process is not a sandbox.
"""
import copy
import io
import json
import linecache
import os
import re
import socket
import sys

FILE_SIZE_LIMIT = 64 * 2**20  # bytes a file written by the submission may reach (a backstop)


class _CappedOutput(io.TextIOBase):
    """A text stream that writes at most ``limit`` characters to ``stream``, drops the rest."""

    def __init__(self, stream, limit):
        self.stream, self.left = stream, limit

    def write(self, text):
        if self.left > 0:
            kept = text[:self.left]
            self.stream.write(kept)
            self.left -= len(kept)
            if self.left <= 0:
                self.stream.write("\n[output truncated by the grader]\n")
            self.stream.flush()
        return len(text)

    def flush(self):
        self.stream.flush()


def _no_network(*args, **kwargs):
    raise OSError("network access is disabled while grading")


def _limit_the_process(output_limit):
    """Network calls fail, output is capped, no core files, files stay below FILE_SIZE_LIMIT."""
    socket.socket.connect = socket.socket.connect_ex = _no_network
    socket.create_connection = socket.getaddrinfo = _no_network
    sys.stdout = _CappedOutput(sys.stdout, output_limit)
    sys.stderr = _CappedOutput(sys.stderr, output_limit)
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    except (ImportError, ValueError, OSError):  # not on this system: the other limits stay
        pass


def _code_cells(path):
    """[(label, source)] of a submission: the code cells of a notebook, or a .py file whole."""
    text = open(path, encoding="utf-8").read()
    if not path.endswith(".ipynb"):
        return [(os.path.basename(path), text)]
    cells = json.loads(text)["cells"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in cells if c.get("cell_type") == "code"]
    try:  # %magics and !shell lines -> get_ipython() calls, which do nothing here
        from IPython.core.inputtransformer2 import TransformerManager
        transform = TransformerManager().transform_cell
    except ImportError:
        def transform(source):
            return "\n".join("" if line.lstrip()[:1] in ("%", "!") else line
                             for line in source.splitlines())
    return [(f"code cell {i}", transform(source)) for i, source in enumerate(sources, start=1)]


class _NoShell:
    """What get_ipython() returns while grading: every magic and shell command does nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _quiet_check(name, func, verbose=True):
    """The submission's own calls to check() are skipped: the grader checks every function."""
    return None


def load(path):
    """(namespace, problems) of a submission; problems maps each cell that failed to what went
    wrong, with the names of the functions it defines (for 'syntax error' rows)."""
    import vaelite.exercises
    vaelite.exercises.check = _quiet_check
    namespace = {"__name__": "__submission__", "get_ipython": _NoShell}
    try:
        from IPython.display import display
        namespace["display"] = display
    except ImportError:
        pass
    problems = []
    for label, source in _code_cells(path):
        filename = f"<{label}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        defines = re.findall(r"^\s*def\s+(\w+)", source, flags=re.M)
        try:
            code = compile(source, filename, "exec")
        except SyntaxError as err:
            problems.append({"kind": "syntax error", "defines": defines,
                             "detail": f"{label}, line {err.lineno}: {err.msg}"})
            continue
        except ValueError as err:  # e.g. a null byte in the source
            problems.append({"kind": "syntax error", "defines": defines,
                             "detail": f"{label}: {err}"})
            continue
        try:
            exec(code, namespace)
        except BaseException as err:  # noqa: B036 - SystemExit too: the next cell still runs
            problems.append({"kind": f"raised {type(err).__name__}", "defines": defines,
                             "detail": f"{label}: {type(err).__name__}: {err}"[:300]})
    return namespace, problems


def grade(exercise, function, namespace, problems):
    """The result row (a dict) of one exercise."""
    from vaelite.exercises import run_cases

    row = {"event": "result", "exercise": exercise.name}
    func = namespace.get(function)
    if not callable(func):
        failed_here = [p for p in problems if function in p["defines"]]
        cause = failed_here[0] if failed_here else None
        kind = "syntax error" if cause and cause["kind"] == "syntax error" else \
            "missing function"
        if cause:
            detail = cause["detail"]
        else:
            detail = f"no function called {function}" + (
                f" (the submission had errors: {problems[0]['detail']})" if problems else "")
        return {**row, "passed": False, "failure": kind, "detail": detail[:300]}
    try:
        result = run_cases(exercise, func)
    except BaseException as err:  # noqa: B036 - e.g. sys.exit() inside the student's function
        return {**row, "passed": False, "failure": "crash",
                "detail": f"{type(err).__name__}: {err}"[:300]}
    row.update(passed=result.passed, cases=result.n_cases,
               cases_passed=result.n_cases - len(result.failures))
    if result.failures:
        first = result.failures[0]
        kind = f"raised {first.exception}" if first.exception else first.kind
        row.update(first_failing_case=first.case, failure=kind,
                   detail=" ".join(first.message.split())[:300])
    return row


def main(spec):
    spec = json.loads(spec)
    out = os.fdopen(spec["result_fd"], "w", buffering=1)

    def send(**message):
        out.write(json.dumps(message) + "\n")
        out.flush()

    from vaelite.exercises import get

    # copies taken before the submission runs: a submission that registers or changes an
    # exercise changes nothing that is graded
    exercises = {name: copy.deepcopy(get(name)) for name in spec["exercises"]}
    _limit_the_process(spec["output_limit"])
    send(event="loading")
    try:
        namespace, problems = load(spec["submission"])
    except (OSError, ValueError, KeyError, TypeError) as err:  # not a readable notebook
        for name in spec["exercises"]:
            send(event="result", exercise=name, passed=False, failure="unreadable",
                 detail=f"{type(err).__name__}: {err}"[:300])
        return
    for name, function in spec["exercises"].items():
        send(event="start", exercise=name)
        send(**grade(exercises[name], function, namespace, problems))


if __name__ == "__main__":
    main(sys.argv[1])
    sys.stdout.flush()
    os._exit(0)  # no atexit handler or thread of the submission can keep the process alive
