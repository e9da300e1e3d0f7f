"""Sweep agents in real processes: two agents on one grid, an agent killed mid-run, the CLI agent running a
program with ``command:`` arguments (hyperband stopping it with SIGTERM), and an HF TrainingArguments script."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import tracklet
from helpers import wait_until

TRACKLET = [sys.executable, "-m", "tracklet"]


def _cli(*args, check=True, **kw):
    return subprocess.run([*TRACKLET, *args], capture_output=True, text=True, check=check, timeout=180, **kw)


def _new_sweep(tmp_path, config):
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(config))
    return _cli("sweep", str(path), "--project", "p").stdout.strip()


def test_two_agents_on_one_grid_cover_it_exactly_once(tmp_path):
    (tmp_path / "train.py").write_text(
        "import argparse, time, tracklet\n"
        "p = argparse.ArgumentParser(); p.add_argument('--a', type=int); p.add_argument('--b', type=int)\n"
        "a = p.parse_args()\n"
        "with tracklet.init(config=vars(a)) as run:\n"
        "    time.sleep(0.05)\n"
        "    run.log({'loss': a.a * 10 + a.b})\n"
    )
    config = {"program": "train.py", "method": "grid", "metric": {"name": "loss"},
              "parameters": {"a": {"values": [0, 1, 2, 3]}, "b": {"values": [0, 1, 2]}}}
    sweep_id = _new_sweep(tmp_path, config)
    agents = [subprocess.Popen([*TRACKLET, "agent", f"p/{sweep_id}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]
    outs = [a.communicate(timeout=300) for a in agents]
    assert [a.returncode for a in agents] == [0, 0], outs
    sweep = tracklet.Api().sweep(sweep_id)
    trials = sweep.trials()
    points = sorted((t["params"]["a"], t["params"]["b"]) for t in trials)
    assert points == [(a, b) for a in range(4) for b in range(3)]
    assert len({t["agent"] for t in trials}) == 2  # both worked
    assert sorted((r.config["a"], r.config["b"]) for r in sweep.runs) == points
    assert all(t["run_state"] == "finished" for t in trials) and sweep.state == "finished"
    assert "lock" not in "".join(o[1] for o in outs).lower()


AGENT_SCRIPT = """
import sys, time, tracklet
def train():
    with tracklet.init() as run:
        run.log({"loss": float(run.config["a"])})
        if run.config["a"] == 0 and sys.argv[2] == "hang":
            print("HANGING", flush=True)
            time.sleep(600)
tracklet.agent(sys.argv[1], function=train)
"""


def test_an_agent_killed_mid_run_leaves_its_run_crashed_and_its_point_goes_to_the_next_agent(tmp_path):
    (tmp_path / "agent.py").write_text(AGENT_SCRIPT)
    config = {"method": "grid", "metric": {"name": "loss"}, "parameters": {"a": {"values": [0, 1, 2]}}}
    sweep_id = _new_sweep(tmp_path, config)
    doomed = subprocess.Popen([sys.executable, "agent.py", sweep_id, "hang"], stdout=subprocess.PIPE, text=True)
    assert doomed.stdout.readline().strip() == "HANGING"
    first = tracklet.Api().sweep(sweep_id).trials()[0]
    assert first["params"] == {"a": 0}
    wait_until(lambda: tracklet.Api().run(first["run_id"]).summary.get("loss") == 0.0)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    doomed.stdout.close()
    done = subprocess.run([sys.executable, "agent.py", sweep_id, "ok"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    trials = tracklet.Api().sweep(sweep_id).trials()
    assert tracklet.Api().run(first["run_id"]).state == "crashed"
    assert [(t["params"]["a"], t["status"]) for t in trials] == [(0, "dead"), (0, "active"), (1, "active"), (2, "active")]
    assert [t["run_state"] for t in trials[1:]] == ["finished"] * 3


def test_the_cli_agent_runs_the_program_with_command_macros_and_hyperband_stops_it_with_sigterm(tmp_path):
    (tmp_path / "train.py").write_text(
        "import json, os, sys, time, tracklet\n"
        "args = sys.argv[1:]\n"
        "env = {k: v for k, v in os.environ.items() if k.startswith('TRACKLET_SWEEP_')}\n"
        "with tracklet.init() as run:\n"
        "    from_file = [json.load(open(a)) for a in args if a.endswith('.json')]\n"
        "    with open(f'seen-{run.id}.json', 'w') as f: json.dump({'args': args, 'env': env, 'config': dict(run.config), 'file': from_file}, f)\n"
        "    for i in range(200):\n"
        "        run.log({'loss': 1.0 if run.config['lr'] < 0.5 else 100.0})\n"
        "        time.sleep(0.02)\n"
    )
    config = {
        "program": "train.py", "method": "grid", "metric": {"name": "loss", "goal": "minimize"},
        "command": ["${env}", "${interpreter}", "${program}", "--fixed", "${args_no_hyphens}", "${args_json}", "${args_json_file}"],
        "parameters": {"lr": {"values": [0.1, 0.9]}, "opt": {"parameters": {"name": {"value": "adam"}}}},
        "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 3},
    }
    sweep_id = _new_sweep(tmp_path, config)
    out = _cli("agent", sweep_id, "--count", "5", env={**os.environ, "TRACKLET_SWEEP_POLL": "0.1"})
    assert "hyperband stops run" in out.stderr
    trials = tracklet.Api().sweep(sweep_id).trials()
    assert [t["run_state"] for t in trials] == ["finished", "stopped"]
    seen = json.loads((tmp_path / f"seen-{trials[0]['run_id']}.json").read_text())
    assert seen["args"][:4] == ["--fixed", "lr=0.1", "opt.name=adam", '{"lr": 0.1, "opt": {"name": "adam"}}']
    assert seen["file"] == [{"lr": 0.1, "opt": {"name": "adam"}}] and not os.path.exists(seen["args"][4])  # removed after the run
    assert seen["config"] == {"lr": 0.1, "opt": {"name": "adam"}}
    assert seen["env"]["TRACKLET_SWEEP_ID"] == sweep_id and seen["env"]["TRACKLET_SWEEP_PARAM_OPT_NAME"] == '"adam"'
    assert json.loads(seen["env"]["TRACKLET_SWEEP_PARAMS"]) == {"lr": 0.1, "opt": {"name": "adam"}}
    stopped = tracklet.Api().run(trials[1]["run_id"])
    assert stopped.state == "stopped" and len(list(stopped.scan_history(keys=["loss"]))) < 200


def test_an_hf_training_arguments_script_picks_the_arguments_up(tmp_path):
    pytest.importorskip("transformers")
    (tmp_path / "train.py").write_text(
        "from transformers import HfArgumentParser, TrainingArguments\n"
        "import tracklet\n"
        "(args,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses()\n"
        "with tracklet.init(config={'hf': {'learning_rate': args.learning_rate, 'bf16': args.bf16,\n"
        "                                  'batch': args.per_device_train_batch_size, 'out': args.output_dir}}) as run:\n"
        "    run.log({'loss': args.learning_rate})\n"
    )
    config = {
        "program": "train.py", "method": "grid", "metric": {"name": "loss"},
        "parameters": {"learning_rate": {"values": [1e-4]}, "per_device_train_batch_size": {"values": [4, 8]},
                       "bf16": {"value": False}, "output_dir": {"value": str(tmp_path / "out")}, "report_to": {"value": "none"}},
    }
    sweep_id = _new_sweep(tmp_path, config)
    _cli("agent", sweep_id)
    runs = tracklet.Api().sweep(sweep_id).runs
    assert sorted(r.config["hf"]["batch"] for r in runs) == [4, 8]
    assert all(r.config["hf"]["learning_rate"] == 1e-4 and r.config["hf"]["bf16"] is False for r in runs)
    assert all(r.state == "finished" and r.summary["loss"] == 1e-4 for r in runs)


def test_agents_in_remote_mode_share_a_sweep_through_a_server(tmp_path):
    from server_process import ServerProcess

    (tmp_path / "train.py").write_text(
        "import argparse, tracklet\n"
        "p = argparse.ArgumentParser(); p.add_argument('--a', type=int); a = p.parse_args()\n"
        "with tracklet.init() as run:\n"
        "    run.log({'loss': float(run.config['a'])})\n"
    )
    config = {"program": "train.py", "method": "grid", "metric": {"name": "loss"}, "parameters": {"a": {"values": list(range(6))}}}
    (tmp_path / "sweep.json").write_text(json.dumps(config))
    with ServerProcess(str(tmp_path / "server-store"), key=True) as server:
        env = {**os.environ, "TRACKLET_BASE_URL": server.url, "TRACKLET_API_KEY": server.key}
        env.pop("TRACKLET_DIR")
        sweep_id = _cli("sweep", "sweep.json", "-p", "p", env=env).stdout.strip()
        agents = [subprocess.Popen([*TRACKLET, "agent", sweep_id], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                  for _ in range(2)]
        outs = [a.communicate(timeout=300) for a in agents]
        assert [a.returncode for a in agents] == [0, 0], outs
        remote = tracklet.Api(base_url=server.url, api_key=server.key)
        sweep = remote.sweep(f"p/{sweep_id}")
        assert sorted(t["params"]["a"] for t in sweep.trials()) == list(range(6))
        wait_until(lambda: all(r.state == "finished" for r in remote.sweep(sweep_id).runs) and len(remote.sweep(sweep_id).runs) == 6)
        assert remote.sweep(sweep_id).best_run().config["a"] == 0
        assert sweep_id in _cli("sweep", "ls", env=env).stdout


def test_a_lightning_cli_script_picks_a_nested_group_up_as_dotted_arguments(tmp_path):
    pytest.importorskip("lightning")
    pytest.importorskip("jsonargparse")
    (tmp_path / "train.py").write_text(
        "import lightning.pytorch as pl\n"
        "from lightning.pytorch.cli import LightningCLI\n"
        "import tracklet\n"
        "class Model(pl.LightningModule):\n"
        "    def __init__(self, lr: float = 0.1, hidden: int = 4):\n"
        "        super().__init__()\n"
        "        self.save_hyperparameters()\n"
        "cli = LightningCLI(Model, run=False, save_config_callback=None,\n"
        "                   trainer_defaults={'logger': False, 'enable_checkpointing': False, 'enable_progress_bar': False})\n"
        "with tracklet.init(config={'seen': dict(cli.model.hparams)}) as run:\n"
        "    run.log({'loss': cli.model.hparams.lr})\n"
    )
    config = {"program": "train.py", "method": "grid", "metric": {"name": "loss"},
              "parameters": {"model": {"parameters": {"lr": {"values": [0.01]}, "hidden": {"values": [8, 16]}}}}}
    sweep_id = _new_sweep(tmp_path, config)
    _cli("agent", sweep_id)
    runs = tracklet.Api().sweep(sweep_id).runs
    assert sorted((r.config["seen"]["lr"], r.config["seen"]["hidden"]) for r in runs) == [(0.01, 8), (0.01, 16)]
    assert all(r.config["model"] == {"lr": 0.01, "hidden": r.config["seen"]["hidden"]} for r in runs)
