"""The dashboard's traces views in headless Chromium: a project of 10,000 traces, and an evaluation of 1,000 rows.

Debian's /usr/bin/chromium through Playwright, a real `tracklet server` over a store made by real `@tracklet.op`
calls and a real `tracklet.Evaluation` (built once under --dir, reused; --fresh builds it again), a fresh page per
repeat, medians of the repeats. First render = navigation start to the view drawn (`window.tracklet.readyAt`:
the page loaded, the calls fetched and drawn); a click = the click to the next frame after the table or tree is
drawn again (a sort waits for the server's answer).

    .venv/bin/python benchmarks/ui_traces.py [--repeats 3] [--dir /tmp/tracklet-ui-traces-bench] [--fresh] [--no-write]
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
from ui_render import AFTER_FRAME, _build, bench_args, chromium_over  # noqa: E402

TRACES, ROWS = 10_000, 1_000
SECTION = "# Dashboard: traces and evaluations in headless Chromium"
START, END = "<!-- ui-traces:start -->", "<!-- ui-traces:end -->"

BUILD = r"""
import asyncio, os, sys
os.environ.update(TRACKLET_SILENT="1")
import tracklet
from tracklet.tracing import record_usage
folder, traces, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tracklet.init_tracing("bench", dir=folder)

@tracklet.op
def retrieve(question: str) -> list:
    return [question] * 2

@tracklet.op
def generate(prompt: str) -> str:
    record_usage("gpt-4o-mini", prompt_tokens=len(prompt), completion_tokens=7)
    return prompt[::-1]

@tracklet.op
def rag(question: str) -> str:
    return generate(f"{retrieve(question)} {question}")

for i in range(traces):
    rag(f"question {i}" + " long" * (i % 17))

def exact(expected: str, output: str) -> bool:
    return output == expected

def length(output: str) -> dict:
    return {"chars": len(output)}

@tracklet.op
def model(question: str) -> str:
    return question[::-1]

dataset = [{"question": f"q{i}", "expected": f"{i}q"} for i in range(rows)]
asyncio.run(tracklet.Evaluation(dataset=dataset, scorers=[exact, length], name="bench").evaluate(model))
tracklet.tracing.stop_tracing()
"""

REDRAWN = "await new Promise(r => new MutationObserver((m, o) => { o.disconnect(); r(); }).observe(box, {childList: true, subtree: true}));"


def list_once(browser, url: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/#/p/bench/traces")
    first = wait_js(page, "window.tracklet.ready && window.tracklet.readyAt", timeout=60)
    rows = page.evaluate("document.querySelectorAll('table.calls tbody tr[data-call]').length")
    slowest = page.evaluate(f"""async () => {{
        const box = document.querySelector('.scroller.tall');
        const b = [...document.querySelectorAll('button')].find(b => b.textContent === 'Slowest first');
        const t = performance.now(); b.click(); {REDRAWN} {AFTER_FRAME} return performance.now() - t; }}""")
    context.close()
    return {"first_ms": first, "rows": rows, "slowest_ms": slowest}


def tree_once(browser, url: str, call_id: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/#/p/bench/traces/{call_id}")
    first = wait_js(page, "window.tracklet.ready && window.tracklet.readyAt", timeout=120)
    nodes = page.evaluate("document.querySelectorAll('.call-tree li[data-call]').length")
    calls = page.evaluate("+document.querySelector('.page-head h2 + .muted').textContent.split(' ')[0].replace(/,/g, '')")
    bytes_ = page.evaluate("performance.getEntriesByType('resource').filter(e => e.name.includes('trace_id='))"
                           ".reduce((s, e) => s + e.encodedBodySize, 0)")
    toggle = page.evaluate(f"""async () => {{
        const box = document.querySelector('.call-tree');
        const b = box.querySelector('button.toggle');
        const t = performance.now(); b.click(); {AFTER_FRAME} const closed = performance.now() - t;
        const b2 = box.querySelector('button.toggle');
        const t2 = performance.now(); b2.click(); {AFTER_FRAME} return [closed, performance.now() - t2]; }}""")
    context.close()
    return {"first_ms": first, "nodes": nodes, "calls": calls, "bytes": bytes_, "collapse_ms": toggle[0], "expand_ms": toggle[1]}


def _md(lists: list[dict], trees: list[dict], args: argparse.Namespace, load: float) -> str:
    med = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
    rng = lambda rows, k: f"{min(r[k] for r in rows):.0f}-{max(r[k] for r in rows):.0f}"  # noqa: E731
    when = time.strftime("%H:%M UTC", time.gmtime())
    return f"""{SECTION}

```
.venv/bin/python benchmarks/ui_traces.py --repeats {args.repeats}
```

Debian's Chromium {args.chromium_version} (headless, through Playwright), a real `tracklet server` over a store of
{TRACES:,} traced `rag` calls (3 calls each) and one `tracklet.Evaluation` of {ROWS:,} rows with 2 scorers, on
loopback; a fresh page per repeat, median of {args.repeats} ({when}, load {load:.1f}, this 2-core machine shared
with other work).

| Traces | median | range |
|---|---:|---:|
| calls list first render ({lists[0]['rows']} newest root calls of {TRACES + 1:,}; navigation start → drawn) | {med(lists, 'first_ms'):.0f} ms | {rng(lists, 'first_ms')} ms |
| `Slowest first` (click → the server's answer drawn) | {med(lists, 'slowest_ms'):.0f} ms | {rng(lists, 'slowest_ms')} ms |
| the evaluation's call page: a trace of {trees[0]['calls']:,} calls, {trees[0]['nodes']:,} nodes drawn (the root's children), the root's details | {med(trees, 'first_ms'):.0f} ms | {rng(trees, 'first_ms')} ms |
| of which the trace's calls received (JSON, inputs and outputs included) | {med(trees, 'bytes') / 1e6:.2f} MB | |
| collapse the root (click → next frame) | {med(trees, 'collapse_ms'):.0f} ms | {rng(trees, 'collapse_ms')} ms |
| expand it again ({trees[0]['nodes']:,} nodes drawn again) | {med(trees, 'expand_ms'):.0f} ms | {rng(trees, 'expand_ms')} ms |

The list asks the server for 200 calls at a time, filtered and sorted there (`GET /api/v1/calls?roots=true&order=...`);
the call page reads the whole trace in one `GET /api/v1/calls?trace_id=`; a trace of more than 300 calls opens
with only its root's children drawn, and opening or closing a node draws that node again, not the tree. Before
these two, on the same data: the evaluation's page drew all 4,001 nodes in 866 ms (first render) and expanding
the root took 579 ms.
"""


def main() -> int:
    args, folder = bench_args(__doc__, "/tmp/tracklet-ui-traces-bench", 3)
    _build(folder, "traces", BUILD, TRACES, ROWS)
    import httpx

    with chromium_over(folder, args) as (srv, browser):
        (ev,) = httpx.get(f"{srv.url}/api/v1/calls", params={"project": "bench", "kind": "evaluation"}, timeout=300).json()
        list_once(browser, srv.url)  # warm
        lists = [list_once(browser, srv.url) for _ in range(args.repeats)]
        trees = [tree_once(browser, srv.url, ev["id"]) for _ in range(args.repeats)]
    from _results import report

    report(_md(lists, trees, args, os.getloadavg()[0]), START, END, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
