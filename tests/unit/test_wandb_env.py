"""A wandb script's WANDB_* variables work under `import tracklet as wandb`, below the TRACKLET_* ones:
argument > TRACKLET_* > WANDB_* > settings file > default."""

import os

import pytest

import tracklet
import tracklet as wandb
from tracklet.cli import main
from tracklet._settings import resolve_settings


def test_wandb_mode_disabled_records_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_MODE", "disabled")  # the usual test/CI switch of a wandb script
    run = wandb.init(project="ci", config={"lr": 0.1})
    run.log({"loss": 0.5})
    wandb.log({"loss": 0.4})
    run.finish()
    assert run.disabled and run.dir is None
    assert not os.path.exists(os.environ["TRACKLET_DIR"])  # no store, no run folder
    assert resolve_settings({}).sources["mode"] == "WANDB_MODE"


@pytest.mark.parametrize(
    "value, mode",
    [("online", "local"), ("run", "local"), ("shared", "local"), ("offline", "offline"), ("dryrun", "offline"),
     ("disabled", "disabled"), ("OFFLINE", "offline")],
)
def test_wandb_mode_values_map_onto_tracklet_modes(monkeypatch, value, mode):
    monkeypatch.setenv("WANDB_MODE", value)
    assert resolve_settings({}).mode == mode


def test_wandb_variables_configure_a_run(monkeypatch):
    wandb_env = {
        "WANDB_PROJECT": "wproj", "WANDB_ENTITY": "team", "WANDB_NAME": "wname", "WANDB_RUN_ID": "wid00001",
        "WANDB_TAGS": "a,b", "WANDB_NOTES": "some notes", "WANDB_RUN_GROUP": "g1", "WANDB_JOB_TYPE": "train",
        "WANDB_CONSOLE": "off", "WANDB_RESUME": "allow",
    }
    for k, v in wandb_env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("TRACKLET_SILENT")
    monkeypatch.setenv("WANDB_SILENT", "true")
    s = resolve_settings({})
    assert s.sources == {**s.sources, "project": "WANDB_PROJECT", "entity": "WANDB_ENTITY", "name": "WANDB_NAME",
                         "id": "WANDB_RUN_ID", "tags": "WANDB_TAGS", "notes": "WANDB_NOTES", "group": "WANDB_RUN_GROUP",
                         "job_type": "WANDB_JOB_TYPE", "console": "WANDB_CONSOLE", "silent": "WANDB_SILENT",
                         "resume": "WANDB_RESUME"}
    run = wandb.init()
    assert (run.project, run.entity, run.name, run.id, run.tags) == ("wproj", "team", "wname", "wid00001", ("a", "b"))
    assert (run.notes, run.group, run.job_type, run._settings.silent, run._settings.console) == ("some notes", "g1", "train", True, "off")
    run.finish()
    stored = tracklet.Api().run("team/wproj/wid00001")
    assert (stored.name, stored.tags, stored.group, stored.job_type) == ("wname", ["a", "b"], "g1", "train")


def test_tracklet_variables_win_over_wandb_ones_and_wandb_over_the_file(monkeypatch, tmp_path):
    ini = tmp_path / "settings.ini"
    ini.write_text("[default]\nproject = from-file\n")
    monkeypatch.setenv("TRACKLET_CONFIG_FILE", str(ini))
    assert resolve_settings({}).project == "from-file"
    monkeypatch.setenv("WANDB_PROJECT", "from-wandb")
    assert (resolve_settings({}).project, resolve_settings({}).sources["project"]) == ("from-wandb", "WANDB_PROJECT")
    monkeypatch.setenv("TRACKLET_PROJECT", "from-tracklet")
    assert (resolve_settings({}).project, resolve_settings({}).sources["project"]) == ("from-tracklet", "TRACKLET_PROJECT")
    assert resolve_settings({"project": "from-arg"}).sources["project"] == "argument"


def test_wandb_dir_holds_the_store_in_its_tracklet_runs_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("TRACKLET_DIR")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "scratch"))
    s = resolve_settings({})
    assert (s.dir, s.sources["dir"]) == (str(tmp_path / "scratch" / "tracklet-runs"), "WANDB_DIR")
    run = wandb.init(project="p")
    run.finish()
    assert run.dir.startswith(str(tmp_path / "scratch" / "tracklet-runs"))
    monkeypatch.setenv("TRACKLET_DIR", str(tmp_path / "mine"))  # TRACKLET_DIR names the store itself, and wins
    assert resolve_settings({}).dir == str(tmp_path / "mine")


def test_bad_wandb_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "cloud")
    with pytest.raises(tracklet.UsageError, match="WANDB_MODE"):
        wandb.init()
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setenv("WANDB_RESUME", "sometimes")
    with pytest.raises(tracklet.UsageError, match="WANDB_RESUME.*allow, must, never, auto"):
        wandb.init()


def test_wandb_resume_auto_continues_the_run_that_did_not_end_well(monkeypatch):
    monkeypatch.setenv("WANDB_RESUME", "auto")
    first = wandb.init(project="auto")
    first.log({"loss": 1.0})
    first.finish(exit_code=1)  # e.g. preempted or crashed: the next start continues it
    second = wandb.init(project="auto")
    assert second.id == first.id and second.step == 1
    second.log({"loss": 0.5})
    second.finish()  # ended well: the next start is a new run
    third = wandb.init(project="auto")
    assert third.id != first.id
    third.finish()
    assert [r.last_step for r in tracklet.Api().runs("auto", order="+created_at")] == [1, None]


def test_integrations_read_wandb_log_model_and_watch_below_tracklet_ones(monkeypatch):
    from tracklet.integrations._common import log_model_setting, watch_setting

    monkeypatch.setenv("WANDB_LOG_MODEL", "checkpoint")
    monkeypatch.setenv("WANDB_WATCH", "all")
    assert (log_model_setting(), watch_setting()) == ("checkpoint", "all")
    monkeypatch.setenv("WANDB_LOG_MODEL", "true")  # wandb's older spelling of "end"
    assert log_model_setting() == "end"
    monkeypatch.setenv("TRACKLET_LOG_MODEL", "false")
    monkeypatch.setenv("TRACKLET_WATCH", "gradients")
    assert (log_model_setting(), watch_setting()) == ("false", "gradients")
    monkeypatch.delenv("TRACKLET_WATCH")
    monkeypatch.setenv("WANDB_WATCH", "weights")
    with pytest.raises(tracklet.UsageError, match="WANDB_WATCH='weights'"):
        watch_setting()


def test_doctor_shows_the_wandb_variables_and_which_won(monkeypatch, capsys):
    monkeypatch.setenv("WANDB_PROJECT", "wproj")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("TRACKLET_MODE", "local")
    monkeypatch.setenv("WANDB_API_KEY", "secret-key-123")
    monkeypatch.setenv("WANDB_LOG_MODEL", "end")
    main(["doctor"])
    out = capsys.readouterr().out
    assert "wproj" in out and "WANDB_PROJECT" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip().startswith("WANDB_")}
    assert lines["WANDB_PROJECT"].endswith("used")
    assert "TRACKLET_MODE is set" in lines["WANDB_MODE"]
    assert "ignored" in lines["WANDB_API_KEY"] and "secret-key-123" not in out
    assert "integrations" in lines["WANDB_LOG_MODEL"]
