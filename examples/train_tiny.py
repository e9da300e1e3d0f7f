"""Train a tiny PyTorch model on the CPU while tracklet records it; then read the run back.

Run with:  python examples/train_tiny.py   (about two seconds; data goes to ./tracklet-runs or TRACKLET_DIR)
"""

import math

import torch

import tracklet

config = {"hidden": 32, "learning_rate": 3e-2, "epochs": 5, "batch_size": 64, "seed": 0}
run = tracklet.init(project="tiny-regression", config=config, tags=["example", "cpu"])
run.define_metric("val/loss", summary="min", goal="minimize")

torch.manual_seed(config["seed"])
torch.set_num_threads(1)
x = torch.linspace(-3, 3, 2048).unsqueeze(1)
y = torch.sin(x) + 0.1 * torch.randn_like(x)
perm = torch.randperm(len(x))
train, val = perm[:1792], perm[1792:]

model = torch.nn.Sequential(torch.nn.Linear(1, config["hidden"]), torch.nn.Tanh(), torch.nn.Linear(config["hidden"], 1))
opt = torch.optim.Adam(model.parameters(), lr=config["learning_rate"])
steps_per_epoch = math.ceil(len(train) / config["batch_size"])
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config["epochs"] * steps_per_epoch)
run.config.update({"parameters": sum(p.numel() for p in model.parameters())})

step = 0
for epoch in range(config["epochs"]):
    order = train[torch.randperm(len(train))]
    for i in range(0, len(order), config["batch_size"]):
        idx = order[i : i + config["batch_size"]]
        loss = torch.nn.functional.mse_loss(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        run.log({"train/loss": loss, "train/grad_norm": grad_norm, "train/learning_rate": sched.get_last_lr()[0]}, step=step)
        step += 1
    with torch.no_grad():
        val_loss = torch.nn.functional.mse_loss(model(x[val]), y[val])
    run.log({"val/loss": val_loss, "epoch": epoch}, step=step - 1)
    print(f"epoch {epoch}: val/loss {val_loss.item():.4f}")

run.finish()

stored = tracklet.Api().run(f"{run.project}/{run.id}")
print(f"\nrecorded run {stored.name} ({stored.id}): state {stored.state}, {stored.last_step + 1} steps")
print(f"best val/loss {stored.summary['val/loss']['min']:.4f}; last train/loss {stored.summary['train/loss']:.4f}")
