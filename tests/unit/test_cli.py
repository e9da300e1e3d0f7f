"""The tracklet command, run in-process through its main()."""

import csv
import json

import pyarrow.parquet as pq
import pytest

import tracklet
from tracklet.cli import main
from tracklet.cli._sparkline import sparkline


def make_run(**kw):
    run = tracklet.init(project="cli", config={"lr": 0.1}, **kw)
    for i in range(30):
        run.log({"loss": 1.0 / (i + 1), "acc": i / 30})
    print("hello from the run")
    run.finish()
    return run


def test_runs_lists_and_filters(capsys):
    a = make_run(name="alpha", tags=["t1"])
    make_run(name="beta")
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "alpha" in out and "beta" in out and "finished" in out
    assert main(["runs", "--tag", "t1", "--json"]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert [l["id"] for l in lines] == [a.id]
    assert main(["runs", "-f", "config.lr=0.5"]) == 0
    assert "no runs" in capsys.readouterr().out


def test_show_prints_config_summary_and_a_sparkline(capsys):
    run = make_run(name="gamma", console="auto")
    assert main(["show", run.id]) == 0
    out = capsys.readouterr().out
    assert "gamma" in out and "lr = 0.1" in out and "hello from the run" in out
    loss_line = next(l for l in out.splitlines() if l.strip().startswith("loss"))
    assert any(ch in loss_line for ch in "▁▂▃▄▅▆▇█")


def test_show_unknown_run_says_how_to_list(capsys):
    make_run()
    assert main(["show", "nope1234"]) == 1
    assert "tracklet runs" in capsys.readouterr().err


def test_export_csv_and_parquet(tmp_path, capsys):
    run = make_run()
    out = tmp_path / "h.csv"
    assert main(["export", run.id, "--output", str(out)]) == 0
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 30 and float(rows[-1]["loss"]) == pytest.approx(1 / 30)
    pout = tmp_path / "h.parquet"
    assert main(["export", run.id, "--format", "parquet", "-o", str(pout)]) == 0
    table = pq.read_table(pout)
    assert table.num_rows == 30 and "acc" in table.column_names


def test_doctor(capsys):
    make_run()
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "database         ok: 1 project(s), 1 run(s)" in out and "sqlalchemy" in out


def test_sparkline_shapes():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert len(sparkline(list(range(1000)), width=20)) == 20
    assert sparkline([1, 1, 1]) == "▅▅▅"
    assert sparkline([float("nan"), 1.0, 2.0]) == " ▁█"


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "runs" in capsys.readouterr().out
