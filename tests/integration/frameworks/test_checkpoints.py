"""Checkpoints as model artifacts: versions, aliases (latest, step-N, best, final), metric metadata,
lineage through the run, and checkpoints deleted by rotation right after they were saved."""

from __future__ import annotations

import os

import pytest
from tiny import FRAMEWORK_WARNINGS, hf_trainer, lightning_module, lightning_namespace, lightning_trainer, only_run, regression_data

import tracklet

pytestmark = [FRAMEWORK_WARNINGS, pytest.mark.skipif(not hasattr(tracklet, "Artifact"), reason="needs tracklet.Artifact")]


def versions(run):
    arts = sorted((a for a in run.logged_artifacts() if a.type == "model"), key=lambda a: a.version)
    assert arts and all(a.name == f"model-{run.id}" for a in arts)
    return arts


def aliases_of(arts):
    return {a.version: set(a.aliases) for a in arts}


def test_hf_checkpoints_with_rotation_and_final_model(workdir, monkeypatch):
    pytest.importorskip("transformers")
    monkeypatch.setenv("TRACKLET_LOG_MODEL", "checkpoint")
    # a dataset the run used: lineage must lead from it through the run to the model
    data_file = workdir / "train.txt"
    data_file.write_text("tokens\n")
    user_run = tracklet.init(project="hf-ckpt")
    dataset = tracklet.Artifact("tokens", type="dataset")
    dataset.add_file(str(data_file))
    user_run.use_artifact(dataset)

    out = workdir / "out"
    hf_trainer(out, report_to="tracklet", save_strategy="steps", save_steps=5, save_total_limit=1, learning_rate=5e-3).train()
    user_run.finish()

    run = only_run("hf-ckpt")
    arts = versions(run)
    assert len(arts) == 3  # checkpoint-5, checkpoint-10 (checkpoint-5 was rotated away after it), final model
    by_version = aliases_of(arts)
    first, second, final = arts
    assert {"step-5"} <= by_version[first.version]
    assert {"latest", "final"} <= by_version[final.version]
    assert "step-10" in by_version[second.version]
    assert not os.path.exists(out / "checkpoint-5")  # rotated: the artifact still holds it
    assert any(f.path == "model.safetensors" for f in first.files())
    assert {"trainer_state.json", "optimizer.pt"} <= {f.path for f in second.files()}
    assert {"model.safetensors", "config.json"} <= {f.path for f in final.files()}
    assert not [p for p in os.listdir(out) if p.startswith(".tracklet-")]  # staging folders are gone

    # best follows the lowest eval loss, and each version carries the metric values
    losses = {a.version: a.metadata["eval/loss"] for a in (first, second)}
    best = min(losses, key=losses.get)
    assert [v for v, al in by_version.items() if "best" in al] == [best]
    assert first.metadata["global_step"] == 5 and "train/loss" in first.metadata

    # lineage: dataset -> run -> model versions
    api = tracklet.Api()
    model = api.artifact(f"hf-ckpt/model-{run.id}:latest")
    assert model.logged_by().id == run.id
    assert [a.name for a in run.used_artifacts()] == ["tokens"]
    downloaded = model.download(str(workdir / "dl"))
    assert os.path.isfile(os.path.join(downloaded, "model.safetensors"))


def test_hf_log_model_end_logs_only_the_final_model(workdir, monkeypatch):
    pytest.importorskip("transformers")
    monkeypatch.setenv("TRACKLET_LOG_MODEL", "end")
    hf_trainer(workdir / "out", report_to="tracklet", save_strategy="steps", save_steps=5).train()
    (art,) = versions(only_run())
    assert {"latest", "final", "step-10"} <= set(art.aliases)


@pytest.mark.parametrize("ns", ["lightning", "pytorch_lightning"])
@pytest.mark.parametrize("log_model", ["all", True])
def test_lightning_checkpoints(ns, log_model, workdir, monkeypatch):
    L, TrackletLogger = lightning_namespace(ns)
    if ns == "lightning":  # the argument; TRACKLET_LOG_MODEL for the other namespace
        logger = TrackletLogger(project="pl-ckpt", log_model=log_model)
    else:
        monkeypatch.setenv("TRACKLET_LOG_MODEL", "checkpoint" if log_model == "all" else "end")
        logger = TrackletLogger(project="pl-ckpt")
    checkpoint = L.callbacks.ModelCheckpoint(monitor="val_loss", save_top_k=1, save_last=True, every_n_epochs=1)
    trainer = lightning_trainer(L, logger, workdir, callbacks=[checkpoint], max_epochs=3)
    trainer.fit(lightning_module(L)(), regression_data(), regression_data(16))
    logger.finish()

    run = only_run("pl-ckpt")
    arts = versions(run)
    by_version = aliases_of(arts)
    (best,) = [a for a in arts if "best" in a.aliases]
    assert best.metadata["monitor"] == "val_loss"
    assert best.metadata["score"] == pytest.approx(run.summary["checkpoint/best_score"])
    assert best.metadata["val_loss"] == min(a.metadata["val_loss"] for a in arts)
    assert [f.path for f in best.files()] == ["model.ckpt"]
    assert "latest" in by_version[arts[-1].version]
    step_aliases = {a for al in by_version.values() for a in al if a.startswith("step-")}
    # every epoch end saved a checkpoint; with "all" each was recorded as it was saved, with True
    # only the kept ones (best, last) at the end
    assert step_aliases == ({"step-5", "step-10", "step-15"} if log_model == "all" else {"step-15"})
    assert not [p for p in os.listdir(checkpoint.dirpath) if p.startswith(".tracklet-")]
