"""The classroom kit: student workbooks without solutions, and batch grading with the book's
own checkers (``python -m vaelite exercises list | workbook | grade``).

    selection.py  which exercises: by chapter or by name, from the registry (vaelite.exercises)
    workbook.py   a notebook of statements, stub functions and check cells; no solutions
    grading.py    each submission in its own subprocess and temporary folder -> rows, CSV, summary
    _child.py     what runs in that subprocess: load the submission, run_cases on each exercise
    cli.py        the ``exercises`` command of ``python -m vaelite``

Nothing here knows a chapter by name: every exercise comes from the registry.
"""
from .grading import FIELDS, grade, grade_submission, summarize, write_csv
from .selection import chapter_id, chapters, function_name, select
from .workbook import make_workbook, write_workbook

__all__ = ["select", "chapters", "chapter_id", "function_name", "make_workbook",
           "write_workbook", "grade", "grade_submission", "summarize", "write_csv", "FIELDS"]
