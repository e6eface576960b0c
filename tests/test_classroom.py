"""Tests of the classroom kit (vaelite/classroom): ``vaelite exercises list | workbook | grade``.

The grading tests hand one folder of submissions to the command line once (a module fixture):
the reference solutions pasted into a generated workbook, the workbook left empty, and
submissions that loop forever, do not parse, crash the process, print megabytes, raise, or
delete the files of their working folder. Each of those may cost only its own rows.
"""
import ast
import csv
import inspect
import json
import re
import textwrap

import nbformat
import pytest

from vaelite.__main__ import main
from vaelite.classroom import (chapter_id, function_name, grade_submission, make_workbook,
                               select, summarize)
from vaelite.classroom.workbook import book_statement, statement_markdown, stub_source
from vaelite.exercises import REGISTRY, load_all, show_solution

load_all()
ALL = sorted(REGISTRY.values(), key=chapter_id)  # book order
GRADED = ["00", "04"]  # two chapters whose reference solutions need nothing but NumPy
TIMEOUT = 8  # seconds per exercise: generous for a loaded machine, short for the test's loop


def run_cli(capsys, *argv):
    status = main(["exercises", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def reference_body_lines(exercise):
    """The lines of the reference's body after its docstring: what a student must not see."""
    source = textwrap.dedent(inspect.getsource(exercise.reference))
    function = ast.parse(source).body[0]
    body = function.body[1:] if ast.get_docstring(function) else function.body
    lines = source.splitlines()[body[0].lineno - 1:function.end_lineno]
    return [line.strip() for line in lines if len(line.strip()) >= 8]


def stub_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code" and "def " in c.source]


# ----------------------------------------------------------------------------- list, select

def test_list_shows_every_exercise_with_chapter_minutes_and_title(capsys):
    status, out, _ = run_cli(capsys, "list")
    assert status == 0
    for exercise in ALL:
        line = next(line for line in out.splitlines() if f" {exercise.name} " in line)
        assert line.split()[0] == chapter_id(exercise)
        assert line.split()[2] == str(exercise.minutes) and exercise.title in line
    assert f"{len(ALL)} exercises, {sum(ex.minutes for ex in ALL)} minutes" in out


def test_list_by_chapter(capsys):
    status, out, _ = run_cli(capsys, "list", "--chapter", "4")
    chapter = [ex.name for ex in ALL if chapter_id(ex) == "04"]
    assert status == 0 and chapter
    assert [line.split()[1] for line in out.splitlines()[1:-1]] == chapter


@pytest.mark.parametrize("argv, message", [
    (["list", "--chapter", "99"], r"--chapter 99: no exercises in that chapter; the chapters "
                                  r"with exercises are 00, "),
    (["workbook", "--exercise", "ch04.iwae_bund"], r"no exercise of that name; did you mean "
                                                   r"ch04.iwae_bound"),
    (["workbook", "--out", "x.ipynb"], r"no exercises selected: pass --chapter"),
    (["workbook", "--chapter", "4", "--out", "lab.txt"], r"--out lab.txt: .* ending in \.ipynb"),
    (["grade", "nothing-here.ipynb", "--chapter", "4"], r"nothing-here.ipynb: no such file"),
])
def test_bad_selection_is_one_line_and_status_2(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli(capsys, *argv)
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("vaelite exercises: error: ") and re.search(message, err), err


def test_select_normalizes_chapters_and_keeps_book_order():
    picked = select(["a1", "4"], ["ch00.mean"])
    assert [chapter_id(ex) for ex in picked] == sorted(chapter_id(ex) for ex in picked)
    assert {chapter_id(ex) for ex in picked} == {"00", "04", "A1"}
    assert select(require=False) == ALL


def test_book_order_does_not_depend_on_import_order(monkeypatch):
    """The registry fills in the order the chapters' modules are imported (a test may import
    chapter 4's before chapter 0's): selections still come in book order."""
    by_chapter = {}
    for name, ex in REGISTRY.items():
        by_chapter.setdefault(chapter_id(ex), []).append((name, ex))
    shuffled = dict(item for group in reversed(list(by_chapter.values())) for item in group)
    monkeypatch.setattr("vaelite.classroom.selection.load_all", lambda: shuffled)
    picked = select(["4", "0"])
    assert [ex.name for ex in picked] == [ex.name for ex in ALL if chapter_id(ex) in ("00", "04")]
    assert select(require=False) == ALL


# ----------------------------------------------------------------------------- workbook

@pytest.fixture(scope="module")
def full_workbook():
    """A workbook of every registered exercise (cheap: nothing runs)."""
    return make_workbook(ALL)


@pytest.mark.parametrize("exercise", ALL, ids=lambda ex: ex.name)
def test_workbook_holds_no_reference_source(full_workbook, exercise):
    text = "\n".join(cell.source for cell in full_workbook.cells)
    # what the book itself tells the student (the statement and the hint) may hold a line
    found = book_statement(exercise)
    public = exercise.hint + (found[2] if found else "")
    leaked = [line for line in reference_body_lines(exercise)
              if line in text and line not in public]
    assert not leaked, f"{exercise.name}: the workbook shows the reference's lines {leaked}"


def test_workbook_never_shows_or_imports_solutions(full_workbook):
    text = json.dumps(full_workbook)
    assert "show_solution" not in text and "vaelite.exercises.ch" not in text
    assert "outputs\": [{" not in text  # nothing executed, no output cells


@pytest.mark.parametrize("exercise", ALL, ids=lambda ex: ex.name)
def test_each_stub_has_the_references_signature_and_checks_it(exercise):
    tree = ast.parse(stub_source(exercise))
    function, call = tree.body
    assert function.name == function_name(exercise)
    assert ast.unparse(function.args) == str(inspect.signature(exercise.reference))[1:-1]
    assert isinstance(function.body[-1], ast.Raise)  # raise NotImplementedError
    assert exercise.title in ast.get_docstring(function)
    assert ast.unparse(call) == f"check({exercise.name!r}, {function.name})"


def test_workbook_cli_writes_a_valid_notebook(capsys, tmp_path):
    out = tmp_path / "lab.ipynb"
    status, text, _ = run_cli(capsys, "workbook", "--chapter", "4", "5", "--out", str(out),
                              "--book-url", "https://example.org/book")
    chosen = [ex for ex in ALL if chapter_id(ex) in ("04", "05")]
    assert status == 0 and f"wrote {out}: {len(chosen)} exercises" in text
    notebook = nbformat.read(out, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["vaelite"]["exercises"] == {ex.name: function_name(ex)
                                                          for ex in chosen}
    assert len(stub_cells(notebook)) == len(chosen)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    for exercise in chosen:
        assert exercise.title in markdown
    assert "https://example.org/book/04_elbo.html#" in markdown  # a link into the chapter
    assert "{cite" not in markdown and "{doc}" not in markdown  # MyST roles made plain


@pytest.mark.parametrize("exercise", ALL, ids=lambda ex: ex.name)
def test_the_statement_names_the_graded_function(exercise):
    """A chapter may call the function differently in its check cell than the registry's
    reference: the workbook's statement names the function that is graded."""
    found = book_statement(exercise)
    if found is None:
        pytest.skip(f"no statement of {exercise.name} found in the book")
    statement = statement_markdown(1, exercise)
    first_words = found[2].split("\n")[0][:30].replace(found[3], function_name(exercise))
    assert first_words in statement  # the chapter's own text
    if found[3] != function_name(exercise):
        assert not re.search(rf"\b{found[3]}\b", statement)
        assert re.search(rf"\b{function_name(exercise)}\b", statement)


def test_workbook_without_the_book_states_the_docstring_contract():
    exercise = select(["4"])[0]
    notebook = make_workbook([exercise], book=None)
    first_paragraph = inspect.getdoc(exercise.reference).split("\n\n")[0]
    assert first_paragraph in notebook.cells[2].source


def test_show_solution_can_be_switched_off(monkeypatch, capsys):
    assert "def mean" in repr(show_solution("ch00.mean"))
    monkeypatch.setenv("VAELITE_HIDE_SOLUTIONS", "1")
    assert show_solution("ch00.mean") is None
    assert "hidden in this class" in capsys.readouterr().out


# ----------------------------------------------------------------------------- grading

def _solved(notebook):
    """The workbook with each stub cell replaced by the reference's source."""
    solved = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell, name in zip(stub_cells(solved), notebook.metadata["vaelite"]["exercises"]):
        source = textwrap.dedent(inspect.getsource(REGISTRY[name].reference))
        cell.source = f"{source}\n\ncheck({name!r}, {function_name(REGISTRY[name])})\n"
    return solved


def _edited(notebook, index, old, new):
    """The workbook with ``old`` replaced by ``new`` in its stub cell number ``index``."""
    changed = nbformat.from_dict(json.loads(json.dumps(notebook)))
    cell = stub_cells(changed)[index]
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    return changed


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade a folder of submissions with the CLI; return (rows by student, stdout, folder,
    the exercises, the files in the folder before grading)."""
    folder = tmp_path_factory.mktemp("submissions")
    exercises = select(GRADED)
    workbook = make_workbook(exercises)
    first, second = (function_name(ex) for ex in exercises[:2])
    notebooks = {
        "solved": _solved(workbook),
        "empty": workbook,
        "looping": _edited(workbook, 0, "raise NotImplementedError", "while True: pass"),
        "unparsable": _edited(workbook, 1, "raise NotImplementedError", "return (1 +"),
        # prints 5 MB, then raises: the output is capped and the row says which exception
        "noisy": _edited(workbook, 0, "raise NotImplementedError",
                         "print('x' * 5_000_000)\n    raise ValueError('no')"),
    }
    for student, notebook in notebooks.items():
        nbformat.write(notebook, folder / f"{student}.ipynb")
    solution = textwrap.dedent(inspect.getsource(exercises[1].reference))
    (folder / "deleter.py").write_text(
        "import os\nimport numpy as np\n"
        "for name in os.listdir('.'):\n"
        "    os.remove(name)\n"
        f"{solution}\n")
    (folder / "crasher.py").write_text(
        f"import os\nimport numpy as np\n\ndef {first}(*args):\n    os._exit(1)\n\n{solution}\n")
    before = sorted(p.name for p in folder.iterdir())
    from contextlib import redirect_stdout
    from io import StringIO
    buffer = StringIO()
    with redirect_stdout(buffer):  # the children's output goes to their own files
        status = main(["exercises", "grade", str(folder), "--timeout", str(TIMEOUT),
                       "--out", str(folder / "grades.csv")])
    assert status == 0
    with open(folder / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    by_student = {}
    for row in rows:
        by_student.setdefault(row["student"], {})[row["exercise"]] = row
    return by_student, buffer.getvalue(), folder, exercises, before


def test_one_row_per_student_and_exercise(graded):
    by_student, _, _, exercises, _ = graded
    assert sorted(by_student) == ["crasher", "deleter", "empty", "looping", "noisy", "solved",
                                  "unparsable"]
    for rows in by_student.values():
        assert list(rows) == [ex.name for ex in exercises]  # from the workbooks' metadata


def test_reference_solutions_grade_100_percent(graded):
    by_student, _, _, exercises, _ = graded
    for exercise in exercises:
        row = by_student["solved"][exercise.name]
        assert row["passed"] == "1" and row["failure"] == "" and row["cases"]
        assert row["cases_passed"] == row["cases"] == str(len(exercise.all_cases()))


def test_empty_workbook_grades_0_percent_as_not_implemented(graded):
    for row in graded[0]["empty"].values():
        assert (row["passed"], row["failure"], row["first_failing_case"], row["cases_passed"]) \
            == ("0", "not implemented", "1", "0")
        assert "NotImplementedError" in row["detail"]


def test_an_infinite_loop_costs_only_its_own_row(graded):
    rows = list(graded[0]["looping"].values())
    assert rows[0]["failure"] == "timeout" and f"after {TIMEOUT} s" in rows[0]["detail"]
    assert all(row["failure"] == "not implemented" for row in rows[1:])


def test_a_syntax_error_costs_only_its_own_row(graded):
    rows = list(graded[0]["unparsable"].values())
    assert rows[1]["failure"] == "syntax error" and "code cell" in rows[1]["detail"]
    assert all(row["failure"] == "not implemented" for i, row in enumerate(rows) if i != 1)


def test_a_noisy_raising_function_is_reported_by_its_exception(graded):
    rows = list(graded[0]["noisy"].values())
    assert rows[0]["failure"] == "raised ValueError" and "no" in rows[0]["detail"]
    assert all(row["failure"] == "not implemented" for row in rows[1:])


def test_a_crash_costs_only_its_own_row_and_deleting_files_harms_nothing(graded):
    by_student, _, folder, exercises, before = graded
    crash = list(by_student["crasher"].values())
    assert crash[0]["failure"] == "crash" and "exit status 1" in crash[0]["detail"]
    assert crash[1]["passed"] == "1"
    assert all(row["failure"] == "missing function" for row in crash[2:])
    deleter = list(by_student["deleter"].values())
    assert deleter[1]["passed"] == "1"  # it ran in a temporary folder of its own
    assert sorted(p.name for p in folder.iterdir()) == sorted(before + ["grades.csv"])


def test_summary_per_exercise(graded):
    by_student, out, _, exercises, _ = graded
    lines = out.splitlines()
    for exercise in exercises:
        line = next(line for line in lines if line.startswith(exercise.name + " "))
        passed = sum(rows[exercise.name]["passed"] == "1" for rows in by_student.values())
        assert f" {passed}/{len(by_student)} " in line
    assert f"solved: {len(exercises)}/{len(exercises)} passed" in out
    assert "x" * 1000 not in out  # the noisy submission's printing stayed in its child


def test_summarize_names_the_most_common_failure():
    rows = [{"exercise": "a", "passed": 0, "failure": "timeout"},
            {"exercise": "a", "passed": 0, "failure": "wrong value"},
            {"exercise": "a", "passed": 0, "failure": "wrong value"},
            {"exercise": "a", "passed": 1, "failure": ""}]
    assert summarize(rows).splitlines()[1].split() == ["a", "1/4", "wrong", "value", "(2)"]


def test_a_submission_cannot_change_the_exercise_it_is_graded_on(tmp_path):
    """A submission that registers its own version of the exercise is still graded on the
    book's cases."""
    exercise = select(["00"])[0]
    name = function_name(exercise)
    path = tmp_path / "cheat.py"
    path.write_text(
        "from vaelite.exercises import Exercise, register\n"
        f"def {name}(*args):\n    return 42.0\n"
        f"register(Exercise(name={exercise.name!r}, title='x', reference={name}, "
        "cases=[((1.0,), 42.0)]))\n")
    [row] = grade_submission(path, [exercise], timeout=TIMEOUT)
    assert row["passed"] == 0 and row["failure"] == "wrong value"


def test_unreadable_notebook_is_a_row_not_an_error(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{ this is not json")
    [row] = grade_submission(path, select(["00"])[:1], timeout=TIMEOUT)
    assert row["failure"] == "unreadable" and row["passed"] == 0
