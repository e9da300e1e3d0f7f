"""Integrations in remote mode, unchanged: a Trainer with report_to="tracklet" logs to a server.

The server is tests/contract_server.py (the log routes of docs/http-api.md) until `tracklet server`
lands; what it holds is then stored with `tracklet sync` and read back with Api.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from contract_server import ContractServer
from helpers import run_python
from tiny import FRAMEWORK_WARNINGS, steps

import tracklet

pytestmark = FRAMEWORK_WARNINGS
pytest.importorskip("transformers")
KEY = "tlk_frameworks_key_0123456789"


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
    with ContractServer(key=KEY, folder=folder) as srv:
        out = run_python(script, cwd=str(workdir), timeout=180,
                         env={"TRACKLET_BASE_URL": srv.url, "TRACKLET_API_KEY": KEY, "TRACKLET_SILENT": "false"})
        assert out.returncode == 0, out.stderr[-3000:]
        assert f"-> {srv.url} (remote" in out.stderr
        (run_id,) = list(srv.logs)
        local = os.path.join(os.environ["TRACKLET_DIR"], "runs", run_id, "run.tlog")
        with open(local, "rb") as f:
            assert srv.held(run_id) == f.read()  # all of it, nothing twice
    store = str(tmp_path / "read-back")
    synced = subprocess.run([sys.executable, "-m", "tracklet", "sync", folder, "--dir", store], capture_output=True, text=True)
    assert synced.returncode == 0, synced.stderr
    (run,) = tracklet.Api(dir=store).runs("huggingface")
    assert run.name == "remote-trainer" and run.state == "finished"
    assert steps(run, "train/loss") == [2, 4]
