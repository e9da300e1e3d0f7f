"""Train a tiny regressor with Lightning, recorded by tracklet's logger: hyperparameters, metrics,
learning rate and gradient norm (no callback needed for those), and checkpoints as model artifacts.

Run with:  python examples/lightning_logger.py   (a few seconds on a CPU; data goes to ./tracklet-runs or TRACKLET_DIR)
"""

import tempfile

import lightning.pytorch as L
import torch
from torch.utils.data import DataLoader, TensorDataset

import tracklet
from tracklet.integrations.lightning import TrackletLogger

torch.manual_seed(0)
torch.set_num_threads(1)


class Regressor(L.LightningModule):
    def __init__(self, hidden: int = 32, lr: float = 0.05):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(1, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))

    def step(self, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def training_step(self, batch, i):
        loss = self.step(batch)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, i):
        self.log("val/loss", self.step(batch))

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(opt, 150), "interval": "step"}}


x = torch.linspace(-3, 3, 1024).unsqueeze(1)
y = torch.sin(x) + 0.1 * torch.randn_like(x)
perm = torch.randperm(len(x))
train = DataLoader(TensorDataset(x[perm[:896]], y[perm[:896]]), batch_size=32, shuffle=True)
val = DataLoader(TensorDataset(x[perm[896:]], y[perm[896:]]), batch_size=128)

scratch = tempfile.TemporaryDirectory(prefix="lightning-demo-")  # checkpoints (stored as artifacts): removed at the end
# log_model=True: the best and last checkpoints, at the end. save_dir: where Lightning writes them
# (<save_dir>/<project>/<run id>/checkpoints; default the working folder); the run itself is in the store.
logger = TrackletLogger(project="lightning-demo", log_model=True, save_dir=scratch.name)
checkpoint = L.callbacks.ModelCheckpoint(monitor="val/loss", save_top_k=1, save_last=True)
trainer = L.Trainer(max_epochs=5, logger=logger, callbacks=[checkpoint], log_every_n_steps=10,
                    enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
trainer.fit(Regressor(), train, val)
logger.finish()  # the checkpoints are in the store now
scratch.cleanup()

run = tracklet.Api().run(f"lightning-demo/{logger.version}")
print(f"\nrecorded {run.name}: config {run.config}")
print(f"best val/loss {run.summary['checkpoint/best_score']:.4f}; last lr {run.summary['train/learning_rate']:.2e}; "
      f"model versions: {[(a.version, a.aliases) for a in run.logged_artifacts()]}")
