"""Settings resolve from arguments, then TRACKLET_* variables, then the settings file, then defaults."""

import os

import pytest

import tracklet
from tracklet._settings import is_silent, resolve_settings


def test_precedence(tmp_path, monkeypatch):
    ini = tmp_path / "settings.ini"
    ini.write_text("[default]\nproject = from-file\nmode = offline\ntags = a, b\n")
    monkeypatch.setenv("TRACKLET_CONFIG_FILE", str(ini))
    s = resolve_settings({})
    assert (s.project, s.mode, s.tags) == ("from-file", "offline", ("a", "b"))
    assert s.sources["project"] == str(ini)
    monkeypatch.setenv("TRACKLET_PROJECT", "from-env")
    assert resolve_settings({}).project == "from-env"
    assert resolve_settings({"project": "from-arg"}).project == "from-arg"
    assert resolve_settings({}).name is None


def test_is_silent_reads_the_silent_setting_and_counts_bad_settings_as_not_silent(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKLET_SILENT", "true")  # the suite's own value
    assert is_silent() is True
    monkeypatch.setenv("TRACKLET_SILENT", "false")
    assert is_silent() is False
    monkeypatch.delenv("TRACKLET_SILENT")
    assert is_silent() is False  # the default
    monkeypatch.setenv("WANDB_SILENT", "1")  # a wandb script's variable
    assert is_silent() is True
    monkeypatch.delenv("WANDB_SILENT")
    ini = tmp_path / "settings.ini"
    ini.write_text("[default]\nsilent = yes\n")
    monkeypatch.setenv("TRACKLET_CONFIG_FILE", str(ini))
    assert is_silent() is True
    assert is_silent(environ={"TRACKLET_SILENT": "off"}) is False  # an environment given replaces os.environ's
    # settings that do not resolve: init() says what is wrong; a log line is not held back nor raises
    monkeypatch.setenv("TRACKLET_SILENT", "maybe")
    assert is_silent() is False
    monkeypatch.setenv("TRACKLET_SILENT", "true")
    monkeypatch.setenv("TRACKLET_MODE", "cloud")
    with pytest.raises(tracklet.UsageError):
        resolve_settings()
    assert is_silent() is False


def test_entity_in_project_and_resume_forms():
    s = resolve_settings({"project": "team/proj", "resume": True})
    assert (s.entity, s.project, s.resume) == ("team", "proj", "allow")
    assert resolve_settings({"resume": "MUST"}).resume == "must"


@pytest.mark.parametrize(
    "args, match",
    [({"mode": "cloud"}, "not one of local, offline, remote, disabled"), ({"resume": "maybe"}, "allow, must, never"),
     ({"project": "a/b/c"}, "entity/name"), ({"console": "x"}, "auto, wrap, off")],
)
def test_bad_settings_name_the_choices(args, match):
    with pytest.raises(tracklet.UsageError, match=match):
        resolve_settings(args)


def test_environment_configures_init(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKLET_PROJECT", "envproj")
    monkeypatch.setenv("TRACKLET_RUN_NAME", "envname")
    monkeypatch.setenv("TRACKLET_TAGS", "x,y")
    monkeypatch.setenv("TRACKLET_DIR", str(tmp_path / "elsewhere"))
    run = tracklet.init()
    assert (run.project, run.name, run.tags) == ("envproj", "envname", ("x", "y"))
    assert run.dir.startswith(str(tmp_path / "elsewhere"))
    run.finish()
    r = tracklet.Api(dir=str(tmp_path / "elsewhere")).run(run.id)
    assert r.tags == ["x", "y"] and r.project == "envproj"


def test_default_dir_is_tracklet_runs_in_the_working_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("TRACKLET_DIR")
    monkeypatch.chdir(tmp_path)
    assert resolve_settings({}).dir == os.path.join(str(tmp_path), "tracklet-runs")
    (tmp_path / "tracklet").mkdir()  # a folder of that name that is not a store (a package, say) is left alone
    (tmp_path / "tracklet" / "runs").mkdir()
    (tmp_path / "tracklet" / "__init__.py").write_text("")
    assert resolve_settings({}).dir == os.path.join(str(tmp_path), "tracklet-runs")
    os.remove(tmp_path / "tracklet" / "__init__.py")  # a store an earlier tracklet made there is used where it is
    assert resolve_settings({}).dir == os.path.join(str(tmp_path), "tracklet")
    (tmp_path / "tracklet-runs").mkdir()  # unless the new default exists too
    assert resolve_settings({}).dir == os.path.join(str(tmp_path), "tracklet-runs")


def test_settings_copy_as_themselves_and_pickle_with_their_values():
    import copy
    import pickle

    s = resolve_settings({"project": "p", "tags": ["a"]})
    assert copy.copy(s) is s and copy.deepcopy(s) is s
    back = pickle.loads(pickle.dumps(s))
    assert repr(back) == repr(s) and back.sources == s.sources


def test_a_live_run_copies_as_itself_and_refuses_pickling_with_the_way_to_continue_it():
    import copy
    import pickle

    import pytest

    run = tracklet.init(project="p")
    assert copy.copy(run) is run and copy.deepcopy({"r": run})["r"] is run
    with pytest.raises(TypeError, match=r"tracklet.init\(id='.*', resume='allow'\)"):
        pickle.dumps(run)
    run.finish()
