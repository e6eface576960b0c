"""The chapter notebooks as committed: no outputs except those nbval compares."""
import json

import pytest

from store_checked_outputs import BOOK, MARK

NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


def code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_the_book_has_chapters():
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_only_checked_cells_carry_outputs(path):
    for cell in code_cells(path):
        checked = "".join(cell["source"]).lstrip().startswith(MARK)
        if checked:
            assert cell["outputs"], (f"{path.name}: a {MARK} cell has no stored output, so nbval "
                                     "compares nothing; run tests/store_checked_outputs.py")
        else:
            assert not cell["outputs"], f"{path.name}: commit notebooks without outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_saved_widget_state(path):
    """Widget state (with PNG frames) is recomputed by the build, never committed."""
    assert "widgets" not in json.loads(path.read_text())["metadata"], (
        f"{path.name}: saved widget state in the metadata; run tests/store_checked_outputs.py")
