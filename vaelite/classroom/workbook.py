"""A student workbook: for each exercise its statement, a stub function and a cell that checks it.

The statement is the chapter's own ``{exercise}`` block (found in book/NN_*.ipynb as the markdown
cell before the cell that calls ``check("name", ...)``), turned into plain Markdown that
JupyterLab and VS Code render; without the book it is the title and the first paragraph of the
reference's docstring. The stub has the reference's name and signature and raises
NotImplementedError. Nothing of the reference's body, and no ``show_solution``, is written.
"""
import inspect
import json
import re
import textwrap
from pathlib import Path

import nbformat

from .selection import chapter_id, function_name

BOOK = Path(__file__).resolve().parents[2] / "book"  # the chapters, in a checkout of vaelite

_CHECK_CALL = re.compile(r"""check\(\s*["']([^"']+)["']\s*,\s*(\w+)""")
_ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
_FENCE = re.compile(r"^(`{3,}|~{3,})\{exercise\}\s*(.*)$")


def chapter_notebook(exercise, book=BOOK):
    """The path of the book's chapter notebook of an exercise, or None."""
    if book is None or not Path(book).is_dir():
        return None
    found = sorted(Path(book).glob(f"{chapter_id(exercise)}_*.ipynb"))
    return found[0] if found else None


def book_statement(exercise, book=BOOK):
    """(title, label, Markdown body, the function name the chapter uses) of the exercise's
    ``{exercise}`` block in its chapter, or None when the book or the block is not there."""
    path = chapter_notebook(exercise, book)
    if path is None:
        return None
    cells = nbformat.read(path, as_version=4).cells
    for i, cell in enumerate(cells):
        match = _CHECK_CALL.search(cell.source) if cell.cell_type == "code" else None
        if match and match.group(1) == exercise.name and i and \
                cells[i - 1].cell_type == "markdown":
            block = _exercise_block(cells[i - 1].source)
            if block:
                return (*block, match.group(2))
    return None


def _exercise_block(markdown):
    """(title, label, body) of the first ```{exercise} block of a MyST markdown text, or None."""
    lines = markdown.splitlines()
    for start, line in enumerate(lines):
        opening = _FENCE.match(line.strip())
        if not opening:
            continue
        fence, title = opening.groups()
        label, body = "", []
        for inner in lines[start + 1:]:
            if inner.strip() == fence:
                return title.strip(), label, "\n".join(body).strip()
            option = re.match(r"^:(\w+):\s*(.*)$", inner)
            if option and not body:
                label = option.group(2) if option.group(1) == "label" else label
                continue
            body.append(inner)
    return None


def _plain_markdown(text, book_url):
    """MyST roles -> Markdown a notebook renders: {doc} -> a link (or the page name),
    {cite:p} -> (key), other roles -> their text."""
    def role(match):
        kind, content = match.groups()
        if kind == "doc":
            target = re.sub(r"^.*<(.*)>$", r"\1", content)
            shown = re.sub(r"\s*<.*>$", "", content)
            return f"[{shown}]({book_url}/{target}.html)" if book_url else f"*{shown}*"
        if kind.startswith("cite"):
            keys = content.replace(",", ", ")
            return f"({keys})" if kind.endswith(":p") else keys
        return f"`{content}`" if kind in ("eq", "ref", "numref") else content
    return _ROLE.sub(role, text)


def stub_source(exercise):
    """The stub cell: the reference's name and signature, a docstring with the statement's
    contract (the title and the first paragraph of the reference's docstring: what goes in and
    what comes out), NotImplementedError, then the call to check. The hint is not in it: it is
    folded away under the statement, and check prints it after a wrong answer."""
    name = function_name(exercise)
    signature = str(inspect.signature(exercise.reference))
    summary = (inspect.getdoc(exercise.reference) or "").split("\n\n", 1)[0].strip()
    doc = [exercise.title + "."]
    if summary:
        doc += ["", summary]
    body = "\n".join(doc).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    source = (f"def {name}{signature}:\n" + textwrap.indent(f'"""{body}\n"""', "    ") + "\n"
              "    raise NotImplementedError  # your code here\n\n\n"
              f"check({json.dumps(exercise.name)}, {name})\n")
    compile(source, f"<stub of {exercise.name}>", "exec")  # a signature that is not valid
    return source                                           # Python fails here, not in class


def statement_markdown(number, exercise, book=BOOK, book_url=None):
    """The Markdown cell above an exercise's stub: the statement, then the hint folded away."""
    hint = (f"\n\n<details><summary>Hint</summary>\n\n{exercise.hint}\n\n</details>"
            if exercise.hint else "")
    return _statement(number, exercise, book, book_url) + hint


def _statement(number, exercise, book, book_url):
    name = function_name(exercise)
    found = book_statement(exercise, book)
    head = f"## {number}. {exercise.title}\n\n`{exercise.name}`, about {exercise.minutes} minutes."
    if found is None:
        summary = (inspect.getdoc(exercise.reference) or "").split("\n\n", 1)[0].strip()
        return f"{head}\n\nWrite `{name}{inspect.signature(exercise.reference)}`: {summary}"
    _, label, body, book_name = found
    body = _plain_markdown(body, book_url)
    if book_name != name:  # the chapter names the function differently: use the graded name
        body = re.sub(rf"\b{re.escape(book_name)}\b", name, body)
    stem = chapter_notebook(exercise, book).stem
    where = (f"[{stem}]({book_url}/{stem}.html#{label})" if book_url else f"`book/{stem}.ipynb`")
    return (f"{head} From the chapter {where}; where the statement mentions the chapter's "
            f"cells or variables, they are in that chapter.\n\n{body}")


INTRO = """# Exercises: {what}

For each exercise: read the statement, write the function in the cell below it (keep its name),
and run the cell. `check` runs your function on the exercise's test cases and tells you the first
one that fails: its inputs, what was expected and what your function returned.

Hand in this notebook as it is (the teacher's grader finds your functions by their names and runs
the same checks). Run every cell from the top once before you hand it in
(*Kernel > Restart Kernel and Run All Cells*).
"""


def make_workbook(exercises, book=BOOK, book_url=None):
    """A notebook (nbformat v4) for a list of Exercise; its metadata ``vaelite`` lists the
    exercises and the function each one grades."""
    if not exercises:
        raise ValueError("exercises: the workbook needs at least one exercise")
    book_url = book_url.rstrip("/") if book_url else None
    ids = sorted({chapter_id(ex) for ex in exercises})
    what = (f"chapter{'s' if len(ids) > 1 else ''} {', '.join(ids)}")
    cells = [nbformat.v4.new_markdown_cell(INTRO.format(what=what)),
             nbformat.v4.new_code_cell("import numpy as np\n\n"
                                       "from vaelite.exercises import check")]
    for number, exercise in enumerate(exercises, start=1):
        cells.append(nbformat.v4.new_markdown_cell(
            statement_markdown(number, exercise, book, book_url)))
        cells.append(nbformat.v4.new_code_cell(stub_source(exercise)))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                       "name": "python3"}
    notebook.metadata["vaelite"] = {"exercises": {ex.name: function_name(ex)
                                                  for ex in exercises}}
    nbformat.validate(notebook)
    return notebook


def write_workbook(exercises, path, book=BOOK, book_url=None):
    """Write the workbook of ``exercises`` to ``path`` (.ipynb); return the path."""
    path = Path(path)
    if path.suffix != ".ipynb":
        raise ValueError(f"--out {path}: a workbook is a notebook; give a name ending in .ipynb")
    notebook = make_workbook(exercises, book, book_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return path
