"""Store the outputs that nbval compares, and nothing else, in the chapter notebooks.

Notebooks are committed without outputs (the build recomputes every figure), except for the
cells whose first line is ``# NBVAL_CHECK_OUTPUT``: they print deterministic numbers, and
``pytest --nbval-lax`` compares what they print now with what is stored. Run this after
changing such a cell:

    .venv/bin/python tests/store_checked_outputs.py book/04_elbo.ipynb   # or no argument: all
"""
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "# NBVAL_CHECK_OUTPUT"
BOOK = Path(__file__).resolve().parent.parent / "book"


def is_checked(cell):
    return cell.cell_type == "code" and cell.source.lstrip().startswith(MARK)


def store(path):
    """Execute the notebook, keep the outputs of checked cells, clear all others."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if is_checked(cell):  # nbval needs the execution count of a cell with outputs
            cell.outputs = [o for o in cell.outputs if o.output_type == "stream"
                            and o.name == "stdout" or o.output_type == "execute_result"]
        else:
            cell.execution_count = None
            cell.outputs = []
    nb.metadata.pop("widgets", None)  # saved widget state (with PNGs): recomputed by the build
    nbformat.write(nb, path)
    return sum(is_checked(c) for c in nb.cells)


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted(BOOK.glob("*.ipynb"))
    for p in paths:
        print(f"{p}: {store(p)} checked cells stored")
