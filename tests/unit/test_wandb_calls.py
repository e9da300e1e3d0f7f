"""The calls most wandb scripts make, run as a wandb script makes them (`import tracklet as wandb`)."""

import datetime
import os

import pytest

import tracklet
import tracklet as wandb


# -- files kept with the run ------------------------------------------------------------------------------
def test_save_copies_matching_files_into_the_run_folder(tmp_path):
    (tmp_path / "ckpt" / "sub").mkdir(parents=True)
    (tmp_path / "ckpt" / "a.pt").write_bytes(b"A")
    (tmp_path / "ckpt" / "sub" / "b.pt").write_bytes(b"B")
    (tmp_path / "ckpt" / "notes.txt").write_text("n")
    run = wandb.init(project="files")
    paths = wandb.save("ckpt/*.pt")
    assert paths == [os.path.join(run.dir, "files", "ckpt", "a.pt")]
    run.save("ckpt/sub/*.pt", base_path="ckpt")  # the layout below base_path is kept
    run.save(str(tmp_path / "ckpt" / "notes.txt"), policy="now")  # absolute: its last folder is kept
    with open(os.path.join(run.dir, "model.bin"), "wb") as f:  # the wandb habit: write into run.dir, then save it
        f.write(b"M")
    run.save(os.path.join(run.dir, "model.bin"))
    (tmp_path / "ckpt" / "a.pt").write_bytes(b"A2")  # "live": the last content is kept
    (tmp_path / "ckpt" / "notes.txt").write_text("changed")  # "now": the content at save() is kept
    run.finish()
    files = os.path.join(run.dir, "files")
    kept = sorted(os.path.relpath(os.path.join(d, n), files) for d, _, ns in os.walk(files) for n in ns)
    assert kept == [os.path.join("ckpt", "a.pt"), os.path.join("ckpt", "notes.txt"), "model.bin", os.path.join("sub", "b.pt")]
    with open(os.path.join(files, "ckpt", "a.pt"), "rb") as f:
        assert f.read() == b"A2"
    with open(os.path.join(files, "ckpt", "notes.txt")) as f:
        assert f.read() == "n"


def test_save_records_the_files_in_the_runs_log():
    from tracklet.wal._wal import RecordType, WalReader

    (open("out.json", "w")).close()
    run = wandb.init(project="files")
    run.save("out.json", policy="end")
    run.finish()
    records = [r.json() for r in WalReader(os.path.join(run.dir, "run.tlog")).records() if r.type == RecordType.FILES]
    assert [(e["path"], e["policy"], e["size"]) for rec in records for e in rec["files"]] == [("out.json", "end", 0)]


def test_save_bad_input_and_nothing_to_save():
    run = wandb.init(project="files")
    with pytest.raises(tracklet.UsageError, match="policy='sometimes'"):
        run.save("*.pt", policy="sometimes")
    with pytest.raises(tracklet.UsageError, match="base_path"):
        run.save("a/*.pt", base_path="b")
    with pytest.warns(tracklet.TrackletWarning, match="matched no file"):
        assert run.save("nothing-here/*.pt") == []
    with pytest.warns(tracklet.TrackletWarning, match="URL"):
        assert run.save("s3://bucket/x.pt") == []
    run.finish()
    with pytest.raises(tracklet.UsageError, match="init"):
        wandb.save("*.pt")  # no run: as wandb, a call before init() is an error


def test_log_code_keeps_the_source_with_the_run(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "train.py").write_text("print('hi')\n")
    (tmp_path / "pkg" / "model.py").write_text("x = 1\n")
    (tmp_path / "config.yaml").write_text("lr: 1\n")
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("")
    (tmp_path / ".venv" / "lib" / "site.py").write_text("")
    (tmp_path / "wandb").mkdir()
    (tmp_path / "wandb" / "old.py").write_text("")
    run = wandb.init(project="code")
    art = run.log_code()
    assert art.type == "code" and art.name.startswith("source-code-")
    assert sorted(e.path for e in art.wait().files()) == ["pkg/model.py", "train.py"]
    only_yaml = run.log_code(".", name="cfg", include_fn=lambda path: path.endswith(".yaml"))
    assert [e.path for e in only_yaml.wait().files()] == ["config.yaml"]
    no_pkg = run.log_code(name="top", exclude_fn=lambda path, root: os.path.relpath(path, root).startswith("pkg"))
    assert "pkg/model.py" not in [e.path for e in no_pkg.wait().files()]
    with pytest.warns(tracklet.TrackletWarning, match="no source files"):
        assert run.log_code(include_fn=lambda p: False) is None
    run.finish()
    assert sorted(a.name for a in tracklet.Api().run(run.id).logged_artifacts()) == sorted([art.name, "cfg", "top"])


# -- alerts and preemption ---------------------------------------------------------------------------------
def test_alert_is_recorded_in_the_run_and_printed(capfd):
    run = wandb.init(project="alerts")
    wandb.alert(title="loss diverged", text="loss 1e9 at step 10", level=wandb.AlertLevel.WARN)
    run.alert("loss diverged", "again", level="WARN")  # within wait_duration (60 s): recorded, not printed again
    run.alert("done", "ok", wait_duration=datetime.timedelta(seconds=0))
    err = capfd.readouterr().err
    assert "tracklet: alert [WARN] loss diverged: loss 1e9 at step 10" in err and "again" not in err
    assert "[INFO] done: ok" in err
    with pytest.raises(tracklet.UsageError, match="level='LOUD'"):
        run.alert("x", "y", level="LOUD")
    with pytest.raises(tracklet.UsageError, match="wait_duration"):
        run.alert("x", "y", wait_duration="soon")
    run.finish()
    logs = tracklet.Api().run(run.id).logs()
    assert [(r["stream"], r["text"]) for r in logs if r["stream"] == "alert"] == [
        ("alert", "[WARN] loss diverged: loss 1e9 at step 10\n"),
        ("alert", "[WARN] loss diverged: again\n"),
        ("alert", "[INFO] done: ok\n"),
    ]
    assert not any("tracklet: alert" in r["text"] for r in logs)  # the printed line is not recorded twice


def test_mark_preempting_is_kept_and_the_log_is_on_disk():
    run = wandb.init(project="preempt")
    run.log({"loss": 1.0})
    wandb.mark_preempting()
    run.finish()
    logs = tracklet.Api().run(run.id).logs()
    assert [r["stream"] for r in logs if "mark_preempting" in r["text"]] == ["event"]


# -- artifacts and models from the module ------------------------------------------------------------------
def test_module_level_artifacts_and_models(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"weights")
    (tmp_path / "data.txt").write_text("rows")
    with pytest.raises(tracklet.UsageError, match="init"):
        wandb.log_model("model.pt")
    run = wandb.init(project="models")
    data = wandb.log_artifact("data.txt", name="data", type="dataset")
    model = wandb.log_model("model.pt", name="clf", aliases=["best"])
    default_named = wandb.log_model(str(tmp_path / "model.pt"))
    linked = wandb.link_model("model.pt", "classifier", aliases=["staging"])
    assert default_named.wait().name == f"run-{run.id}-model.pt"
    assert model.wait().type == "model" and "best" in model.aliases and linked.wait().type == "model"
    data.wait()
    run.finish()
    user = wandb.init(project="models")
    path = wandb.use_model("clf:best")
    with open(path, "rb") as f:
        assert f.read() == b"weights" and os.path.basename(path) == "model.pt"
    assert wandb.use_artifact("data:latest").type == "dataset"
    with pytest.raises(tracklet.UsageError, match="model artifacts"):
        wandb.use_model("data:latest")
    with pytest.raises(tracklet.UsageError, match="a name"):
        wandb.link_model("model.pt", "registry/classifier")
    user.finish()
    api = tracklet.Api()
    assert api.registered_model("classifier").aliases()["staging"] == "v0"
    assert {a.name for a in api.run(user.id).used_artifacts()} == {"clf", "data"}


# -- the run object ----------------------------------------------------------------------------------------
def test_tags_can_be_assigned_as_tuple_or_list():
    run = wandb.init(project="tags", tags=["a"])
    run.tags = run.tags + ("b",)
    run.tags = list(run.tags) + ["c"]
    assert run.tags == ("a", "b", "c")
    run.finish()
    assert tracklet.Api().run(run.id).tags == ["a", "b", "c"]


def test_tracklet_run_is_none_after_run_finish():
    run = wandb.init(project="p")
    assert wandb.run is run
    run.finish()
    assert wandb.run is None
    with pytest.raises(tracklet.UsageError):
        wandb.config["x"]


# -- the public API -----------------------------------------------------------------------------------------
def test_public_run_files_reads_back_what_the_run_saved(tmp_path):
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "a.pt").write_bytes(b"A")
    (tmp_path / "cfg.json").write_text("{}")
    run = wandb.init(project="files")
    run.save("ckpt/*.pt")
    run.save("cfg.json", policy="now")
    (tmp_path / "ckpt" / "a.pt").write_bytes(b"A2")
    run.finish()
    stored = wandb.Api().run(run.id)
    assert [f.name for f in stored.files()] == ["cfg.json", "ckpt/a.pt"]
    assert [f.name for f in stored.files(pattern="%.pt")] == ["ckpt/a.pt"]
    assert [f.name for f in stored.files(names=["cfg.json"])] == ["cfg.json"]
    f = stored.file("ckpt/a.pt")
    assert f.size == 2 and f.updated_at.endswith("Z")
    with f.download(root=str(tmp_path / "restored")) as fh:
        assert fh.read() == "A2"
    with pytest.raises(tracklet.UsageError, match="replace=True"):
        f.download(root=str(tmp_path / "restored"))
    f.download(root=str(tmp_path / "restored"), exist_ok=True).close()
    with pytest.raises(tracklet.UsageError, match="kept no file 'nope'"):
        stored.file("nope")


def _finished(project="api", **kw):
    run = wandb.init(project=project, **kw)
    run.log({"loss": 0.5})
    run.finish()
    return run


def test_public_run_update_keeps_the_changes():
    run = _finished(name="before", tags=["a"], config={"lr": 0.1, "drop": 0.2})
    api = wandb.Api()
    stored = api.run(f"api/{run.id}")
    stored.name = "after"
    stored.tags.append("reviewed")
    stored.notes = "looked at it"
    stored.config["lr"] = 0.2
    del stored.config["drop"]
    stored.summary["best"] = 0.9
    stored.update()
    again = wandb.Api().run(run.id)
    assert (again.name, again.tags, again.notes) == ("after", ["a", "reviewed"], "looked at it")
    assert again.config == {"lr": 0.2} and again.summary == {"loss": 0.5, "best": 0.9}
    assert again.summary_metrics == again.summary
    again.summary.update({"best": 0.95})  # wandb's summary.update() sets and keeps
    assert wandb.Api().run(run.id).summary_metrics["best"] == 0.95
    resumed = wandb.init(id=run.id, project="api", resume="allow")  # the run's own log holds the changes
    assert resumed.config["lr"] == 0.2 and resumed.name == "after"
    resumed.finish()
    assert wandb.Api().run(run.id).config == {"lr": 0.2}


def test_public_run_update_of_a_live_run_says_where_to_change_it():
    run = wandb.init(project="api")
    stored = wandb.Api().run(run.id)
    stored.tags = ["x"]
    with pytest.raises(tracklet.UsageError, match="still running"):
        stored.update()
    with pytest.raises(tracklet.UsageError, match="string"):
        stored.name = 42
    run.finish()


def test_projects_have_wandb_attributes():
    _finished(project="alpha")
    _finished(project="beta")
    _finished(project="beta")
    api = wandb.Api()
    assert [p.name for p in api.projects()] == ["alpha", "beta"]
    beta = api.project("beta")
    assert (beta.name, beta.entity, beta.path, beta.run_count) == ("beta", None, ["beta"], 2)
    assert beta.created_at.endswith("Z") and len(beta.runs()) == 2
    assert (beta["name"], beta["runs"]) == ("beta", 2)  # the dicts projects() gave before still read
    with pytest.raises(tracklet.UsageError, match="no project 'gamma'.*alpha, beta"):
        api.project("gamma")


def test_artifact_exists():
    run = wandb.init(project="arts")
    with open("f.txt", "w") as f:
        f.write("x")
    run.log_artifact("f.txt", name="thing", type="dataset").wait()
    run.finish()
    api = wandb.Api()
    assert api.artifact_exists("arts/thing:latest") and api.artifact_exists("arts/thing:v0")
    assert not api.artifact_exists("arts/thing:v1") and not api.artifact_exists("arts/other:latest")
    assert not api.artifact_exists("arts/thing:latest", type="model")
    with pytest.raises(tracklet.UsageError):
        api.artifact_exists("a/b/c/d:latest")


def test_runs_come_oldest_first_as_in_wandb():
    names = [_finished(project="order", name=f"r{i}").name for i in range(3)]
    api = wandb.Api()
    assert [r.name for r in api.runs("order")] == names
    assert [r.name for r in api.runs("order", order="-created_at")] == names[::-1]


# -- the service and terminal helpers wandb scripts call ----------------------------------------------------
def test_terminal_helpers_service_calls_error_and_util_as_wandb_has_them(capfd, monkeypatch):
    monkeypatch.setenv("TRACKLET_SILENT", "false")  # the suite's runs are silent
    wandb.require("service")  # wandb's multiprocess recipe: nothing to switch on here
    wandb.require(["core"])
    wandb.setup()
    run = wandb.init(project="compat")
    wandb.termlog("epoch 1 done")
    wandb.termwarn("lr is high")
    wandb.termerror("two\nlines")
    err = capfd.readouterr().err
    assert "tracklet: epoch 1 done\n" in err and "tracklet: WARNING lr is high\n" in err
    assert "tracklet: ERROR two\ntracklet: ERROR lines\n" in err
    monkeypatch.setenv("TRACKLET_SILENT", "true")
    wandb.termlog("hidden")
    wandb.termwarn("shown")
    err = capfd.readouterr().err
    assert "hidden" not in err and "tracklet: WARNING shown" in err
    wandb.teardown(exit_code=3)  # finishes the current run
    assert wandb.run is None and wandb.Api().run(run.id).state == "failed"
    with pytest.raises(wandb.Error):
        wandb.init(project="p", resume="sometimes")  # a UsageError: every tracklet error is a wandb.Error
    assert len(wandb.util.generate_id()) == 8
    with pytest.warns(tracklet.TrackletWarning, match="pass the settings to tracklet.init"):
        wandb.setup(settings=wandb.Settings(silent=True))
    with pytest.raises(tracklet.UsageError, match="feature names"):
        wandb.require(3)
