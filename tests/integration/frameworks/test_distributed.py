"""Two real processes (torchrun, gloo on CPU) running Accelerate, the HF Trainer and Lightning DDP:
each framework leaves exactly one run, recorded by the main process only."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from tiny import steps

import tracklet

pytest.importorskip("transformers")
pytest.importorskip("accelerate")
pytest.importorskip("lightning")

SCRIPT = textwrap.dedent(
    """
    import os
    import torch

    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])

    # Accelerate by name, with no tracklet import: the start-up hook registered it (by name from 1.15;
    # before that, "all" is how a script names no tracker and still gets tracklet)
    import accelerate.tracking
    from accelerate import Accelerator

    by_name = hasattr(accelerate.tracking, "register_tracker_class")
    accelerator = Accelerator(log_with="tracklet" if by_name else "all", project_dir="acc-out", cpu=True)
    accelerator.init_trackers("dist-accelerate", config={"world": accelerator.num_processes})
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model, optimizer = accelerator.prepare(model, optimizer)
    for step in range(3):
        loss = model(torch.randn(8, 4)).pow(2).mean()
        accelerator.backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        accelerator.log({"train/loss": loss.item(), "rank": rank}, step=step)
    for tracker in accelerator.trackers:  # end_training() would also end the process group the others need
        tracker.finish()

    # Hugging Face Trainer, report_to="tracklet"
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

    class Tokens(torch.utils.data.Dataset):
        def __len__(self):
            return 32

        def __getitem__(self, i):
            ids = torch.randint(0, 100, (16,), generator=torch.Generator().manual_seed(i))
            return {"input_ids": ids, "labels": ids}

    args = TrainingArguments(output_dir="out", report_to="tracklet", run_name="dist-hf", max_steps=4, logging_steps=2,
                             per_device_train_batch_size=4, save_strategy="no", use_cpu=True, disable_tqdm=True,
                             ddp_backend="gloo")
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=100, n_positions=32))
    Trainer(model=gpt2, args=args, train_dataset=Tokens()).train()

    # Lightning DDP
    import lightning.pytorch as L
    from tracklet.integrations.lightning import TrackletLogger

    class Linear(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(4, 1)

        def training_step(self, batch, i):
            loss = self.net(batch[0]).pow(2).mean()
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(32, 4)), batch_size=4)
    logger = TrackletLogger(project="dist-lightning")
    trainer = L.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_epochs=1, logger=logger, log_every_n_steps=1,
                        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    trainer.fit(Linear(), data)
    with open(f"rank{rank}.txt", "w") as f:
        f.write(f"lightning experiment: {type(logger.experiment).__name__}")
    logger.finish()

    # without this, gloo's threads sometimes abort a process at exit (about 1 run in 8 here:
    # "terminate called without an active exception", exit code -6)
    torch.distributed.destroy_process_group()
    """
)


def test_only_the_main_process_records(workdir, tmp_path):
    (workdir / "train.py").write_text(SCRIPT)
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    out = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node=2", "train.py"],
        cwd=workdir, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert out.returncode == 0, out.stderr[-4000:]
    assert (workdir / "rank0.txt").read_text() == "lightning experiment: Run"
    assert (workdir / "rank1.txt").read_text() == "lightning experiment: _DummyExperiment"  # Lightning's no-op

    runs = {r.project: r for r in tracklet.Api().runs()}
    assert set(runs) == {"dist-accelerate", "huggingface", "dist-lightning"}  # one run each, not one per process
    assert all(r.state == "finished" for r in runs.values())
    acc = runs["dist-accelerate"]
    assert acc.config == {"world": 2}
    assert [row["rank"] for row in acc.scan_history(keys=["rank"])] == [0, 0, 0]
    assert runs["huggingface"].name == "dist-hf" and steps(runs["huggingface"], "train/loss") == [2, 4]
    assert steps(runs["dist-lightning"], "train_loss") == list(range(4))  # 32 samples / 2 processes / batch 4
    assert steps(runs["dist-lightning"], "train/grad_norm") == list(range(4))
