"""``tracklet.watch`` / ``tracklet.unwatch``: the wandb names, delegating to tracklet.integrations.torch."""

import pytest

import tracklet

torch = pytest.importorskip("torch")


def test_top_level_watch_records_gradient_statistics():
    torch.manual_seed(0)
    run = tracklet.init(project="watch")
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    tracklet.watch(model, log="gradients", log_freq=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        loss = model(torch.randn(16, 4)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log({"loss": loss.item()})
    tracklet.unwatch(model)
    run.finish()
    keys = tracklet.Api().run(run.id).keys()
    assert "gradients/0.weight.norm" in keys and "loss" in keys
    assert not any(k.startswith("parameters/") for k in keys)
