"""Rich values in log(): Table, Image, Histogram, Audio, Video, Html and plot charts, stored once by content and read back."""

import io
import os
import sys
import wave

import numpy as np
import pandas as pd
import pytest

import tracklet
from tracklet.wal._wal import RecordType, WalReader


def media_records(run):
    return [r.json() for r in WalReader(os.path.join(run.dir, "run.tlog")).records(16) if r.type == RecordType.MEDIA]


def blobs(store):
    folder = store / "blobs" / "blake3"
    return sorted(os.listdir(folder)) if folder.exists() else []


# -- Table ---------------------------------------------------------------------------------------------
def test_a_table_of_rows_is_read_back_at_the_step_it_was_logged():
    run = tracklet.init(project="media")
    table = tracklet.Table(columns=["id", "text", "score", "ok", "extra"], data=[[1, "a", 0.5, True, None]])
    table.add_data(2, "b", 0.25, False, {"tags": ["x"]})
    run.log({"loss": 1.0})
    run.log({"eval/predictions": table, "loss": 0.5})
    run.finish()
    stored = tracklet.Api().run(run.id)
    back = stored.table("eval/predictions")
    assert back.columns == ["id", "text", "score", "ok", "extra"]
    assert back.data == [[1, "a", 0.5, True, None], [2, "b", 0.25, False, {"tags": ["x"]}]]
    assert len(back) == 2 and back.get_column("score") == [0.5, 0.25]
    assert [(i, r[0]) for i, r in back.iterrows()] == [(0, 1), (1, 2)]
    (entry,) = stored.media("eval/predictions")
    assert entry["step"] == 1 and entry["kind"] == "table" and entry["meta"]["rows"] == 2
    assert entry["meta"]["types"] == ["int", "str", "float", "bool", "json"]


def test_the_summary_describes_the_last_value_of_each_media_key_while_running_and_after():
    run = tracklet.init(project="media")
    run.log({"t": tracklet.Table(columns=["a"], data=[[1]]), "loss": 1.0})
    run.log({"t": tracklet.Table(columns=["a"], data=[[1], [2]]), "imgs": [tracklet.Image(np.zeros((2, 3, 3), np.uint8))] * 2})
    run._uploads.drain()  # what finish() waits for
    live = tracklet.Api().run(run.id).summary  # the store reads it from the MEDIA records of a running run
    run.finish()
    for summary in (live, dict(run.summary), tracklet.Api().run(run.id).summary):
        assert summary["loss"] == 1.0
        assert {k: summary["t"][k] for k in ("_type", "step", "rows", "columns")} == {"_type": "table", "step": 1, "rows": 2, "columns": ["a"]}
        assert summary["imgs"]["_type"] == "image" and summary["imgs"]["count"] == 2
        assert [(i["width"], i["height"]) for i in summary["imgs"]["items"]] == [(3, 2), (3, 2)]
        assert summary["t"]["digest"] == tracklet.Api().run(run.id).media("t")[-1]["digest"]


def test_a_dataframe_round_trips_and_later_changes_to_it_are_not_in_the_table():
    df = pd.DataFrame({"prompt": ["p1", "p2", "p3"], "score": [0.9, 0.1, 0.5], "n": [1, 2, 3]})
    run = tracklet.init(project="media")
    table = tracklet.Table(dataframe=df)
    df.loc[0, "score"] = -1.0
    run.log({"t": table})
    run.finish()
    got = tracklet.Api().run(run.id).table("t").get_dataframe()
    assert got["score"].tolist() == [0.9, 0.1, 0.5] and got["n"].dtype.kind == "i"
    assert got["prompt"].tolist() == ["p1", "p2", "p3"]


def test_every_version_is_listed_and_a_change_after_log_makes_a_new_one():
    run = tracklet.init(project="media")
    table = tracklet.Table(columns=["x"], data=[[1]])
    run.log({"t": table})
    table.add_data(2)  # the logged version stays as it was
    run.log({"t": table})
    run.finish()
    stored = tracklet.Api().run(run.id)
    assert [(e["step"], e["meta"]["rows"]) for e in stored.media("t")] == [(0, 1), (1, 2)]
    assert stored.table("t", step=0).data == [[1]]
    assert stored.table("t").data == [[1], [2]]
    with pytest.raises(tracklet.UsageError, match="logged 't' at steps 0, 1, not at step 7"):
        stored.table("t", step=7)
    with pytest.raises(tracklet.UsageError, match="no media under 'nope'; its media keys: t"):
        stored.table("nope")


def test_the_same_table_logged_twice_is_stored_once(tracklet_env):
    run = tracklet.init(project="media")
    rows = [[i, f"row {i}", i / 7] for i in range(500)]
    run.log({"a": tracklet.Table(columns=["i", "s", "f"], data=rows)})
    run.log({"b": tracklet.Table(columns=["i", "s", "f"], data=[list(r) for r in rows])})
    run.finish()
    entries = tracklet.Api().run(run.id).media()
    assert entries[0]["digest"] == entries[1]["digest"]
    assert blobs(tracklet_env) == [entries[0]["digest"]]


def test_commit_false_and_explicit_steps_behave_as_for_scalars():
    run = tracklet.init(project="media")
    run.log({"h": tracklet.Histogram([1, 2, 3])}, commit=False)
    run.log({"loss": 1.0})  # the same step: 0
    run.log({"h": tracklet.Histogram([4, 5])}, step=10)
    run.finish()
    assert [e["step"] for e in tracklet.Api().run(run.id).media("h")] == [0, 10]


def test_media_cells_are_stored_as_blobs_of_their_own_and_read_back():
    run = tracklet.init(project="media")
    img = tracklet.Image(np.full((4, 5, 3), 200, np.uint8), caption="c")
    run.log({"t": tracklet.Table(columns=["i", "img"], data=[[0, img], [1, None]])})
    run.finish()
    back = tracklet.Api().run(run.id).table("t")
    cell = back.data[0][1]
    assert isinstance(cell, tracklet.Image) and cell.caption == "c"
    assert cell.to_numpy().shape == (4, 5, 3) and int(cell.to_numpy()[0, 0, 0]) == 200
    (entry,) = tracklet.Api().run(run.id).media("t")
    assert len(entry["refs"]) == 1


def test_without_pyarrow_a_table_is_stored_as_gzip_json(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    run = tracklet.init(project="media")
    run.log({"t": tracklet.Table(columns=["a", "b"], data=[[1, "x"], [2, None]])})
    run.finish()
    stored = tracklet.Api().run(run.id)
    assert stored.media("t")[0]["meta"]["format"] == "json"
    assert stored.table("t").data == [[1, "x"], [2, None]]


def test_a_missing_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(tracklet.UsageError, match=r'pip install "tracklet\[media\]"'):
        tracklet.Table(dataframe=object())


# -- bad input: a UsageError at the call naming row, column and type; nothing written -------------------
@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: tracklet.Table(columns=["a", "b"], data=[[1, 2], [3]]), r"Table row 1 has 1 cells; the table has 2 columns \('a', 'b'\)"),
        (lambda: tracklet.Table(columns=["a", "b"], data=[[1, 2, 3]]), r"Table row 0 has 3 cells"),
        (lambda: tracklet.Table(columns=["a", "b"], data=[[1, 2], [3, {1, 2}]]), r"Table row 1, column 'b': a set cannot be stored"),
        (lambda: tracklet.Table(columns=["a"], data=[[{"k": object()}]]), r"Table row 0, column 'a': a object inside a list or dict"),
        (lambda: tracklet.Table(columns=["a", "a"]), r"column 'a' appears twice"),
        (lambda: tracklet.Table(dataframe=pd.DataFrame({"x": [1, 2], "y": ["ok", {3}]})), r"Table row 1, column 'y': a set cannot be stored"),
        (lambda: tracklet.Image(np.zeros((2, 3, 4, 5))), r"Image: an image of shape \(2, 3, 4, 5\) cannot be drawn"),
        (lambda: tracklet.Image(np.zeros((5, 5, 7))), r"shape \(5, 5, 7\)"),
        (lambda: tracklet.Image(np.zeros((0, 4))), r"each side is 1 to"),
        (lambda: tracklet.Image(np.array([["a"]])), r"an image of dtype <U1 cannot be drawn"),
        (lambda: tracklet.Image(np.full((2, 2), np.nan)), r"NaN or infinite"),
        (lambda: tracklet.Image(np.full((2, 2), 300, np.int32)), r"integer pixels run from 300 to 300"),
        (lambda: tracklet.Image("missing.png"), r"no file 'missing.png'"),
        (lambda: tracklet.Histogram([1.0, float("nan"), 2.0]), r"Histogram: value 1 is nan"),
        (lambda: tracklet.Histogram(np.array([1.0, np.inf])), r"Histogram: value 1 is inf"),
        (lambda: tracklet.Histogram(np_histogram=([1, 2], [0, 1])), r"2 counts need 3 edges"),
        (lambda: tracklet.Histogram([1], num_bins=0), r"num_bins=0"),
        (lambda: tracklet.Audio(np.zeros(10)), r"needs sample_rate="),
        (lambda: tracklet.plot.line(tracklet.Table(columns=["x"]), "x", "y"), r"plot.line: the table has no column 'y'"),
        (lambda: tracklet.plot.line_series([0, 1], [[1, 2], [3]]), r"line 1 \('line_1'\) has 1 y values for 2 x values"),
        (lambda: tracklet.plot.line_series([0, 1], [[1, 2]], keys=["a", "b"]), r"keys names each of the 1 lines"),
        (lambda: tracklet.plot.line_series([[0, 1]], [[1, 2], [3, 4]]), r"one list per line \(2 lines\)"),
        (lambda: tracklet.plot.line_series([0, 1], [[1, "two"]]), r"line 0 \('line_0'\), point 1: y is a str, not a number"),
        (lambda: tracklet.plot.line_series([0], 5), r"ys is a list of lines"),
    ],
)
def test_bad_values_are_refused_where_they_are_made(make, message):
    with pytest.raises(tracklet.UsageError, match=message):
        make()


def test_a_refused_log_writes_nothing_and_keeps_the_step():
    run = tracklet.init(project="media")
    with pytest.raises(tracklet.UsageError, match="list item 1 is a int"):
        run.log({"loss": 1.0, "imgs": [tracklet.Image(np.zeros((2, 2))), 3]})
    assert run.step == 0
    run.finish()
    assert media_records(run) == []
    assert tracklet.Api().run(run.id).keys() == []


# -- the other kinds ------------------------------------------------------------------------------------
def test_images_from_arrays_tensors_pil_and_files_are_png_and_read_back(tmp_path):
    from PIL import Image as PIL

    torch = pytest.importorskip("torch")
    path = tmp_path / "a.png"
    PIL.fromarray(np.full((3, 3, 3), 7, np.uint8)).save(path)
    run = tracklet.init(project="media")
    floats = np.linspace(0, 1, 12).reshape(3, 4)
    run.log({
        "samples": [tracklet.Image(floats, caption="gray"), tracklet.Image(torch.ones(3, 5, 6))],
        "pil": tracklet.Image(PIL.new("RGB", (2, 2), (1, 2, 3))),
        "file": tracklet.Image(str(path)),
        "mask": tracklet.Image(np.eye(3, dtype=bool)),
    })
    run.finish()
    stored = tracklet.Api().run(run.id)
    gray, ones = stored.image("samples")
    assert gray.caption == "gray" and gray.to_numpy().tolist()[0] == [0, 23, 46, 70]
    assert ones.to_numpy().shape == (5, 6, 3) and ones.to_numpy().max() == 255
    assert stored.image("pil").to_numpy()[0, 0].tolist() == [1, 2, 3]
    assert stored.get_media("file").to_numpy()[0, 0].tolist() == [7, 7, 7]
    assert stored.image("mask").to_numpy().tolist()[0] == [255, 0, 0]
    assert {e["meta"]["format"] for e in stored.media()} == {"png"}
    assert stored.media("samples")[1]["meta"]["width"] == 6


def test_matplotlib_figures_are_stored_as_their_png_as_wandb_takes_them():
    """``wandb.Image(fig)``, ``wandb.log({"plot": fig})`` and ``wandb.log({"chart": plt})`` in wandb users' scripts."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import tracklet as wandb

    fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
    ax.plot([0, 1, 2], [2, 0, 1], color="red")
    wandb.init(project="media")
    wandb.log({"confusion": wandb.Image(fig, caption="epoch 1"), "plot": fig})
    plt.figure(figsize=(2, 2), dpi=40)
    plt.bar([0, 1], [3, 4])
    wandb.log({"chart": plt})
    run_id = wandb.run.id
    wandb.finish()
    plt.close("all")
    stored = wandb.Api().run(run_id)
    assert stored.image("confusion").caption == "epoch 1"
    for key, size in (("confusion", (150, 100)), ("plot", (150, 100)), ("chart", (80, 80))):
        (entry,) = stored.media(key)
        assert entry["kind"] == "image" and entry["meta"]["format"] == "png", entry
        assert (entry["meta"]["width"], entry["meta"]["height"]) == size
        pixels = stored.image(key).to_numpy()
        assert pixels.shape[:2] == size[::-1] and len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)) > 2  # drawn
    red = stored.image("plot").to_numpy()
    assert ((red[:, :, 0] > 200) & (red[:, :, 1] < 80)).any()  # the line is there
    assert stored.summary["chart"]["_type"] == "image"


def test_masks_and_boxes_are_kept_with_their_image_and_read_back_as_wandb_gives_them():
    import tracklet as wandb

    mask = np.zeros((6, 8), np.uint8)
    mask[1:4, 2:6] = 3
    boxes = {"pred": {"box_data": [{"position": {"middle": [4, 3], "width": 2, "height": 2}, "domain": "pixel",
                                    "class_id": 3, "box_caption": "car", "scores": {"conf": 0.5}}],
                      "class_labels": {3: "car"}}}
    run = wandb.init(project="media")
    for step in range(120):  # past the run's 100th image: the ones with masks are still stored with them
        wandb.log({"seg": wandb.Image(np.zeros((6, 8, 3), np.uint8) + step, masks={"truth": {"mask_data": mask, "class_labels": {3: "car"}}},
                                      boxes=boxes)})
    wandb.finish()
    stored = wandb.Api().run(run.id)
    entries = stored.media("seg")
    assert len(entries) == 120
    last = stored.image("seg")
    truth = last.masks["truth"]
    assert truth["class_labels"] == {3: "car"} and truth["mask_data"].tolist() == mask.tolist()
    assert last.boxes == {"pred": {"box_data": boxes["pred"]["box_data"], "class_labels": {3: "car"}}}
    meta = entries[-1]["meta"]
    assert meta["masks"]["truth"]["digest"] in entries[-1]["refs"]  # a blob of its own, kept while the entry is
    assert stored.image("seg", step=5).masks["truth"]["mask_data"].sum() == mask.sum()


@pytest.mark.parametrize("kwargs, words", [
    ({"masks": {"m": {"mask_data": np.zeros((3, 3))}}}, r"mask_data is 3x3 \(width x height\) and the image 8x6"),
    ({"masks": {"m": {"mask_data": np.full((6, 8), 300)}}}, "class ids run from 300 to 300; a mask holds 0-255"),
    ({"masks": {"m": {"path": "mask.png"}}}, "a mask from a file is not taken"),
    ({"masks": {"m": {"mask_data": np.zeros((6, 8)), "class_labels": {"a": "b"}}}}, "class_labels is a dict of class id"),
    ({"boxes": {"b": {"box_data": [{"position": {"minX": 0}}]}}}, "position needs minX, maxX, minY, maxY"),
    ({"boxes": {"b": {"box_data": [{"position": {"minX": 0, "maxX": "1", "minY": 0, "maxY": 1}}]}}}, "maxX must be a finite number"),
    ({"boxes": {"b": {"box_data": [{"position": {"minX": 0, "maxX": 1, "minY": 0, "maxY": 1}, "domain": "cm"}]}}}, "domain is 'pixel'"),
])
def test_bad_masks_and_boxes_are_refused_where_the_image_is_made(kwargs, words):
    with pytest.raises(tracklet.UsageError, match=words):
        tracklet.Image(np.zeros((6, 8, 3), np.uint8), **kwargs)


def test_the_same_image_every_step_is_one_blob(tracklet_env):
    run = tracklet.init(project="media")
    frame = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    for _ in range(5):
        run.log({"frame": tracklet.Image(frame)})
    run.finish()
    assert len(tracklet.Api().run(run.id).media("frame")) == 5
    assert len(blobs(tracklet_env)) == 1


def test_histograms_from_values_or_counts_read_back_with_wandbs_fields():
    run = tracklet.init(project="media")
    run.log({"w": tracklet.Histogram(np.arange(10.0), num_bins=5), "py": tracklet.Histogram([0, 0, 1], num_bins=2),
             "np": tracklet.Histogram(np_histogram=np.histogram([1, 2, 2, 3], bins=3))})
    run.finish()
    stored = tracklet.Api().run(run.id)
    w = stored.histogram("w")
    assert w.histogram == [2, 2, 2, 2, 2] and w.bins == [0.0, 1.8, 3.6, 5.4, 7.2, 9.0]
    assert stored.histogram("py").histogram == [2, 1]
    assert stored.histogram("np").histogram == [1, 2, 1]


def test_classifier_charts_as_wandb_plot_makes_them():
    """wandb.plot.confusion_matrix, roc_curve and pr_curve, under import tracklet as wandb, checked by hand."""
    import tracklet as wandb

    wandb.init(project="media")
    y_true = [0, 0, 1, 1]
    probas = [[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]]  # class 1's scores: 0.1, 0.4, 0.35, 0.8
    wandb.log({
        "cm": wandb.plot.confusion_matrix(y_true=[0, 1, 2, 2], preds=[0, 2, 2, 1], class_names=["a", "b", "c"]),
        "cm_probs": wandb.plot.confusion_matrix(probs=probas, y_true=y_true),
        "roc": wandb.plot.roc_curve(y_true, probas, labels=["neg", "pos"], classes_to_plot=[1]),
        "pr": wandb.plot.pr_curve(y_true, probas, labels=["neg", "pos"], classes_to_plot=["pos"], interp_size=3),
    })
    run_id = wandb.run.id
    wandb.finish()
    stored = wandb.Api().run(run_id)
    cm = stored.get_media("cm")
    assert cm.spec["type"] == "confusion_matrix" and cm.table.columns == ["Actual", "Predicted", "nPredictions"]
    counts = {(a, p): n for a, p, n in cm.table.data}
    assert len(counts) == 9 and counts[("a", "a")] == counts[("b", "c")] == counts[("c", "c")] == counts[("c", "b")] == 1
    assert sum(counts.values()) == 4
    assert {(a, p): n for a, p, n in stored.get_media("cm_probs").table.data} == {("0", "0"): 2, ("0", "1"): 0, ("1", "0"): 1, ("1", "1"): 1}
    roc = stored.get_media("roc")
    assert roc.spec == {"type": "line", "x": "fpr", "y": "tpr", "stroke": "class", "title": "ROC"}
    assert [row[1:] for row in roc.table.data] == [[0.0, 0.0], [0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [1.0, 1.0]]  # sklearn's too
    with pytest.warns(tracklet.TrackletWarning, match="leaves out class '2'"):  # absent from y_true: no curve
        three = wandb.plot.roc_curve(y_true, [[*row, 0.0] for row in probas])
    assert {row[0] for row in three.table.data} == {"0", "1"}
    pr = stored.get_media("pr").table.data
    assert [(c, r, round(p, 3)) for c, r, p in pr] == [("pos", 0.0, 1.0), ("pos", 0.5, 1.0), ("pos", 1.0, 0.667)]


@pytest.mark.parametrize("make, words", [
    (lambda p: p.confusion_matrix(y_true=[0, 1], preds=[0, 1], probs=[[1, 0], [0, 1]]), "give preds .* or probs .*, one of them"),
    (lambda p: p.confusion_matrix(y_true=[0, 1], preds=[0]), "y_true has 2 examples and preds 1"),
    (lambda p: p.confusion_matrix(y_true=[0, 3], preds=[0, 1], class_names=["a", "b"]), "2 class names for 4 classes"),
    (lambda p: p.confusion_matrix(y_true=[0.5, 1], preds=[0, 1]), "holds class indices"),
    (lambda p: p.roc_curve([0, 1], [[0.5, 0.5]]), r"one row of class probabilities per example \(2 rows\)"),
    (lambda p: p.roc_curve([0, 0], [[0.5, 0.5], [0.4, 0.6]]), "no class has both examples of it and of other classes"),
    (lambda p: p.pr_curve([0, 1], [[0.5, 0.5], [0.4, 0.6]], classes_to_plot=["cat"]), "classes_to_plot names 'cat'"),
    (lambda p: p.pr_curve([0, 1], [[0.5, 0.5], [0.4, 0.6]], interp_size=1), "interp_size is a whole number >= 2"),
])
def test_classifier_charts_refuse_what_they_cannot_draw(make, words):
    with pytest.raises(tracklet.UsageError, match=words):
        make(tracklet.plot)


def test_audio_video_html_and_charts_are_stored_and_read_back(tmp_path):
    run = tracklet.init(project="media")
    table = tracklet.Table(columns=["x", "y"], data=[[0, 1.0], [1, 0.5]])
    run.log({
        "audio": tracklet.Audio(np.sin(np.linspace(0, 100, 800)), sample_rate=8000, caption="tone"),
        "video": tracklet.Video(np.zeros((3, 3, 8, 8), np.uint8), fps=2),
        "page": tracklet.Html("<b>hi</b>"),
        "curve": tracklet.plot.line(table, "x", "y", title="Loss"),
        "dots": tracklet.plot.scatter(table, "x", "y"),
        "bars": tracklet.plot.bar(table, "x", "y"),
        "dist": tracklet.plot.histogram(table, "y"),
    })
    run.finish()
    stored = tracklet.Api().run(run.id)
    audio = stored.get_media("audio")
    with wave.open(io.BytesIO(audio.data)) as w:
        assert (w.getframerate(), w.getnframes(), w.getnchannels()) == (8000, 800, 1)
    assert audio.caption == "tone"
    assert stored.get_media("video").data[:6] == b"GIF89a"
    assert stored.get_media("page").html == "<b>hi</b>"
    curve = stored.get_media("curve")
    assert curve.spec == {"type": "line", "x": "x", "y": "y", "stroke": None, "title": "Loss"}
    assert curve.table.data == [[0, 1.0], [1, 0.5]]
    assert {e["key"]: e["kind"] for e in stored.media()} == {
        "audio": "audio", "bars": "plot", "curve": "plot", "dist": "plot", "dots": "plot", "page": "html", "video": "video"}


def test_line_series_stores_wandbs_table_of_line_keys_values_and_steps():
    run = tracklet.init(project="media")
    shared = tracklet.plot.line_series([0, 1, 2], [[1.0, 0.5, 0.25], np.array([2, 1, 0])], keys=["a", "b"], title="Loss",
                                       xname="epoch")
    apart = tracklet.plot.line_series([[0, 10], [5]], [[1, 2], [3]])
    run.log({"lines": shared, "apart": apart})
    run.finish()
    stored = tracklet.Api().run(run.id)
    lines = stored.get_media("lines")
    assert lines.spec == {"type": "line", "x": "step", "y": "lineVal", "stroke": "lineKey", "title": "Loss", "xname": "epoch"}
    assert lines.table.columns == ["lineKey", "lineVal", "step"]
    assert lines.table.data == [["a", 1.0, 0.0], ["a", 0.5, 1.0], ["a", 0.25, 2.0], ["b", 2.0, 0.0], ["b", 1.0, 1.0], ["b", 0.0, 2.0]]
    assert stored.get_media("apart").table.data == [["line_0", 1.0, 0.0], ["line_0", 2.0, 10.0], ["line_1", 3.0, 5.0]]
    assert stored.get_media("apart").spec["xname"] == "x" and stored.get_media("apart").spec["title"] == ""


def test_a_disabled_run_takes_media_and_records_nothing(tracklet_env):
    run = tracklet.init(project="media", mode="disabled")
    run.log({"t": tracklet.Table(columns=["a"], data=[[1]])})
    run.finish()
    assert blobs(tracklet_env) == []


def test_deleting_an_artifact_keeps_a_blob_a_media_value_uses(tmp_path, tracklet_env):
    (tmp_path / "page.html").write_text("<p>same bytes</p>")
    run = tracklet.init(project="media")
    run.log({"page": tracklet.Html("<p>same bytes</p>")})
    art = tracklet.Artifact("pages", type="dataset")
    art.add_file(str(tmp_path / "page.html"))
    run.log_artifact(art)
    run.finish()
    art.wait()
    (digest,) = blobs(tracklet_env)
    art.delete()
    assert blobs(tracklet_env) == [digest]
    assert tracklet.Api().run(run.id).get_media("page").html == "<p>same bytes</p>"


# -- the wandb evaluation script ------------------------------------------------------------------------
def test_the_evaluation_example_with_import_tracklet_as_wandb():
    import tracklet as wandb

    predictions = pd.DataFrame({
        "prompt": [f"question {i}" for i in range(20)],
        "completion": [f"answer {i}" for i in range(20)],
        "score": [i / 20 for i in range(20)],
    })
    run = wandb.init(project="llm-eval", config={"model": "tiny"})
    run.log({"eval/predictions": wandb.Table(dataframe=predictions), "eval/mean_score": predictions["score"].mean()})
    run.finish()

    table = wandb.Api().run(f"llm-eval/{run.id}").table("eval/predictions")
    df = table.get_dataframe()
    low = df[df["score"] < 0.2]
    assert low["prompt"].tolist() == ["question 0", "question 1", "question 2", "question 3"]
    assert list(df.columns) == ["prompt", "completion", "score"] and len(table) == 20


# -- the command line -------------------------------------------------------------------------------------
def test_tracklet_table_exports_and_show_lists_media(tmp_path, capsys):
    from tracklet.cli import main

    run = tracklet.init(project="media")
    run.log({"eval/predictions": tracklet.Table(columns=["q", "score", "meta"], data=[["a", 0.5, {"k": 1}], ["b", 0.1, None]])})
    run.log({"eval/predictions": tracklet.Table(columns=["q", "score", "meta"], data=[["c", 0.9, None]]), "w": tracklet.Histogram([1, 2])})
    run.finish()
    capsys.readouterr()
    assert main(["table", run.id, "eval/predictions", "--step", "0"]) == 0
    assert capsys.readouterr().out.splitlines() == ["q,score,meta", 'a,0.5,"{""k"": 1}"', "b,0.1,"]
    assert main(["table", run.id, "eval/predictions", "--format", "jsonl"]) == 0
    assert capsys.readouterr().out == '{"q": "c", "score": 0.9, "meta": null}\n'
    out = tmp_path / "t.parquet"
    assert main(["table", run.id, "eval/predictions", "--step", "0", "--format", "parquet", "-o", str(out)]) == 0
    assert pd.read_parquet(out)["q"].tolist() == ["a", "b"]
    assert main(["table", run.id, "nope"]) == 1
    assert "logged no media under 'nope'" in capsys.readouterr().err
    assert main(["show", run.id]) == 0
    shown = capsys.readouterr().out
    assert "tables and media" in shown and "eval/predictions" in shown and "2 steps" in shown and "1 rows x 3 columns" in shown
    assert "histogram" in shown
