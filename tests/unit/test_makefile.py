"""The README's commands: where torch comes from is the user's choice (issue 10, item 21)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("target", [".venv/.demo", ".venv-oldest/.test"])
def test_torch_index_chooses_where_torch_comes_from(tmp_path, target):
    def torch_line(*args):
        out = subprocess.run(["make", "-n", "-B", "-C", REPO, target, *args], capture_output=True, text=True, check=True)
        return next(line for line in out.stdout.splitlines() if "torch==2.13.0" in line and "install" in line)

    assert "--index-url" not in torch_line()  # pip's own configuration decides
    assert torch_line("TORCH_INDEX=https://download.pytorch.org/whl/cpu").endswith(
        "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
    )
