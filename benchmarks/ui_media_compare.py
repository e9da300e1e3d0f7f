"""The workspace's Media section in headless Chromium: one media key of 20 runs side by side.

A project of 20 runs, each logging a 32x32 image and a histogram at --steps steps (1,000) and a table and a plot at
the end. The section reads the 20 runs' keys and steps in one `POST /api/v1/media/steps`, then each run's entries at
the slider's step (`GET /runs/{id}/media?key=&step=`) and their images (`GET /blobs/{digest}`). Measured in the
page: the `POST /media/steps` (from its Resource Timing entry), navigation start to the 20 images drawn, and a
slider move (the input event to the 20 new images drawn). Beside it, by httpx (no browser): that one request
against the other way, the 20 runs' whole media lists (`GET /runs/{id}/media`, 20 requests).

    .venv/bin/python benchmarks/ui_media_compare.py [--repeats 5] [--steps 1000] [--dir /tmp/tracklet-ui-media-bench] [--fresh] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
sys.path.insert(0, HERE)

from browser_helpers import wait_js  # noqa: E402
from ui_render import _build, bench_args, chromium_over  # noqa: E402

RUNS = 20
SECTION = "# Dashboard: one media key across 20 runs in headless Chromium"
START, END = "<!-- ui-media-compare:start -->", "<!-- ui-media-compare:end -->"

BUILD = r"""
import os, sys, numpy as np
os.environ.update(TRACKLET_SILENT="1", TRACKLET_SYSTEM_INTERVAL="0")
folder, runs, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.environ["TRACKLET_DIR"] = folder
import tracklet
for n in range(runs):
    run = tracklet.init(project="mediacmp", name=f"run-{n:02d}", config={"seed": n})
    rng = np.random.default_rng(n)
    for step in range(steps):
        run.log({"samples": tracklet.Image(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), caption=f"{n} {step}"),
                 "weights": tracklet.Histogram(rng.normal(step / 10, 1.0, 1000), num_bins=32), "loss": 1 / (step + 1)},
                step=step)
    table = tracklet.Table(columns=["x", "y"], data=[[i, float(rng.normal())] for i in range(200)])
    run.log({"preds": table, "curve": tracklet.plot.line(table, "x", "y", title="curve")}, step=steps - 1)
    run.finish()
"""

INDEX = """(() => { const e = performance.getEntriesByType('resource').filter(e => e.name.endsWith('/media/steps'));
  return [e.length, e[0].responseEnd - e[0].startTime, e[0].encodedBodySize]; })()"""


def once(browser, url: str, ids: list[str]) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/#/p/mediacmp?sel={','.join(ids)}&mkey=samples&mstep=50")
    drawn = f"document.querySelectorAll('.media-column img').length === {len(ids)} && " \
            "[...document.querySelectorAll('.media-column img')].every(i => i.complete && i.naturalWidth === 32)"
    wait_js(page, f"window.tracklet.mediaReady && {drawn}", timeout=120)
    first = page.evaluate("window.tracklet.mediaReadyAt")
    count, index_ms, index_bytes = page.evaluate(INDEX)
    slide = page.evaluate(SLIDE)  # at once: what the view read ahead may still be on its way
    page.wait_for_load_state("networkidle")  # a user who looks at a step first: its neighbours are read by then
    slide_idle = page.evaluate(SLIDE)
    context.close()
    assert count == 1, count
    return {"first_ms": first, "index_ms": index_ms, "index_bytes": index_bytes, "slide_ms": slide, "slide_idle_ms": slide_idle}


SLIDE = """async () => {
    const s = document.querySelector('.media-compare input[type=range]');
    const t = performance.now(); s.value = String(Number(s.value) + 1); s.dispatchEvent(new Event('input'));
    while (!(window.tracklet.mediaReady && window.tracklet.mediaReadyAt > t)) await new Promise(r => setTimeout(r, 5));
    return window.tracklet.mediaReadyAt - t; }"""


def _md(rows: list[dict], http: dict[str, float], args: argparse.Namespace, load: float) -> str:
    steps = args.steps
    med = lambda k: statistics.median(r[k] for r in rows)  # noqa: E731
    rng = lambda k: f"{min(r[k] for r in rows):.0f}-{max(r[k] for r in rows):.0f}"  # noqa: E731
    when = time.strftime("%H:%M UTC", time.gmtime())
    return f"""{SECTION}

```
.venv/bin/python benchmarks/ui_media_compare.py --repeats {args.repeats} --steps {steps}
```

Debian's Chromium {args.chromium_version} (headless, through Playwright), a real `tracklet server` over a SQLite
store of {RUNS} runs, each with a 32x32 image and a histogram logged at {steps:,} steps and a table and a plot at the
last ({2 * steps + 2:,} media entries a run); the workspace with the {RUNS} runs selected and the `samples` key at
step 50; a fresh page per repeat, median of {args.repeats} ({when}, load {load:.1f}, this 2-core machine shared
with other work).

| Media section, {RUNS} runs | median | range |
|---|---:|---:|
| the runs' keys and steps, one `POST /media/steps` ({med('index_bytes') / 1e3:.0f} KB) | {med('index_ms'):.0f} ms | {rng('index_ms')} ms |
| navigation start → the {RUNS} images drawn (the page, the runs table, the keys, 20 entries, 20 blobs) | {med('first_ms'):.0f} ms | {rng('first_ms')} ms |
| a slider move right after the draw → the {RUNS} images of the next step drawn | {med('slide_ms'):.0f} ms | {rng('slide_ms')} ms |
| the next move, once the page is idle (the neighbouring steps read ahead) | {med('slide_idle_ms'):.0f} ms | {rng('slide_idle_ms')} ms |

| Listing the media of {RUNS} runs, by httpx (no browser), median of {args.repeats} | time | bytes |
|---|---:|---:|
| `POST /media/steps` for the {RUNS} runs (this view) | {http['steps_ms']:.0f} ms | {http['steps_bytes'] / 1e3:.0f} KB |
| {RUNS} × `GET /runs/{{id}}/media`, one after another (every entry with its meta) | {http['lists_ms']:.0f} ms | {http['lists_bytes'] / 1e3:.0f} KB |
| ratio | {http['lists_ms'] / http['steps_ms']:.1f}× | {http['lists_bytes'] / http['steps_bytes']:.1f}× |

The second table is the other way the view could read them: each run's whole media list, every entry with its
meta, 2 entries a step. The view reads keys and steps in one request instead, then only the entries at the step it
shows (one small `GET /runs/{{id}}/media?key=&step=` a run; each held once read, so moving back costs no request).
Once a step is drawn, the view reads the entries and images of the slider's two neighbouring steps in the background
(the last 400 images held), so a move of one step draws from memory.
"""


def _http(url: str, ids: list[str], repeats: int) -> dict[str, float]:
    """One `POST /media/steps` against the runs' whole media lists, read by httpx; medians of ``repeats``."""
    import httpx

    steps, lists = [], []
    with httpx.Client(timeout=120) as client:
        for _ in range(repeats):
            t = time.perf_counter()
            r = client.post(f"{url}/api/v1/media/steps", json={"runs": ids})
            r.raise_for_status()
            steps.append((time.perf_counter() - t) * 1000)
            steps_bytes = len(r.content)
            t = time.perf_counter()
            lists_bytes = sum(len(client.get(f"{url}/api/v1/runs/{rid}/media").raise_for_status().content) for rid in ids)
            lists.append((time.perf_counter() - t) * 1000)
    return {"steps_ms": statistics.median(steps), "steps_bytes": steps_bytes, "lists_ms": statistics.median(lists),
            "lists_bytes": lists_bytes}


def main() -> int:
    args, folder = bench_args(__doc__, "/tmp/tracklet-ui-media-bench", 5, lambda p: p.add_argument(
        "--steps", type=int, default=1000, help="steps each run logs its image and histogram at"))
    _build(folder, f"mediacmp-{args.steps}", BUILD, RUNS, args.steps)
    import httpx

    with chromium_over(folder, args) as (srv, browser):
        ids = [r["id"] for r in httpx.get(f"{srv.url}/api/v1/runs", params={"project": "mediacmp", "fields": "id"}).json()]
        assert len(ids) == RUNS, ids
        once(browser, srv.url, ids)  # warm
        rows = [once(browser, srv.url, ids) for _ in range(args.repeats)]
        http = _http(srv.url, ids, args.repeats)
    from _results import report

    report(_md(rows, http, args, os.getloadavg()[0]), START, END, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
