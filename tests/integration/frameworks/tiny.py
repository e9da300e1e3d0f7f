"""Tiny models, data and training runs for the framework tests (seconds each on one CPU thread)."""

from __future__ import annotations

import json
from importlib.metadata import version

import pytest
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

import tracklet

# The frameworks' own warnings (deprecations inside them, "few dataloader workers"...) are not what
# these tests are about; tracklet's warnings stay errors.
FRAMEWORK_WARNINGS = pytest.mark.filterwarnings(
    "ignore::Warning:transformers",
    "ignore::Warning:transformers.*",
    "ignore::Warning:lightning.*",
    "ignore::Warning:pytorch_lightning.*",
    "ignore::Warning:lightning_fabric.*",
    "ignore::Warning:lightning_utilities.*",
    "ignore::Warning:accelerate.*",
    "ignore::Warning:peft.*",
    "ignore::Warning:torch.*",
    "ignore::Warning:tensorboardX.*",
    "ignore::DeprecationWarning",
    "error::tracklet.TrackletWarning",
)

VOCAB, SEQ = 1000, 32


def major(package: str) -> int:
    return int(version(package).split(".")[0])


# -- Hugging Face --------------------------------------------------------------------------------------
class Tokens(Dataset):
    """Random token sequences, the same for every index on every run."""

    def __init__(self, n: int = 64) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        ids = torch.randint(0, VOCAB, (SEQ,), generator=torch.Generator().manual_seed(i))
        return {"input_ids": ids, "labels": ids}


def tiny_gpt2(lora: bool = False):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=VOCAB, n_positions=64, bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(config)
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(
            model, LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True, task_type="CAUSAL_LM")
        )
    return model


def hf_args(output_dir, **overrides):
    from transformers import TrainingArguments

    values = dict(
        output_dir=str(output_dir),
        max_steps=10,
        logging_steps=5,
        per_device_train_batch_size=8,
        per_device_eval_batch_size=8,
        eval_strategy="steps",
        eval_steps=5,
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
        report_to="none",
        dataloader_num_workers=0,
        seed=0,
    )
    values.update(overrides)
    return TrainingArguments(**values)


def hf_trainer(output_dir, model=None, callbacks=None, **overrides):
    from transformers import Trainer

    return Trainer(
        model=model if model is not None else tiny_gpt2(),
        args=hf_args(output_dir, **overrides),
        train_dataset=Tokens(),
        eval_dataset=Tokens(16),
        callbacks=callbacks,
    )


# -- Lightning ------------------------------------------------------------------------------------------
def lightning_namespace(name: str):
    """``lightning.pytorch`` or ``pytorch_lightning`` and tracklet's logger for it (skips if not installed)."""
    if name == "lightning":
        L = pytest.importorskip("lightning.pytorch")
        from tracklet.integrations.lightning import TrackletLogger
    else:
        L = pytest.importorskip("pytorch_lightning")
        from tracklet.integrations.pytorch_lightning import TrackletLogger
    return L, TrackletLogger


def lightning_module(L):
    class Regressor(L.LightningModule):
        def __init__(self, lr: float = 0.05, hidden: int = 8) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))

        def forward(self, x):
            return self.net(x)

        def _loss(self, batch):
            x, y = batch
            return torch.nn.functional.mse_loss(self(x), y)

        def training_step(self, batch, i):
            loss = self._loss(batch)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, i):
            self.log("val_loss", self._loss(batch))

        def test_step(self, batch, i):
            self.log("test_loss", self._loss(batch))

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=self.hparams.lr)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": torch.optim.lr_scheduler.StepLR(opt, 4, 0.5), "interval": "step"}}

    return Regressor


def regression_data(n: int = 40, batch_size: int = 8) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=batch_size)


def lightning_trainer(L, logger, root, **overrides):
    values = dict(
        max_epochs=2,
        logger=logger,
        log_every_n_steps=2,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
        default_root_dir=str(root),
    )
    values.update(overrides)
    return L.Trainer(**values)


# -- reading back ---------------------------------------------------------------------------------------
def only_run(project: str | None = None) -> tracklet.ApiRun:
    runs = tracklet.Api().runs(project)
    assert len(runs) == 1, [(r.project, r.name) for r in runs]
    return runs[0]


def history(run: tracklet.ApiRun, key: str) -> list[tuple[int, float]]:
    return [(row["_step"], row[key]) for row in run.scan_history(keys=[key])]


def steps(run: tracklet.ApiRun, key: str) -> list[int]:
    return [s for s, _ in history(run, key)]


def json_safe(value) -> bool:
    json.dumps(value, allow_nan=True)
    return True
