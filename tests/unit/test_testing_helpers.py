"""tracklet.testing.capture: record into a temp store and read it back."""

import os

import tracklet
from tracklet.testing import capture


def test_capture_reads_back_what_was_logged():
    with capture(project="t") as cap:
        run = tracklet.init()
        run.log({"loss": 0.5})
        run.log({"loss": 0.25})
        run.finish()
        assert os.environ["TRACKLET_PROJECT"] == "t"
    assert cap.history("loss") == [0.5, 0.25]
    assert cap.run().project == "t" and cap.run().summary == {"loss": 0.25}
    assert "TRACKLET_PROJECT" not in os.environ


def test_capture_finishes_a_run_left_open():
    with capture() as cap:
        tracklet.init(project="x").log({"a": 1})
    assert cap.run().state == "finished"
