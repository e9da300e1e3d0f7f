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


def test_watch_records_a_histogram_per_layer_and_keeps_the_statistics():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    run = tracklet.init(project="watch")
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    tracklet.watch(model, log="all", log_freq=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(4):
        loss = model(torch.randn(16, 4)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log({"loss": loss.item()})
    tracklet.unwatch(model)
    run.finish()
    stored = tracklet.Api().run(run.id)
    keys = {e["key"] for e in stored.media()}
    assert keys == {f"{kind}/{p}" for kind in ("gradients", "parameters") for p in ("0.weight", "0.bias", "2.weight", "2.bias")}
    assert sorted({e["step"] for e in stored.media()}) == [0, 2]
    weights = stored.histogram("parameters/0.weight", step=0)
    assert sum(weights.histogram) == 32 and len(weights.bins) == 65
    assert weights.bins[0] < weights.bins[-1]
    assert "gradients/0.weight.norm" in stored.keys() and "gradients/total_norm" in stored.keys()
