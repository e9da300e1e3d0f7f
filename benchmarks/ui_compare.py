"""tracklet's dashboard, Trackio's and MLflow's local UIs, in one headless Chromium, on the same runs.

Issue 12, Performance: "Compare side by side with what a user would pick instead, on the same data in the same
browser". The same RUNS runs x 1 metric (`train/loss`) x STEPS steps, each run with one one-step spike (+5.0) at
its own known step, are logged into each tool's local store once (under --dir; --fresh builds them again); then
each tool's own UI server is started on loopback over its store (`tracklet server`; `trackio.show()`, its
Svelte/Vega dashboard; `mlflow server` over a SQLite store, its React/Plotly UI), and Debian's /usr/bin/chromium,
driven through Playwright from tracklet's .venv, opens a fresh page per repeat on the chart of those runs.

    .venv/bin/python benchmarks/ui_compare.py [--repeats 3] [--dir /tmp/tracklet-ui-compare] [--fresh] [--no-write]

Trackio and MLflow run from benchmarks/.venv-compare (--compare-python for another one, e.g. the main checkout's from a worktree).
"Drawn", per tool (polled every 30 ms from navigation start):
- tracklet: `window.tracklet.ready` and its uPlot panel for `train/loss` exists with a series per run (the
  dashboard sets `ready` once every open panel has drawn its data); points = values in the drawn series.
- Trackio: its Vega canvas has more than 200 line-coloured (saturated, not the grey axes and text) pixels; points
  and spikes received read from the page's `get_logs_batch` answer; spikes drawn = separate groups of pixel columns
  with line-coloured pixels in the canvas's top quarter (the spikes are the only values above 1.01: with them the y
  axis goes to 5+, without them the curve stays below that quarter past its start). A control store of the same
  runs at CONTROL_STEPS steps (every point sent) checks that the reading sees spikes Trackio did draw.
- MLflow: the experiment page's chart view (`compareRunsMode=CHART`, what its UI shows for comparing runs); drawn =
  the Plotly chart of `train/loss` holds its traces (two a run) with their points, and their SVG line paths are in
  the page (read from the plot element's `data`); spikes = runs whose drawn y reaches above 4.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
sys.path.insert(0, HERE)

from browser_helpers import ARGS, CHROMIUM, wait_js  # noqa: E402

RUNS, STEPS, METRIC, SPIKE = 4, 100_000, "train/loss", 5.0
CONTROL_STEPS = 2_000  # under Trackio's 3,000 points a run: its server sends them all
COMPARE_PY = os.path.join(HERE, ".venv-compare", "bin", "python")  # benchmarks/setup_compare.sh makes it
SECTION = "# Dashboards side by side: tracklet, Trackio, MLflow in headless Chromium (issue 12)"
START, END = "<!-- ui-compare:start -->", "<!-- ui-compare:end -->"

# One curve for every tool: run r's value at step s, with its spike at spike_step(r). Kept in one string so that
# the three builders (each in its own tool's interpreter) log exactly the same numbers.
CURVE = f"""
import math
import sys
RUNS, METRIC, SPIKE = {RUNS}, {METRIC!r}, {SPIKE}
STEPS = int(sys.argv[2])
def spike_step(r): return STEPS // 5 * (r + 1) + STEPS // 700 + r
def value(r, s): return math.exp(-3 * s / STEPS) + 0.01 * ((s * 7919 + r) % 101) / 101 + (SPIKE if s == spike_step(r) else 0.0)
"""


def spike_step(r: int, steps: int = STEPS) -> int:
    """The step of run ``r``'s one-step spike (the same formula as CURVE's)."""
    return steps // 5 * (r + 1) + steps // 700 + r


BUILD = {
    "tracklet": CURVE + r"""
import os, sys
os.environ.update(TRACKLET_SILENT="1", TRACKLET_SYSTEM_INTERVAL="0", TRACKLET_CONSOLE="off")
import tracklet
from tracklet.cli import main
folder = sys.argv[1]
for r in range(RUNS):
    run = tracklet.init(project="uicmp", dir=folder, mode="offline", name=f"curve-{r}")
    for s in range(STEPS):
        run.log({METRIC: value(r, s)}, step=s)
    run.finish()
main(["sync", folder])
""",
    "trackio": CURVE + r"""
import os, sys
os.environ["TRACKIO_DIR"] = sys.argv[1]
import trackio
for r in range(RUNS):
    trackio.init(project="uicmp", name=f"curve-{r}")
    for s in range(STEPS):
        trackio.log({METRIC: value(r, s)}, step=s)
    trackio.finish()
""",
    "mlflow": CURVE + r"""
import os, sys, time
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
folder = sys.argv[1]
client = MlflowClient(tracking_uri=f"sqlite:///{folder}/mlflow.db")
exp = client.create_experiment("uicmp", artifact_location=f"{folder}/artifacts")
now = int(time.time() * 1000)
for r in range(RUNS):
    run = client.create_run(exp, run_name=f"curve-{r}")
    for lo in range(0, STEPS, 1000):  # log_batch takes at most 1,000 metrics
        client.log_batch(run.info.run_id, metrics=[Metric(METRIC, value(r, s), now + s, s) for s in range(lo, min(lo + 1000, STEPS))])
    client.set_terminated(run.info.run_id)
""",
}


def _build(folder: str, tool: str, python: str, steps: int = STEPS) -> None:
    """Log the runs into ``tool``'s store under ``folder`` (once: a marker file says it is done)."""
    done = os.path.join(folder, ".built")
    if os.path.exists(done):
        return
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    t = time.perf_counter()
    subprocess.run([python, "-c", BUILD[tool], folder, str(steps)], check=True, stdout=subprocess.DEVNULL, cwd=folder)  # cwd: MLflow puts ./mlruns there
    open(done, "w").close()
    print(f"logged {RUNS} x {steps:,} steps into {tool} in {time.perf_counter() - t:.0f} s", file=sys.stderr)


class ToolServer:
    """One tool's UI server as a subprocess on a free loopback port, stopped with its process group."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str, probe: str, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(os.path.join(cwd, "server.log"), "w")
        self.proc = subprocess.Popen(argv, env={**os.environ, **env}, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        import httpx

        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(self.url + probe, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{argv[:3]} did not serve {self.url}{probe}; see {self.log.name}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _poll(page, body: str, timeout: float = 120.0):
    """Run the JS function ``body`` in the page every 30 ms until it returns something truthy; return that."""
    return wait_js(page, f"(() => {{ {body} }})()", timeout=timeout)


def _open(browser, url: str, pattern: str):
    """A fresh context and page at ``url``, with the responses whose URL holds ``pattern`` collected."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    responses: list = []
    page.on("response", lambda r: responses.append(r) if pattern in r.url else None)
    page.goto(url)
    return context, page, responses


TRACKLET_DRAWN = f"""
const t = window.tracklet; if (!t || !t.ready || !t.charts.has({METRIC!r})) return null;
const u = t.charts.get({METRIC!r});
const lines = u.series.filter((s, i) => i && s.label && !s.label.endsWith(' min') && !s.label.endsWith(' max'));
return lines.length >= {RUNS} && u.data[1].length ? performance.now() : null;"""

TRACKLET_STATS = f"""() => {{
    const u = window.tracklet.charts.get({METRIC!r});
    let points = 0, spikes = 0, runs = 0;
    u.series.forEach((s, i) => {{
        if (!i || !s.label) return;
        const ys = u.data[i].filter(v => v != null);
        if (s.label.endsWith(' max')) {{ if (Math.max(...ys) > 4) spikes++; }}
        else if (!s.label.endsWith(' min')) {{ runs++; points += ys.length; }}
    }});
    return {{runs, points, spikesDrawn: spikes}};
}}"""


def tracklet_once(browser, url: str, ids: list[str]) -> dict:
    """Navigation to the uPlot panel of the runs' metric drawn by tracklet's dashboard (its `ready` flag)."""
    context, page, responses = _open(browser, f"{url}/#/p/uicmp?sel={','.join(ids)}&panels={METRIC}", "/api/v1/curves")
    drawn = _poll(page, TRACKLET_DRAWN)
    stats = page.evaluate(TRACKLET_STATS)
    received = sum(len(r.body()) for r in responses)
    context.close()
    # the min and max series are the ones that carry a spike: spikes received = spikes in the drawn max series
    return {"drawn_ms": drawn, "bytes": received, "spikesReceived": stats["spikesDrawn"], **stats}


# Trackio draws with Vega on a canvas: drawn = line-coloured pixels (saturated; axes and text are grey) on it.
TRACKIO_DRAWN = """
const c = document.querySelector('canvas'); if (!c || !c.width) return null;
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 128 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) n++;
return n > 200 ? performance.now() : null;"""

# Spikes on the canvas: groups of pixel columns, between 25% and 98% of its width (the spikes are at 20-80% of
# the steps, from 30% of the canvas's width: its y axis takes the left; the curve's steep start is left out), with
# line-coloured pixels in its top quarter (the plot's top; without spikes, the curve is below it past there).
# Trackio draws the raw line faded (low alpha on a transparent canvas) under its smoothed line: a pixel counts
# from alpha 16 up. The control store (every point sent) checks that this reading sees the spikes it drew.
TRACKIO_SPIKES = """() => {
    const c = document.querySelector('canvas'), w = c.width, h = Math.floor(c.height / 4);
    const d = c.getContext('2d').getImageData(0, 0, w, h).data;
    const hit = new Array(w).fill(false);
    for (let y = 0; y < h; y++) for (let x = Math.floor(w * 0.25); x < w * 0.98; x++) {
        const i = 4 * (y * w + x);
        if (d[i + 3] > 16 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 40) hit[x] = true;
    }
    let groups = 0, last = -10;  // columns less than 4 px apart are one stroke (its anti-aliased edges)
    for (let x = 0; x < w; x++) if (hit[x]) { if (x - last > 3) groups++; last = x; }
    return groups;
}"""


def _trackio_points(responses: list) -> tuple[int, int, int]:
    """(points of the metric, runs, runs whose spike is among them) in the given `get_logs_batch` answers."""
    per_run: dict[str, list[float]] = {}
    for r in responses:
        for entry in r.json().get("data") or []:
            logs = entry.get("logs") or []
            per_run[entry.get("run") or entry.get("name")] = [row[METRIC] for row in logs if row.get(METRIC) is not None]
    return sum(map(len, per_run.values())), len(per_run), sum(1 for ys in per_run.values() if ys and max(ys) > 4)


def trackio_once(browser, url: str) -> dict:
    """Navigation to Trackio's Vega canvas for the metric holding its lines, after its logs were fetched."""
    context, page, responses = _open(browser, f"{url}/?project=uicmp", "/api/get_logs_batch")
    drawn = _poll(page, TRACKIO_DRAWN)
    page.wait_for_timeout(0)  # lets Playwright deliver the response events it holds
    assert responses, "Trackio drew lines without a get_logs_batch answer: the page changed, adapt this benchmark"
    spikes_drawn = page.evaluate(TRACKIO_SPIKES)
    charts = page.evaluate("document.querySelectorAll('canvas').length")
    points, runs, spikes = _trackio_points(responses[:1])  # the first answer: the page polls and asks again later
    received = sum(len(r.body()) for r in responses[:1])
    context.close()
    return {"drawn_ms": drawn, "bytes": received, "points": points, "runs": runs, "spikesReceived": spikes,
            "spikesDrawn": spikes_drawn, "canvases": charts}


# MLflow draws with Plotly in SVG: drawn = a plot whose traces (one per run) hold points and whose line paths are in
# the SVG; the drawn data is the plot element's `data` (Plotly's own copy of what it drew).
MLFLOW_DRAWN = f"""
const el = [...document.querySelectorAll('.js-plotly-plot')].find(e => e.data && e.data.length >= {RUNS} && e.data.every(t => t.y && t.y.length));
if (!el) return null;
const paths = [...el.querySelectorAll('.scatterlayer .trace path.js-line')];
return paths.length >= {RUNS} && paths.every(p => (p.getAttribute('d') || '').length > 10) ? performance.now() : null;"""

MLFLOW_STATS = f"""() => {{
    const el = [...document.querySelectorAll('.js-plotly-plot')].find(e => e.data && e.data.length >= {RUNS});
    return {{traces: el.data.length, runs: new Set(el.data.map(t => t.name)).size, points: el.data.reduce((n, t) => n + t.y.length, 0),
             spikesDrawn: new Set(el.data.filter(t => Math.max(...t.y) > 4).map(t => t.name)).size,
             traceList: el.data.map(t => `${{t.name}}:${{t.mode || t.type}}:${{t.y.length}}`).join(' | ')}};
}}"""


def mlflow_once(browser, url: str, experiment: str) -> dict:
    """Navigation to the Plotly chart of the metric in MLflow's experiment chart view, drawn with every run."""
    context, page, responses = _open(browser, f"{url}/#/experiments/{experiment}/runs?compareRunsMode=CHART", "/metrics/get-history")
    drawn = _poll(page, MLFLOW_DRAWN)
    stats = page.evaluate(MLFLOW_STATS)
    per_run: dict[str, list[float]] = {}
    for r in responses:
        for m in r.json().get("metrics") or []:
            if m.get("key") == METRIC:
                per_run.setdefault(m["run_id"], []).append(m["value"])
    received = sum(len(r.body()) for r in responses)
    asked = sorted({q.split("=", 1)[1] for r in responses for q in r.url.split("?", 1)[-1].split("&") if q.startswith("max_results=")})
    context.close()
    return {"drawn_ms": drawn, "bytes": received, "received": sum(map(len, per_run.values())),
            "spikesReceived": sum(1 for ys in per_run.values() if max(ys) > 4), "max_results": ",".join(asked), **stats}


def _versions(python: str) -> dict[str, str]:
    out = subprocess.run([python, "-c", "import json, mlflow, trackio; print(json.dumps({'mlflow': mlflow.__version__, 'trackio': trackio.__version__}))"],
                         check=True, capture_output=True, text=True).stdout
    from importlib.metadata import version

    return {"tracklet": version("tracklet"), **json.loads(out.strip().splitlines()[-1])}


def _trackio_server(python: str, folder: str) -> ToolServer:
    """`trackio.show()` over the Trackio store ``folder``, on loopback, no browser opened."""
    port = _free_port()
    show = f"import trackio; trackio.show(project='uicmp', open_browser=False, block_thread=True, host='127.0.0.1', server_port={port})"
    return ToolServer([python, "-c", show], {"TRACKIO_DIR": folder}, folder, "/version", port)


def run_all(args: argparse.Namespace) -> dict[str, list[dict]]:
    """Build the three stores (once), start the three UI servers, and measure each in turns, a fresh page each."""
    folders = {tool: os.path.join(args.dir, tool) for tool in BUILD}
    for tool, folder in folders.items():
        _build(folder, tool, sys.executable if tool == "tracklet" else args.compare_python)
    control = os.path.join(args.dir, "trackio-control")  # every point sent: does the pixel reading see spikes?
    _build(control, "trackio", args.compare_python, CONTROL_STEPS)
    import httpx
    from playwright.sync_api import sync_playwright
    from server_process import ServerProcess

    srv = ServerProcess(folders["tracklet"]).start(timeout=120)
    servers = [srv]
    try:
        trackio = _trackio_server(args.compare_python, folders["trackio"])
        servers.append(trackio)
        port = _free_port()
        mlflow_bin = os.path.join(os.path.dirname(args.compare_python), "mlflow")
        mlflow = ToolServer([mlflow_bin, "server", "--backend-store-uri", f"sqlite:///{folders['mlflow']}/mlflow.db", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"], {}, folders["mlflow"], "/health", port)
        servers.append(mlflow)
        trackio_control = _trackio_server(args.compare_python, control)
        servers.append(trackio_control)
        ids = [r["id"] for r in httpx.get(f"{srv.url}/api/v1/runs", params={"project": "uicmp", "fields": "id"}, timeout=60).json()]
        experiment = httpx.get(f"{mlflow.url}/ajax-api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "uicmp"},
                               timeout=60).json()["experiment"]["experiment_id"]
        measure = {"tracklet": lambda b: tracklet_once(b, srv.url, ids), "trackio": lambda b: trackio_once(b, trackio.url),
                   "mlflow": lambda b: mlflow_once(b, mlflow.url, experiment)}
        results: dict[str, list[dict]] = {tool: [] for tool in measure}
        results["first"] = [{}]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            args.chromium_version = browser.version
            for tool, once in measure.items():  # warm: each server's first read, the browser's first load of its assets
                results["first"][0][tool] = once(browser)["drawn_ms"]
            results["control"] = [trackio_once(browser, trackio_control.url)]
            print(f"first pages: {results['first']}, Trackio control: {results['control']}", file=sys.stderr)
            for i in range(args.repeats):
                order = list(measure)[i % 3:] + list(measure)[: i % 3]  # turns rotate: no tool always after another
                for tool in order:
                    results[tool].append(measure[tool](browser))
                    print(f"{tool}: {results[tool][-1]}", file=sys.stderr)
            browser.close()
    finally:
        for s in reversed(servers):
            s.stop()
    return results


def _md(results: dict[str, list[dict]], args: argparse.Namespace, load: float) -> str:
    med = lambda tool, k: statistics.median(r[k] for r in results[tool])  # noqa: E731
    rng = lambda tool, k: f"{min(r[k] for r in results[tool]):,.0f}-{max(r[k] for r in results[tool]):,.0f}"  # noqa: E731
    low = lambda tool, k: min(r[k] for r in results[tool])  # noqa: E731
    t, tr, ml, v = "tracklet", "trackio", "mlflow", args.versions
    base, first, ctl = med(t, "drawn_ms"), results["first"][0], results["control"][0]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"""{SECTION}

```
.venv/bin/python benchmarks/ui_compare.py --repeats {args.repeats}
```

The same {RUNS} runs × 1 metric (`{METRIC}`) × {STEPS:,} steps in each tool's local store, each run with one one-step
spike (+{SPIKE:g}, at step {", ".join(f"{spike_step(r):,}" for r in range(RUNS))}; the curve is below 1.01 elsewhere); tracklet {v['tracklet']}
(`tracklet server`), Trackio {v['trackio']} (`trackio.show()`, its Svelte/Vega dashboard), MLflow {v['mlflow']} (`mlflow
server` over a SQLite store, its React/Plotly UI), each on loopback; Debian's Chromium {args.chromium_version} (headless,
Playwright), one browser, a fresh page per measure, the tools in turns (rotated each repeat) after one warm-up
page each; median of {args.repeats} ({when}, load {load:.1f}, this 2-core machine shared with other work: compare
ratios, not absolutes).

| {RUNS} runs × {STEPS:,} steps, one chart | tracklet | Trackio | MLflow |
|---|---:|---:|---:|
| navigation start → chart of the runs drawn (median) | {base:,.0f} ms | {med(tr, 'drawn_ms'):,.0f} ms (×{med(tr, 'drawn_ms') / base:.1f}) | {med(ml, 'drawn_ms'):,.0f} ms (×{med(ml, 'drawn_ms') / base:.1f}) |
| range | {rng(t, 'drawn_ms')} ms | {rng(tr, 'drawn_ms')} ms | {rng(ml, 'drawn_ms')} ms |
| what "drawn" is | the dashboard's `ready`, its uPlot panel with a line per run | line-coloured pixels on its Vega canvas | Plotly's traces hold points, their SVG paths are in the page |
| bytes the page fetched for the chart | {med(t, 'bytes') / 1e3:,.0f} kB (`POST /curves`) | {med(tr, 'bytes') / 1e3:,.0f} kB (`get_logs_batch`, JSON) | {med(ml, 'bytes') / 1e3:,.0f} kB (`get-history-bulk-interval`, JSON) |
| points received for the chart | {med(t, 'points'):,.0f} buckets (mean, min, max each) | {med(tr, 'points'):,.0f} ({med(tr, 'points') / RUNS:,.0f} a run: 1 step in {round(STEPS * RUNS / med(tr, 'points'))}) | {med(ml, 'received'):,.0f} (`max_results={results[ml][0]['max_results']}` a run) |
| points in the drawn series | {med(t, 'points'):,.0f} lines + their min/max bands | (canvas; not read) | {med(ml, 'points'):,.0f} in {results[ml][0]['traces']} Plotly traces for {results[ml][0]['runs']} runs ({med(ml, 'points') / results[ml][0]['traces']:,.0f} points each) |
| runs whose spike is in the data received | {low(t, 'spikesReceived')} of {RUNS} | {low(tr, 'spikesReceived')} of {RUNS} | {low(ml, 'spikesReceived')} of {RUNS} |
| runs whose spike is drawn at full zoom-out | {low(t, 'spikesDrawn')} of {RUNS} (max series > 4) | {low(tr, 'spikesDrawn')} of {RUNS} (canvas pixels) | {low(ml, 'spikesDrawn')} of {RUNS} (traces' y > 4) |
| first page of each (assets not cached, server's first read; not in the medians) | {first[t]:,.0f} ms | {first[tr]:,.0f} ms | {first[ml]:,.0f} ms |

A control for the pixel reading: the same {RUNS} runs at {CONTROL_STEPS:,} steps in another Trackio store (under its
3,000 points a run, so its server sends every point): {ctl['spikesReceived']} of {RUNS} spikes received, {ctl['spikesDrawn']} of {RUNS} read as drawn on its canvas
({ctl['drawn_ms']:,.0f} ms to drawn).

How each is read: tracklet from its uPlot instances (`window.tracklet.charts`), MLflow from the Plotly element's
own `data` (what it drew), both polled every 30 ms from navigation; Trackio draws on a canvas with nothing to read
back, so its lines are read as pixels: drawn = more than 200 saturated (line-coloured, not the grey axes and text)
pixels on the canvas, and a spike = a separate group of pixel columns (4 px apart or more), right of the curve's
steep start, with line-coloured pixels (even faint: Trackio draws the raw line faded under its smoothed one) in the
canvas's top quarter (without a spike the y axis ends near 1.0 and the curve is below there); what it received is read from its `get_logs_batch` answer. What the numbers leave out: the first page of
each tool (shown apart), zooming in (for no tool), Trackio's polling after the first draw, MLflow's other panels,
and more runs or metrics than these (tracklet's own 20 runs × 4 metrics are in the section above). Trackio's
server keeps one row in n (a power-of-two stride that fits 3,000 points a run; a spike stays only if it falls on
one), and its page draws that raw line faded under a smoothed one by default; MLflow's chart view asks for 320 sampled points a run; tracklet's buckets carry each
bucket's min and max, so the one-step spikes are on screen without zooming.
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--dir", default="/tmp/tracklet-ui-compare")
    p.add_argument("--compare-python", default=COMPARE_PY, help="the interpreter that has trackio and mlflow")
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--no-write", action="store_true", help="print the section, leave RESULTS.md as it is")
    args = p.parse_args()
    if not os.path.exists(args.compare_python):
        p.error(f"no {args.compare_python}: make it with benchmarks/setup_compare.sh, or name one with --compare-python")
    if args.fresh:
        shutil.rmtree(args.dir, ignore_errors=True)
    args.versions = _versions(args.compare_python)
    results = run_all(args)
    from _results import report

    report(_md(results, args, os.getloadavg()[0]), START, END, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
