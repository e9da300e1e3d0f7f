"""Plain PyTorch with `watch`: per-layer gradient and parameter statistics and the total gradient
norm, every `log_freq` steps, recorded with hooks.

Run with:  python examples/torch_watch.py   (about two seconds on a CPU; data goes to ./tracklet-runs or TRACKLET_DIR)
"""

import torch

import tracklet
from tracklet.integrations.torch import unwatch, watch

torch.manual_seed(0)
torch.set_num_threads(1)

run = tracklet.init(project="watch-demo", config={"hidden": 64, "lr": 1e-2})
model = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=run.config.lr)
watch(model, log="all", log_freq=50)  # gradients and parameters, at the 1st step and every 50th

w = torch.randn(8, 1)
for _ in range(300):
    x = torch.randn(64, 8)
    loss = torch.nn.functional.mse_loss(model(x), x @ w)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    run.log({"train/loss": loss.item()})  # watch's statistics join this step

unwatch(model)
run.finish()

stored = tracklet.Api().run(run.path)
norms = [(row["_step"], round(row["gradients/total_norm"], 4)) for row in stored.scan_history(keys=["gradients/total_norm"])]
print(f"\nrecorded {len(stored.keys())} metric keys; gradient norm by step: {norms}")
print("first layer:", {k.split(".")[-1]: round(v, 4) for k, v in stored.summary.items() if k.startswith("gradients/0.weight.")})
