"""Notebooks are valid nbformat 4 JSON with no stored outputs, and every code cell compiles
(they are not executed here: they run the demo pipeline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_is_a_notebook() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_structure_and_code_compiles(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4 and isinstance(nb["nbformat_minor"], int)
    assert isinstance(nb["metadata"], dict) and nb["cells"]
    for i, cell in enumerate(nb["cells"]):
        assert cell["cell_type"] in {"code", "markdown", "raw"}
        assert isinstance(cell["source"], list | str)
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
            src = "".join(cell["source"])
            compile(src, f"{path.name}[{i}]", "exec")
