"""Each framework example in examples/ runs (in this process, so the frameworks are imported once)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from tiny import FRAMEWORK_WARNINGS

pytestmark = FRAMEWORK_WARNINGS
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.parametrize(
    "name, needs",
    [("hf_peft_lora", "peft"), ("lightning_logger", "lightning"), ("accelerate_tracker", "accelerate"), ("torch_watch", "torch"),
     ("sweep_tiny", "optuna")],
)
def test_example_runs_and_reads_back_its_run(name, needs, workdir, capsys):
    pytest.importorskip(needs)
    if name == "accelerate_tracker":
        accelerate = pytest.importorskip("accelerate")
        if not hasattr(accelerate.tracking, "register_tracker_class"):
            pytest.skip("log_with='tracklet' needs accelerate 1.15+")
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    assert "recorded " in capsys.readouterr().out
