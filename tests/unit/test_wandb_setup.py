"""A wandb script's set-up calls work under `import tracklet as wandb`: wandb.Settings, wandb.login, wandb.errors."""

import pytest

import tracklet
import tracklet as wandb


def test_settings_object_is_accepted_by_init():
    run = wandb.init(project="s", settings=wandb.Settings(mode="offline", console="off", start_method="thread", _disable_stats=True))
    assert run.offline and run._settings.console == "off" and run._settings.system_interval == 0
    run.finish()
    run = wandb.init(project="s", mode="disabled", settings=wandb.Settings(mode="offline"))  # an argument wins
    assert run.disabled
    run.finish()
    run = wandb.init(settings={"project": "from-dict", "run_tags": ("x",), "run_name": "n"})
    assert (run.project, run.tags, run.name) == ("from-dict", ("x",), "n")
    run.finish()
    settings = wandb.Settings(silent=True)
    assert settings.silent is True and settings.init_timeout is None and settings.start_method is None


def test_bad_settings_raise_at_the_settings_call():
    with pytest.raises(tracklet.UsageError, match=r"Settings\(mode='cloud'\)"):
        wandb.Settings(mode="cloud")
    with pytest.raises(tracklet.UsageError, match="settings=.*tracklet.Settings"):
        wandb.init(settings="offline")


def test_login_is_a_local_no_op():
    assert wandb.login() is True
    assert wandb.login(key="abc123", relogin=True, host="https://api.wandb.ai", anonymous="never", timeout=5) is True
    with pytest.raises(tracklet.UsageError, match="key"):
        wandb.login(key=1234)


def test_errors_module_has_wandb_names_on_tracklets_tree():
    from tracklet import errors

    assert errors.Error is tracklet.TrackletError and errors.UsageError is tracklet.UsageError
    assert issubclass(errors.CommError, errors.Error) and errors.CommError is tracklet.StoreError
    assert issubclass(errors.AuthenticationError, errors.CommError)
    assert issubclass(errors.UnsupportedError, errors.UsageError)
    with pytest.raises(wandb.errors.UsageError):
        wandb.init(mode="cloud")
    with pytest.raises(wandb.errors.Error):
        wandb.Api().run("no-such-run")
