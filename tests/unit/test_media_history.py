"""Media values in the history: ``scan_history``/``history`` give a table, image, ... logged at a step in that
step's row, described as the summary describes it, on SQLite, PostgreSQL and over the server's history route;
``tracklet export`` writes them as JSON text."""

import csv
import io
import json
import os

import numpy as np
import pandas as pd
import pytest

import tracklet
from server_client import ServerClient, earlier_garbage_collected, make_app  # noqa: F401 (a fixture)
from tracklet.store.sql._store import SqlStore

pytestmark = pytest.mark.unit


def _run_with_media(project="mh", **init):
    """loss at steps 0, 1, 3; a table at 1 (with loss); a list of two images alone at 2; a histogram at 3 with a string."""
    run = tracklet.init(project=project, **init)
    run.log({"loss": 1.0})
    run.log({"eval/predictions": tracklet.Table(columns=["q", "score"], data=[["a", 0.5]]), "loss": 0.5})
    run.log({"samples": [tracklet.Image(np.zeros((2, 3, 3), np.uint8), caption=f"s{i}") for i in range(2)]})
    run.log({"loss": 0.25, "note": "hi", "w": tracklet.Histogram([1.0, 2.0, 2.0])})
    run.finish()
    return run


def test_each_media_value_is_in_the_row_of_its_step_as_the_summary_describes_it():
    run = _run_with_media()
    stored = tracklet.Api().run(run.id)
    rows = list(stored.scan_history())
    assert [r["_step"] for r in rows] == [0, 1, 2, 3]  # step 2 logged only media: a row too
    assert [r.get("loss") for r in rows] == [1.0, 0.5, None, 0.25]
    table, images, hist = rows[1]["eval/predictions"], rows[2]["samples"], rows[3]["w"]
    assert {k: table[k] for k in ("_type", "step", "rows", "columns")} == {"_type": "table", "step": 1, "rows": 1, "columns": ["q", "score"]}
    assert table["digest"] == stored.media("eval/predictions")[0]["digest"] and table["size"] > 0
    assert images["_type"] == "image" and images["count"] == 2 and [i["caption"] for i in images["items"]] == ["s0", "s1"]
    assert hist["_type"] == "histogram" and rows[3]["note"] == "hi"
    for key, row in (("eval/predictions", rows[1]), ("samples", rows[2]), ("w", rows[3])):
        assert row[key] == stored.summary[key]  # one description: the summary's (wal/_media.py media_summary)
    assert all({"_timestamp", "_runtime"} <= set(r) for r in rows)


def test_keys_select_media_keys_as_they_select_scalars():
    run = _run_with_media()
    stored = tracklet.Api().run(run.id)
    (only,) = stored.scan_history(keys=["eval/predictions"])
    assert only["_step"] == 1 and set(only) == {"_step", "_timestamp", "_runtime", "eval/predictions"}
    assert [r["_step"] for r in stored.scan_history(keys=["loss", "eval/predictions"])] == [1]  # steps with all of them
    assert [r["_step"] for r in stored.scan_history(keys=["loss", "w"])] == [3]
    assert list(stored.scan_history(keys=["samples", "eval/predictions"])) == []  # never at one step
    assert list(stored.scan_history(keys=["nope", "samples"])) == []
    assert [r["_step"] for r in stored.scan_history(keys=["samples"], min_step=2, max_step=2)] == [2]
    assert list(stored.scan_history(keys=["samples"], min_step=3)) == []
    assert [r["loss"] for r in stored.scan_history(keys=["loss"])] == [1.0, 0.5, 0.25]  # scalars alone: as before


def test_history_samples_and_pandas_hold_a_description_in_one_cell():
    run = _run_with_media()
    stored = tracklet.Api().run(run.id)
    df = stored.history()
    assert isinstance(df, pd.DataFrame) and list(df["_step"]) == [0, 1, 2, 3]
    assert df.loc[1, "eval/predictions"]["rows"] == 1 and df.loc[2, "samples"]["count"] == 2
    assert pd.isna(df.loc[0, "eval/predictions"])
    assert [r["_step"] for r in stored.history(samples=2, pandas=False)] == [0, 3]
    assert stored.history(keys=["w"], pandas=False)[0]["w"]["_type"] == "histogram"


def test_a_key_logged_both_as_a_number_and_as_media_keeps_each_at_its_step():
    run = tracklet.init(project="mh")
    run.log({"x": 1.0})
    run.log({"x": tracklet.Histogram([1, 2, 3])})
    run.finish()
    rows = list(tracklet.Api().run(run.id).scan_history(keys=["x"]))
    assert rows[0]["x"] == 1.0 and rows[1]["x"]["_type"] == "histogram"


def test_a_running_run_shows_its_media_in_the_history_once_stored():
    run = tracklet.init(project="mh")
    run.log({"img": tracklet.Image(np.zeros((4, 4, 3), np.uint8)), "loss": 1.0})
    run._uploads.drain()  # what finish() waits for
    (row,) = tracklet.Api().run(run.id).scan_history()
    assert row["img"]["_type"] == "image" and row["img"]["width"] == 4
    run.finish()


def test_the_server_history_route_streams_the_descriptions(tmp_path):
    run = _run_with_media(dir=str(tmp_path / "client"))
    root = str(tmp_path / "server")
    client = ServerClient(make_app(root))
    with open(os.path.join(run.dir, "run.tlog"), "rb") as f:
        assert client.send_log(run.id, f.read()).status_code == 200
    r = client.get(f"/api/v1/runs/{run.id}/history")
    rows = [json.loads(line) for line in r.text.splitlines()]
    expected = list(SqlStore(str(tmp_path / "client")).history(run.id))
    assert rows == expected and rows[2]["samples"]["count"] == 2
    one = client.get(f"/api/v1/runs/{run.id}/history", params={"keys": ["w", "note"]})
    assert [json.loads(line)["w"]["_type"] for line in one.text.splitlines()] == ["histogram"]


def test_postgresql_gives_the_same_rows(pg_url, tracklet_env):
    from tracklet.store.sql._migrate import migrate

    from tracklet.artifacts.storage import blob_store_of

    run = _run_with_media()
    migrate(pg_url)
    store = SqlStore(url=pg_url, blobs=blob_store_of(str(tracklet_env)))  # images logged as pixels get their PNGs there
    try:
        with open(os.path.join(run.dir, "run.tlog"), "rb") as f:
            store.append_log(run.id, 0, f.read())
        local = SqlStore(str(tracklet_env))
        assert list(store.history(run.id)) == list(local.history(run.id))
        assert list(store.history(run.id, ["loss", "eval/predictions"])) == list(local.history(run.id, ["loss", "eval/predictions"]))
        assert [r["_step"] for r in store.history(run.id, ["samples"])] == [2]
    finally:
        store.close()


# -- tracklet export ---------------------------------------------------------------------------------------
def test_export_writes_media_as_json_text_in_csv_and_parquet(tmp_path, capsys):
    from tracklet.cli import main

    run = _run_with_media()
    summary = tracklet.Api().run(run.id).summary
    capsys.readouterr()
    assert main(["export", run.id, "-o", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["_step"] for r in rows] == ["0", "1", "2", "3"]
    assert json.loads(rows[1]["eval/predictions"]) == summary["eval/predictions"]
    assert json.loads(rows[2]["samples"]) == summary["samples"] and rows[2]["loss"] == ""
    assert rows[3]["note"] == "hi" and rows[0]["w"] == ""
    out = tmp_path / "h.parquet"
    assert main(["export", run.id, "--format", "parquet", "-o", str(out)]) == 0
    df = pd.read_parquet(out)
    assert df["loss"].dtype.kind == "f" and json.loads(df["w"][3]) == summary["w"]
    assert df["samples"].isna().tolist() == [True, True, False, True]
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "JSON text" in capsys.readouterr().out


def test_export_writes_a_column_of_mixed_kinds_as_json_text(tmp_path):
    from tracklet.cli import main

    run = tracklet.init(project="mh")
    run.log({"x": 1.5})
    run.log({"x": "text"})
    run.log({"x": tracklet.Histogram([1, 2])})
    run.finish()
    out = tmp_path / "m.parquet"
    assert main(["export", run.id, "--format", "parquet", "-o", str(out)]) == 0
    cells = pd.read_parquet(out)["x"].tolist()
    assert [json.loads(c) for c in cells[:2]] == [1.5, "text"] and json.loads(cells[2])["_type"] == "histogram"
