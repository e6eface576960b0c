"""The ``exercises`` command of ``python -m vaelite``: list, workbook, grade."""
import os
import time

from .selection import chapter_id, select

EXAMPLES = """examples:
  vaelite exercises list --chapter 4
  vaelite exercises workbook --chapter 4 5 --out lab.ipynb
  vaelite exercises workbook --exercise ch04.iwae_bound ch10.log_mean_exp --out lab.ipynb
  vaelite exercises grade submissions/ --chapter 4 5 --out grades.csv
  VAELITE_HIDE_SOLUTIONS=1 jupyter lab   (show_solution says solutions are hidden)
"""


def _add_selection(parser):
    parser.add_argument("--chapter", nargs="+", default=None, metavar="N",
                        help="the exercises of these chapters (4, 04, A1)")
    parser.add_argument("--exercise", nargs="+", default=None, metavar="NAME",
                        help="these exercises (ch04.iwae_bound ...)")


def add_command(commands, formatter):
    """Add ``exercises list|workbook|grade`` to the subparsers ``commands``."""
    exercises = commands.add_parser(
        "exercises", formatter_class=formatter, epilog=EXAMPLES,
        help="list the exercises, write a student workbook, grade submissions",
        description="The classroom kit: list the book's exercises, write a workbook of them for\n"
                    "students (statements, stubs, checks; no solutions), and grade the handed-in\n"
                    "workbooks with the book's own checkers into a CSV table.")
    actions = exercises.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", formatter_class=formatter, epilog=EXAMPLES,
                                 help="every exercise: chapter, name, minutes, title")
    listing.add_argument("--chapter", nargs="+", default=None, metavar="N",
                         help="only these chapters")
    listing.set_defaults(run=cmd_list)

    workbook = actions.add_parser(
        "workbook", formatter_class=formatter, epilog=EXAMPLES,
        help="write a notebook of exercises for students, without solutions",
        description="Write a notebook with, for each exercise, its statement from the book, a\n"
                    "stub function to fill in and a cell that runs check(). It holds no\n"
                    "reference solution.")
    _add_selection(workbook)
    workbook.add_argument("--out", default="workbook.ipynb", metavar="PATH",
                          help="the notebook to write (.ipynb)")
    workbook.add_argument("--book-url", default=None, metavar="URL",
                          help="where students read the built book (e.g. https://.../book or "
                               "file:///.../_build/html/book): chapter references become links")
    workbook.set_defaults(run=cmd_workbook)

    grade = actions.add_parser(
        "grade", formatter_class=formatter, epilog=EXAMPLES,
        help="grade submitted workbooks (.ipynb) or .py files into a CSV table",
        description="Run each submission in its own subprocess and temporary folder, with a time\n"
                    "limit, and check every exercise with the book's checker. Writes one CSV row\n"
                    "per student and exercise and prints a summary per exercise. Without\n"
                    "--chapter/--exercise, the exercises listed in the submitted workbooks are\n"
                    "graded. The subprocess is NOT a security sandbox: it runs the students'\n"
                    "code with your rights.")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                       help=".ipynb or .py files, or folders of them")
    _add_selection(grade)
    grade.add_argument("--out", default="grades.csv", metavar="PATH", help="the CSV to write")
    grade.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                       help="time limit for loading a submission, and for each exercise")
    grade.add_argument("--output-limit", type=int, default=100_000, metavar="CHARS",
                       help="printed characters kept per submission run")
    grade.set_defaults(run=cmd_grade)


def cmd_list(args):
    chosen = select(args.chapter or (), require=False)
    width = max(len(ex.name) for ex in chosen)
    print(f"{'chapter':7}  {'exercise':{width}}  minutes  title")
    for ex in chosen:
        print(f"{chapter_id(ex):7}  {ex.name:{width}}  {ex.minutes:7d}  {ex.title}")
    print(f"{len(chosen)} exercises, {sum(ex.minutes for ex in chosen)} minutes in all")
    return 0


def cmd_workbook(args):
    from .workbook import write_workbook
    chosen = select(args.chapter or (), args.exercise or ())
    path = write_workbook(chosen, args.out, book_url=args.book_url)
    print(f"wrote {path}: {len(chosen)} exercises "
          f"({sum(ex.minutes for ex in chosen)} minutes): {', '.join(ex.name for ex in chosen)}")
    return 0


def _listed_in_workbooks(files):
    """The exercise names in the metadata of the submitted workbooks, in order."""
    import nbformat
    names = {}
    for path in files:
        if path.suffix == ".ipynb":
            try:
                names.update(nbformat.read(path, as_version=4).metadata
                             .get("vaelite", {}).get("exercises", {}))
            except Exception:  # an unreadable notebook is graded (as unreadable) later
                continue
    return list(names)


def cmd_grade(args):
    from .grading import grade, submissions, summarize, write_csv
    if args.timeout <= 0:
        raise ValueError(f"--timeout {args.timeout:g}: expected a positive number of seconds")
    if args.output_limit < 0:
        raise ValueError(f"--output-limit {args.output_limit}: expected a count >= 0")
    files = submissions(args.submissions)
    names = args.exercise or ()
    if not args.chapter and not names:
        names = _listed_in_workbooks(files)
        if not names:
            raise ValueError("the submissions list no exercises (no workbook metadata): pass "
                             "--chapter N [N ...] or --exercise NAME [NAME ...]")
    chosen = select(args.chapter or (), names)
    start = time.perf_counter()

    def progress(student, rows):
        print(f"{student}: {sum(r['passed'] for r in rows)}/{len(rows)} passed", flush=True)

    rows = grade(files, chosen, args.timeout, args.output_limit, progress)
    write_csv(rows, args.out)
    print(summarize(rows))
    print(f"graded {len(files)} submissions x {len(chosen)} exercises in "
          f"{time.perf_counter() - start:.0f} s; wrote {os.fspath(args.out)}")
    return 0
