"""A store made by real tracklet runs, for the dashboard's browser tests and screenshots.

``python tests/e2e/demo_store.py FOLDER`` (or ``build(folder)``) runs each script below in its own process, as a
user would: a dataset run, three fine-tuning runs (one uses the dataset and logs a model linked in the registry),
a 100,000-step run with one spike at step ``SPIKE_STEP``, and a run whose name, config, notes and console output
are HTML and script meant to be shown as text. Project ``llm`` holds traced ``@tracklet.op`` calls (one run's and
some outside any run; one fails; one has hostile inputs), feedback, and two ``tracklet.Evaluation`` runs of two
models; project ``tune`` a random sweep run by ``tracklet.agent``; project ``media`` a run that logs images,
histograms, HTML, audio and a GIF video at three steps, a table of ``TABLE_ROWS`` rows, a table of images and
``tracklet.plot`` charts; project ``compare`` two runs that log one image, histogram, table and chart key each at
their own steps (``COMPARE_STEPS``), hostile captions included.
"""

from __future__ import annotations

import os
import subprocess
import sys

SPIKE_STEP = 54_321
SPIKE_VALUE = 50.0
LONG_STEPS = 100_000
HOSTILE = '<img src=x onerror="window.__pwned=1">'
HOSTILE_SCRIPT = "<script>window.__pwned=1</script>"
TABLE_ROWS = 200_000
LABELS = ["cat", "dog", "bird", "fish"]
COMPARE_STEPS = {"cmp-a": [0, 5, 10], "cmp-b": [0, 4, 8, 12]}

_DATASET = r'''
import tracklet
run = tracklet.init(project="demo", name="prep-corpus", job_type="data", config={"source": "wiki", "rows": 1000})
open("train.jsonl", "w").write('{"text": "hello"}\n' * 100)
open("README.txt", "w").write("corpus")
art = tracklet.Artifact("corpus", type="dataset", metadata={"rows": 100})
art.add_file("train.jsonl", name="data/train.jsonl")
art.add_file("README.txt")
run.log_artifact(art)
run.finish()
'''

_TRAIN = r'''
import math, sys, tracklet
name, lr, r, steps = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
run = tracklet.init(project="demo", name=name, group="lora", tags=["lora", f"r{r}"],
                    config={"lr": lr, "lora_r": r, "model": {"layers": 4, "hidden": 64}, "batch_size": 8})
if name == "lora-r16":
    run.use_artifact("corpus:latest")
print("\x1b[1;32mtraining\x1b[0m", name, "with \x1b[33mlr\x1b[0m", lr)
for step in range(steps):
    loss = 2.0 * math.exp(-step / (40 * r)) + 0.05 * math.sin(step / 7) + 0.1
    row = {"train/loss": loss, "train/lr": lr, "epoch": step // 100}
    if step % 50 == 0:
        row["val/loss"] = loss * 1.1
        row["val/acc"] = 1 - loss / 3
    run.log(row)
print("done: val/loss", round(loss * 1.1, 4))
if name == "lora-r16":
    open("adapter.bin", "wb").write(b"\0" * 4096)
    model = tracklet.Artifact("adapter", type="model", metadata={"lora_r": r})
    model.add_file("adapter.bin")
    run.log_artifact(model, aliases=["best"])
    run.link_artifact(model, "registry/chat-adapter", aliases=["production"])
run.finish()
'''

_LONG = r'''
import sys, tracklet
spike, value, steps = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
run = tracklet.init(project="demo", name="long-spike", tags=["long"], config={"lr": 0.002, "lora_r": 4, "batch_size": 8})
for step in range(steps):
    run.log({"train/loss": value if step == spike else 1.0 + (step % 10) * 0.001})
run.finish()
'''

_HOSTILE = r'''
import sys, tracklet
hostile, script = sys.argv[1], sys.argv[2]
run = tracklet.init(project="demo", name=hostile, notes=script, tags=[script], config={"payload": script, "lr": 0.01, "lora_r": 2})
print(hostile, script)
for step in range(20):
    run.log({"train/loss": 1.0 / (step + 1)})
run.finish()
'''

_MEDIA = r'''
import math, sys, numpy as np, tracklet
rows, script = int(sys.argv[1]), sys.argv[2]
run = tracklet.init(project="media", name="eval-media", config={"model": "tiny"})
rng = np.random.default_rng(0)
for step in range(3):
    img = np.zeros((32, 48, 3), dtype=np.uint8)
    img[..., 0] = np.linspace(0, 255, 48, dtype=np.uint8)[None, :]
    img[..., 1] = 100 * step
    frames = np.stack([np.full((3, 16, 16), 60 * t, dtype=np.uint8) for t in range(4)])
    run.log({"samples/image": tracklet.Image(img, caption=f"sample at step {step}"),
             "weights": tracklet.Histogram(rng.normal(step, 1.0, 2000), num_bins=32),
             "report": tracklet.Html(f"<h1>Report at step {step}</h1><p>{script}</p><script>parent.__pwned=1</script>"),
             "speech": tracklet.Audio(np.sin(np.linspace(0, 2 * math.pi * 440, 8000)).astype(np.float32), sample_rate=8000),
             "clip": tracklet.Video(frames, fps=4),
             "movie": tracklet.Video(frames, fps=4, format="mp4", caption=f"movie at step {step}"),
             "loss": 1.0 / (step + 1)}, step=step)
labels = ["cat", "dog", "bird", "fish"]
table = tracklet.Table(columns=["id", "label", "score", "text"],
                       data=[[i, labels[i % 4], (i * 7919) % 100000 / 100000, f"sample {i}"] for i in range(rows)])
gallery = tracklet.Table(columns=["image", "label"])
for i, label in enumerate(labels):
    tile = np.zeros((8, 8, 3), dtype=np.uint8)
    tile[..., i % 3] = 255
    gallery.add_data(tracklet.Image(tile, caption=f"tile {label}"), label)
run.log({"eval/predictions": table, "gallery": gallery}, step=2)
seg = np.zeros((20, 40), dtype=np.uint8)
seg[5:15, 4:14] = 1  # a "cat" square on the left, a "dog" one on the right
seg[5:15, 24:34] = 2
run.log({"segmentation": tracklet.Image(
    np.full((20, 40, 3), 30, dtype=np.uint8), caption="seg at step 2",
    masks={"prediction": {"mask_data": seg, "class_labels": {0: "background", 1: "cat", 2: "dog"}}},
    boxes={"detections": {"box_data": [{"position": {"minX": 0.1, "maxX": 0.35, "minY": 0.25, "maxY": 0.75}, "class_id": 1,
                                         "box_caption": "cat 0.92", "scores": {"confidence": 0.92}},
                                        {"position": {"middle": [29, 10], "width": 10, "height": 10}, "domain": "pixel",
                                         "class_id": 2}],
                           "class_labels": {1: "cat", 2: "dog"}}})}, step=2)
curve = tracklet.Table(columns=["epoch", "loss"], data=[[e, 1.0 / (e + 1)] for e in range(30)])
counts = tracklet.Table(columns=["class", "count"], data=[[label, 10 * (i + 1)] for i, label in enumerate(labels)])
scores = tracklet.Table(columns=["score"], data=[[float(v)] for v in rng.normal(0.0, 1.0, 400)])
run.log({"plots/loss": tracklet.plot.line(curve, "epoch", "loss", title="Loss by epoch"),
         "plots/classes": tracklet.plot.bar(counts, "class", "count", title=script),
         "plots/dist": tracklet.plot.histogram(scores, "score", title="Scores"),
         "plots/series": tracklet.plot.line_series([0, 1, 2, 3], [[4, 3, 2, 1], [1, 2, 3, 4]], keys=["down", "up"],
                                                   title="Two lines", xname="epoch"),
         "plots/confusion": tracklet.plot.confusion_matrix(y_true=[0, 0, 1, 2, 2, 2], preds=[0, 1, 1, 2, 2, 0],
                                                           class_names=["cat", "dog", "bird"], title="Confusion"),
         "plots/roc": tracklet.plot.roc_curve([0, 0, 1, 1], [[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]],
                                              labels=["neg", "pos"])}, step=2)
run.finish()
'''

_COMPARE = r'''
import sys, numpy as np, tracklet
steps, script = eval(sys.argv[1]), sys.argv[2]
for n, (name, logged) in enumerate(steps.items()):
    run = tracklet.init(project="compare", name=name, config={"seed": n})
    for step in logged:
        img = np.zeros((16, 24, 3), dtype=np.uint8)
        img[..., 0] = np.linspace(0, 255, 24, dtype=np.uint8)[None, :]
        img[..., 1] = 20 * step
        img[..., 2] = np.linspace(0, 200 * n + 50, 16, dtype=np.uint8)[:, None]
        run.log({"samples": tracklet.Image(img, caption=f"{name} {step} {script}"),
                 "weights": tracklet.Histogram(np.random.default_rng(step).normal(step + n, 1.0, 500), num_bins=16),
                 "loss": 1.0 / (step + 1)}, step=step)
    rows = [[i, f"{script} {i}", i / 10] for i in range(5 + n)]
    run.log({"preds": tracklet.Table(columns=["id", "text", "score"], data=rows),
             "curve": tracklet.plot.line(tracklet.Table(columns=["x", "y"], data=[[i, i * (n + 1)] for i in range(10)]), "x", "y",
                                         title=f"curve of {name}")}, step=logged[-1])
    run.finish()
'''

_TRACES = r'''
import asyncio, sys, time, tracklet
from tracklet.tracing import record_usage
hostile = sys.argv[1]
tracklet.set_price("tiny-llm", input=1.0, output=4.0)

@tracklet.op
def retrieve(question: str, k: int = 2) -> list:
    return [f"doc {i} about {question}" for i in range(k)]

@tracklet.op
def generate(prompt: str, model: str = "tiny-llm") -> str:
    time.sleep(0.02 if "slow" in prompt else 0.002)
    record_usage(model, prompt_tokens=3 * len(prompt.split()), completion_tokens=12)
    if "fail" in prompt:
        raise ValueError("the model refused: " + prompt[-30:])
    return "answer: " + prompt.rsplit("Question: ", 1)[-1]

@tracklet.op
def rag(question: str) -> str:
    return generate(f"Context: {retrieve(question)}\nQuestion: {question}")

run = tracklet.init(project="llm", name="rag-dev")
tracklet.init_tracing("llm")
for q in ("what is rag", "a slow question", "why is the sky blue"):
    rag(q)
try:
    rag("please fail")
except ValueError:
    pass
with tracklet.attributes({"user": hostile}):
    rag(hostile)
plain, loud = tracklet.Prompt("answer: {question}"), tracklet.Prompt("answer: {loud}")  # qa-prompt:v0 and v1
tracklet.publish(plain, name="qa-prompt")
tracklet.publish(loud, name="qa-prompt")
run.finish()

tracklet.init_tracing("llm")
rag("outside any run")

def exact(expected: str, output: str) -> bool:
    return output == "answer: " + expected

class Length(tracklet.Scorer):
    def score(self, output):
        return {"chars": len(output)}

@tracklet.op
def echo_model(question: str) -> str:
    record_usage("tiny-llm", prompt_tokens=10, completion_tokens=5)
    return plain.format(question=question)

@tracklet.op
def shouting_model(question: str) -> str:
    record_usage("tiny-llm", prompt_tokens=20, completion_tokens=5)
    return loud.format(loud=question.upper())

rows = [{"question": q, "expected": q} for q in ("two plus two", "capital of france", "ok")]
for model in (echo_model, shouting_model):
    asyncio.run(tracklet.Evaluation(dataset=rows, scorers=[exact, Length()], name="qa").evaluate(model))
tracklet.tracing.stop_tracing()

api = tracklet.Api()
failed = api.calls("llm", {"op": "rag", "status": "error"})[0]
failed.feedback.add("reaction", "👎")
failed.feedback.add("note", hostile)
'''

_SWEEP = r'''
import math, tracklet
config = {"method": "random", "metric": {"name": "val/loss", "goal": "minimize"}, "run_cap": 6,
          "parameters": {"lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
                         "optimizer": {"values": ["adam", "sgd"]}, "layers": {"values": [2, 4, 8]}}}
sweep_id = tracklet.sweep(config, project="tune")

def train():
    run = tracklet.init()
    c = run.config
    best = abs(math.log10(c["lr"]) + 3) + (0.3 if c["optimizer"] == "sgd" else 0) + 0.05 * c["layers"]
    for step in range(10):
        run.log({"val/loss": best + 1 / (step + 1)})
    run.finish()

tracklet.agent(sweep_id, function=train, count=6)
'''

_LIVE = r'''
import os, sys, time, tracklet
project, name, first, total, linger = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
run = tracklet.init(project=project, name=name, config={"lr": 0.1})
for step in range(first):
    run.log({"train/loss": 1.0 / (step + 1)})
print(f"logged {first}", flush=True)
while not os.path.exists("more"):
    time.sleep(0.05)
for step in range(first, total):
    run.log({"train/loss": 1.0 / (step + 1), **({"val/loss": 2.0 / (step + 1)} if step % 10 == 0 else {})})
print(f"logged {total}", flush=True)
while linger and not os.path.exists("stop"):
    time.sleep(0.05)
run.finish()
'''


def _env(folder: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKLET_", "WANDB_"))}
    env.update(TRACKLET_DIR=folder, TRACKLET_SILENT="true", TRACKLET_SYSTEM_INTERVAL="0")
    return env


def run_python(folder: str, cwd: str, *args: str, **env: str) -> None:
    """``python ARGS`` run in ``cwd`` as a user's script, storing into ``folder`` (``env`` added to its environment)."""
    subprocess.run([sys.executable, *args], cwd=cwd, env={**_env(folder), **env}, check=True, stdout=subprocess.DEVNULL)


def _run(code: str, folder: str, *args: object) -> None:
    subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=folder, env=_env(folder), check=True,
                   stdout=subprocess.DEVNULL)


def start_live(folder: str, cwd: str, project: str = "live", name: str = "live-run", first: int = 100, total: int = 200,
               linger: bool = True) -> subprocess.Popen:
    """A run in ``project`` that logs ``train/loss`` for ``first`` steps, up to ``total`` once ``cwd/more`` exists (and
    ``val/loss`` every 10 of those), and then ends (with ``linger``, once ``cwd/stop`` exists)."""
    proc = subprocess.Popen([sys.executable, "-c", _LIVE, project, name, str(first), str(total), "1" if linger else "0"],
                            cwd=cwd, env=_env(folder), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == f"logged {first}"
    return proc


def build(folder: str) -> str:
    """Make the demo store in ``folder`` (created) and return it."""
    os.makedirs(folder, exist_ok=True)
    _run(_DATASET, folder)
    for name, lr, r in (("lora-r8", 1e-3, 8), ("lora-r16", 5e-4, 16), ("lora-r32", 3e-4, 32)):
        _run(_TRAIN, folder, name, lr, r, 600)
    _run(_LONG, folder, SPIKE_STEP, SPIKE_VALUE, LONG_STEPS)
    _run(_HOSTILE, folder, HOSTILE, HOSTILE_SCRIPT)
    _run(_MEDIA, folder, TABLE_ROWS, HOSTILE_SCRIPT)
    _run(_COMPARE, folder, repr(COMPARE_STEPS), HOSTILE_SCRIPT)
    _run(_TRACES, folder, HOSTILE)
    _run(_SWEEP, folder)
    return folder


if __name__ == "__main__":
    build(sys.argv[1])
