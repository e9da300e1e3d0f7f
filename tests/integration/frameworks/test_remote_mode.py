"""Integrations in remote mode, unchanged: a Trainer with report_to="tracklet" logs to a server.

The server is a real `tracklet server` process; what it stored is read back with Api(base_url=...).
"""

from __future__ import annotations

import os
import textwrap

import pytest
from helpers import run_python
from server_process import ServerProcess
from tiny import FRAMEWORK_WARNINGS, steps

import tracklet

pytestmark = FRAMEWORK_WARNINGS
pytest.importorskip("transformers")


def test_trainer_report_to_tracklet_logs_to_the_server(workdir, tmp_path):
    script = textwrap.dedent(
        """
        import torch
        torch.set_num_threads(1)
        from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

        class Tokens(torch.utils.data.Dataset):
            def __len__(self):
                return 32
            def __getitem__(self, i):
                ids = torch.randint(0, 100, (16,), generator=torch.Generator().manual_seed(i))
                return {"input_ids": ids, "labels": ids}

        model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=100, n_positions=32))
        args = TrainingArguments(output_dir="out", run_name="remote-trainer", report_to="tracklet", max_steps=4,
                                 logging_steps=2, per_device_train_batch_size=8, save_strategy="no",
                                 use_cpu=True, disable_tqdm=True)
        Trainer(model=model, args=args, train_dataset=Tokens()).train()
        """
    )
    folder = str(tmp_path / "server")
    os.makedirs(folder)
    with ServerProcess(folder, key=True) as srv:
        out = run_python(script, cwd=str(workdir), timeout=180,
                         env={"TRACKLET_BASE_URL": srv.url, "TRACKLET_API_KEY": srv.key, "TRACKLET_SILENT": "false"})
        assert out.returncode == 0, out.stderr[-3000:]
        assert f"-> {srv.url} (remote" in out.stderr
        (run,) = tracklet.Api(base_url=srv.url, api_key=srv.key).runs("huggingface")
        local = os.path.join(os.environ["TRACKLET_DIR"], "runs", run.id, "run.tlog")
        with open(local, "rb") as f, open(os.path.join(folder, "runs", run.id, "run.tlog"), "rb") as g:
            assert g.read() == f.read()  # all of it, nothing twice
        assert run.name == "remote-trainer" and run.state == "finished"
        assert steps(run, "train/loss") == [2, 4]
