"""Grade submissions: each one in its own subprocess, temporary folder and time limit.

``grade_submission(path, exercises)`` runs ``_child.py`` with ``sys.executable`` in a fresh
temporary folder that holds a copy of the submission, and reads one JSON line per event from a
pipe. The time limit counts separately for loading the submission and for each exercise; when
it runs out, or the process dies, the process group is killed, that exercise's row says
"timeout" or "crash", and a new process grades the exercises that are left. So a submission
that loops, crashes, raises, prints megabytes, does not parse or deletes its files costs only
its own rows. The subprocess runs without proxy settings and with the socket calls disabled,
but it is NOT a security sandbox: it runs the student's code with the teacher's rights.
"""
import collections
import csv
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .selection import function_name

FIELDS = ["student", "exercise", "passed", "cases_passed", "cases", "first_failing_case",
          "failure", "detail"]
PROXY_VARIABLES = ("http_proxy", "https_proxy", "ftp_proxy", "all_proxy", "no_proxy")
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds vaelite/


def _environment():
    """The child's environment: no proxies, solutions hidden, figures without a display."""
    env = {key: value for key, value in os.environ.items()
           if key.lower() not in PROXY_VARIABLES}
    env.update(VAELITE_HIDE_SOLUTIONS="1", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [PACKAGE_ROOT,
                                                        env.get("PYTHONPATH")])))
    return env


def _kill(process):
    """Kill the child and everything it started (its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _tail(path, chars=200):
    """The last characters of the child's output, on one line."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - chars))
            return " ".join(f.read().decode("utf-8", "replace").split())
    except OSError:
        return ""


def _run_once(submission, exercises, timeout, output_limit, folder):
    """One child on ``exercises`` ({name: function}); yields its events (dicts), then a last
    event {"event": "timeout"|"exit", ...} when it stops before the end."""
    work = Path(tempfile.mkdtemp(prefix="work-", dir=folder))
    copy = work / ("submission" + Path(submission).suffix)
    shutil.copyfile(submission, copy)
    read_end, write_end = os.pipe()
    spec = json.dumps({"submission": str(copy), "exercises": exercises,
                       "result_fd": write_end, "output_limit": output_limit})
    log = Path(folder) / "output.txt"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "vaelite.classroom._child", spec], cwd=work,
            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            env=_environment(), pass_fds=(write_end,), start_new_session=True)
    os.close(write_end)
    buffer, deadline = b"", time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            ready = select.select([read_end], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                yield {"event": "timeout"}
                return
            chunk = os.read(read_end, 65536)
            if not chunk:  # the child closed the pipe: it has finished or died
                process.wait()
                yield {"event": "exit", "status": process.returncode, "output": _tail(log)}
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:  # the submission shares the process: a garbled line is skipped
                    event = json.loads(line)
                    event["event"]
                except (ValueError, KeyError, TypeError):
                    continue
                if event["event"] in ("start", "loading"):
                    deadline = time.monotonic() + timeout  # each exercise has its own limit
                yield event
    finally:
        os.close(read_end)
        _kill(process)


def _row(student, exercise, passed=False, failure="", detail="", **counts):
    """A CSV row (the keys FIELDS); counts: cases, cases_passed, first_failing_case."""
    row = dict.fromkeys(FIELDS, "")
    row.update({key: value for key, value in counts.items() if key in FIELDS})
    row.update(student=student, exercise=exercise, passed=int(bool(passed)), failure=failure,
               detail=" ".join(str(detail).split()))
    return row


def _died(status, output):
    how = f"killed by signal {-status}" if status and status < 0 else f"exit status {status}"
    return f"the process ended ({how}) before the result" + (f"; output: ...{output}"
                                                               if output else "")


def grade_submission(path, exercises, student=None, timeout=30.0, output_limit=100_000):
    """Grade one submission (.ipynb or .py) on a list of Exercise; return its rows (dicts with
    the keys FIELDS), one per exercise, in the order of ``exercises``.

    timeout: seconds for loading the submission, and again for each exercise.
    output_limit: characters of the submission's printing that are kept (the rest is dropped).
    """
    path = Path(path)
    if path.suffix not in (".ipynb", ".py"):
        raise ValueError(f"submission {path}: expected a .ipynb or .py file")
    if not path.is_file():
        raise FileNotFoundError(f"submission {path}: no such file")
    student = student or path.stem
    left = {ex.name: function_name(ex) for ex in exercises}
    rows = {}
    with tempfile.TemporaryDirectory(prefix="vaelite-grade-") as folder:
        while left:
            current = None  # None while the submission loads
            for event in _run_once(path, dict(left), timeout, output_limit, folder):
                kind = event["event"]
                if kind == "start":
                    current = event["exercise"]
                elif kind == "result":
                    name = event["exercise"]
                    fields = {k: v for k, v in event.items() if k not in ("event", "exercise")}
                    rows[name] = _row(student, name, **fields)
                    left.pop(name)
                    current = None
                    if not left:  # done: stop waiting (the child is killed on the way out)
                        break
                elif kind in ("timeout", "exit"):
                    if kind == "timeout":
                        failure = "timeout"
                        detail = (f"still running after {timeout:g} s"
                                  + ("" if current else " while loading the submission"))
                    else:
                        failure, detail = "crash", _died(event["status"], event["output"])
                        detail += "" if current else " (while loading the submission)"
                    stopped = [current] if current else list(left)
                    for name in stopped:
                        if name in left:  # a child that exits after its last result is fine
                            rows[name] = _row(student, name, failure=failure,
                                              detail=detail[:300])
                            left.pop(name)
    return [rows[ex.name] for ex in exercises]


def student_names(paths):
    """A name per submission: its file name without the suffix, or, where two files share
    that name (alice/lab.ipynb, bob/lab.ipynb), its path without the suffix."""
    stems = collections.Counter(Path(p).stem for p in paths)
    return [Path(p).stem if stems[Path(p).stem] == 1 else str(Path(p).with_suffix(""))
            for p in paths]


def submissions(paths):
    """The .ipynb and .py files named by ``paths`` (folders: the files inside, recursively,
    without .ipynb_checkpoints)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".ipynb", ".py")
                            and ".ipynb_checkpoints" not in p.parts)
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"submission {path}: no such file or folder")
    if not found:
        raise ValueError(f"no .ipynb or .py submissions in {', '.join(map(str, paths))}")
    return found


def grade(paths, exercises, timeout=30.0, output_limit=100_000, progress=None):
    """Rows for every submission in ``paths`` (files or folders) and every exercise.

    progress: optional function(student, rows) called after each submission.
    """
    files = submissions(paths)
    rows = []
    for path, student in zip(files, student_names(files)):
        done = grade_submission(path, exercises, student, timeout, output_limit)
        rows += done
        if progress:
            progress(student, done)
    return rows


def write_csv(rows, path):
    """Write the rows (one per student and exercise) as CSV with the columns FIELDS."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def summarize(rows):
    """One line per exercise: how many passed, and the most common failure with its count."""
    by_exercise = {}
    for row in rows:
        by_exercise.setdefault(row["exercise"], []).append(row)
    width = max(len(name) for name in by_exercise)
    lines = [f"{'exercise':{width}}  passed  most common failure"]
    for name, group in by_exercise.items():
        passed = sum(row["passed"] for row in group)
        failures = collections.Counter(row["failure"] for row in group if not row["passed"])
        common = (f"{failures.most_common(1)[0][0]} ({failures.most_common(1)[0][1]})"
                  if failures else "-")
        lines.append(f"{name:{width}}  {f'{passed}/{len(group)}':>6}  {common}")
    return "\n".join(lines)
