"""Console capture: output reaches the run's log and the terminal alike."""

import sys

import tracklet
from tracklet.tracking._console import _as_displayed


def test_prints_are_recorded_and_still_printed(capsys):
    run = tracklet.init(project="p", console="auto")
    print("epoch 1 done")
    print("warning!", file=sys.stderr)
    sys.stdout.write("partial line without newline")
    run.finish()
    out, err = capsys.readouterr()
    assert "epoch 1 done" in out and "warning!" in err
    logs = tracklet.Api().run(run.id).logs()
    assert [(l["stream"], l["text"]) for l in logs] == [
        ("stdout", "epoch 1 done\n"),
        ("stderr", "warning!\n"),
        ("stdout", "partial line without newline\n"),
    ]
    assert sys.stdout is not None and not type(sys.stdout).__name__ == "_Tee"


def test_progress_bars_keep_what_the_terminal_shows_last():
    assert _as_displayed(" 10%\r 50%\r100%\nnext\n") == "100%\nnext\n"
    run = tracklet.init(project="p", console="auto")
    for pct in (10, 50, 100):
        sys.stderr.write(f"\rprogress {pct}%")
    sys.stderr.write("\n")
    run.finish()
    assert tracklet.Api().run(run.id).output() == "progress 100%\n"


def test_console_off_records_nothing():
    run = tracklet.init(project="p", console="off")
    print("not recorded")
    run.finish()
    assert tracklet.Api().run(run.id).logs() == []
