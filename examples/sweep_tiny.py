"""A Bayesian sweep with hyperband over a tiny PyTorch model on the CPU; then the best run, read back.

Run with:  python examples/sweep_tiny.py   (about half a minute; needs `pip install "tracklet[sweeps]"` for bayes)
The same from the shell: put the config in sweep.yaml with `program: train.py`, then
`tracklet sweep sweep.yaml` and `tracklet agent SWEEP_ID --count 8` on as many machines as you like.
"""

import torch

import tracklet

sweep_config = {
    "method": "bayes",
    "metric": {"name": "val/loss", "goal": "minimize"},
    "parameters": {
        "learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 3e-1},
        "hidden": {"values": [8, 32, 64]},
        "optimizer": {"parameters": {"name": {"values": ["adam", "sgd"]}}},
    },
    "early_terminate": {"type": "hyperband", "min_iter": 5, "eta": 3},
}


def train() -> None:
    with tracklet.init() as run:
        c = run.config
        torch.manual_seed(0)
        torch.set_num_threads(1)
        x = torch.linspace(-3, 3, 8192).unsqueeze(1)
        y = torch.sin(x)
        model = torch.nn.Sequential(torch.nn.Linear(1, c["hidden"]), torch.nn.Tanh(), torch.nn.Linear(c["hidden"], 1))
        make = torch.optim.Adam if c["optimizer"]["name"] == "adam" else torch.optim.SGD
        opt = make(model.parameters(), lr=c["learning_rate"])
        for epoch in range(40):
            for i in range(0, 8192, 64):
                loss = torch.nn.functional.mse_loss(model(x[i:i + 64]), y[i:i + 64])
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                run.log({"val/loss": torch.nn.functional.mse_loss(model(x), y).item(), "epoch": epoch})


if __name__ == "__main__":
    sweep_id = tracklet.sweep(sweep_config, project="tiny-sweep")
    tracklet.agent(sweep_id, function=train, count=8)
    sweep = tracklet.Api().sweep(f"tiny-sweep/{sweep_id}")
    best = sweep.best_run()
    print(f"recorded sweep {sweep_id}: {len(sweep.runs)} runs ({sum(r.state == 'stopped' for r in sweep.runs)} stopped early); "
          f"best val/loss {best.summary['val/loss']:.4f} with {dict(best.config)}")
