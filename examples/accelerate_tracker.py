"""Train a tiny regressor with Accelerate, recorded by tracklet: `log_with="tracklet"`, plus one line
(`tracker.watch(...)`) that records the learning rate of each parameter group and the gradient norm
at every optimizer step.

Run with:  python examples/accelerate_tracker.py   (about two seconds on a CPU; data goes to ./tracklet-runs or TRACKLET_DIR)
"""

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
torch.set_num_threads(1)

accelerator = Accelerator(log_with="tracklet", cpu=True)  # registered by tracklet at start-up (accelerate 1.15+)
config = {"lr": 0.05, "epochs": 3, "batch_size": 64}
accelerator.init_trackers("accelerate-demo", config=config, init_kwargs={"tracklet": {"tags": ["example"]}})

x = torch.linspace(-3, 3, 2048).unsqueeze(1)
data = DataLoader(TensorDataset(x, torch.sin(x)), batch_size=config["batch_size"], shuffle=True)
model = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
groups = [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": config["lr"] / 10}]
optimizer = torch.optim.AdamW(groups, lr=config["lr"])
scheduler = torch.optim.lr_scheduler.OneCycleLR(
    optimizer, max_lr=[config["lr"], config["lr"] / 10], total_steps=config["epochs"] * len(data)
)
model, optimizer, data, scheduler = accelerator.prepare(model, optimizer, data, scheduler)

accelerator.get_tracker("tracklet").watch(optimizer, accelerator=accelerator)  # lr per group + grad norm, every step

step = 0
for epoch in range(config["epochs"]):
    for xb, yb in data:
        loss = torch.nn.functional.mse_loss(model(xb), yb)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        accelerator.log({"train/loss": loss.item(), "epoch": epoch}, step=step)
        step += 1

run = accelerator.get_tracker("tracklet", unwrap=True)
accelerator.end_training()

import tracklet  # noqa: E402  (only to show what was recorded)

stored = tracklet.Api().run(run.path)
print(f"\nrecorded {stored.name}: {stored.last_step + 1} steps, config {stored.config}")
print({k: round(v, 5) for k, v in stored.summary.items() if k.startswith("train/")})
