"""Screenshots of the dashboard's main pages for the README: `make screenshots` (docs/screenshots/*.png); with names
(`python tests/e2e/screenshots.py media-compare`) only those.

Builds the demo store (``demo_store.py``: real tracklet runs), serves it with `tracklet server`, and photographs
each page in Debian's headless Chromium, light theme, plus the charts, a trace and a sweep in the dark theme.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from browser_helpers import ARGS, CHROMIUM, wait_js  # noqa: E402
from demo_store import build  # noqa: E402
from server_process import ServerProcess  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "screenshots")


def _ready(page, expression: str = "window.tracklet && window.tracklet.ready") -> None:
    wait_js(page, expression, timeout=30)
    time.sleep(0.3)  # fonts and the last frame


def main(only: list[str]) -> int:
    import httpx
    from playwright.sync_api import sync_playwright

    os.makedirs(OUT, exist_ok=True)
    folder = build(os.path.join(tempfile.mkdtemp(prefix="tracklet-shots-"), "store"))
    srv = ServerProcess(folder).start()
    try:
        runs = {r["name"]: r["id"] for r in httpx.get(f"{srv.url}/api/v1/runs?project=demo&fields=id&fields=name").json()}
        (failed,) = httpx.get(f"{srv.url}/api/v1/calls?project=llm&roots=true&status=error").json()
        (sweep,) = httpx.get(f"{srv.url}/api/v1/sweeps?project=tune").json()
        lora = ",".join(runs[n] for n in ("lora-r8", "lora-r16", "lora-r32"))
        media = httpx.get(f"{srv.url}/api/v1/runs?project=media&fields=id").json()[0]["id"]
        table = f"#/p/media/run/{media}?tab=media&mkey=eval/predictions&tsort=-score&tfilter=label+%3D%3D+dog"
        shots = [
            ("projects", "#/", "light", 560),
            ("runs-and-charts", f"#/p/demo?sel={lora}&smooth=0.6&closed=charts&filter=config.lora_r+>%3D+4", "light", 1150),
            ("spike", f"#/p/demo?sel={runs['long-spike']}&panels=train/loss&filter=tags+~+long", "light", 700),
            ("run-config-diff", f"#/p/demo/run/{runs['lora-r16']}?diff={runs['lora-r8']}", "light", 900),
            ("run-console", f"#/p/demo/run/{runs['lora-r16']}?tab=console", "light", 420),
            ("artifact-lineage", "#/p/demo/artifacts/adapter?tab=lineage", "light", 460),
            ("artifacts", "#/p/demo/artifacts", "light", 420),
            ("registry", "#/registry/chat-adapter", "light", 560),
            ("run-media-table", table, "light", 760),
            ("run-media-image", f"#/p/media/run/{media}?tab=media&mkey=samples/image", "light", 420),
            ("run-media-histogram", f"#/p/media/run/{media}?tab=media&mkey=weights", "light", 480),
            ("run-media-plot", f"#/p/media/run/{media}?tab=media&mkey=plots/series", "light", 640),
            ("media-compare", "#/p/compare?closed=charts&mkey=samples&mstep=8", "light", 820),
            ("run-media-table-dark", table, "dark", 760),
            ("runs-and-charts-dark", f"#/p/demo?sel={lora}&smooth=0.6&closed=charts&filter=config.lora_r+>%3D+4", "dark", 1150),
            ("traces", "#/p/llm/traces?order=-latency_ms", "light", 560),
            ("trace", f"#/p/llm/traces/{failed['id']}", "light", 1000),
            ("evaluations", "#/p/llm/evaluations", "light", 560),
            ("sweep", f"#/p/tune/sweeps/{sweep['id']}", "light", 1000),
            ("trace-dark", f"#/p/llm/traces/{failed['id']}", "dark", 1000),
            ("sweep-dark", f"#/p/tune/sweeps/{sweep['id']}", "dark", 1000),
        ]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, fragment, scheme, height in shots:
                if only and name not in only:
                    continue
                context = browser.new_context(viewport={"width": 1360, "height": height}, color_scheme=scheme,
                                              device_scale_factor=1)
                page = context.new_page()
                page.goto(f"{srv.url}/{fragment}")
                _ready(page)
                if name == "artifact-lineage":
                    _ready(page, "document.querySelector('.lineage')")
                if name == "media-compare":
                    _ready(page, "window.tracklet.mediaReady")
                if name.startswith("run-media-table"):
                    _ready(page, "window.tracklet.tableView && window.tracklet.tableView.ready")
                page.screenshot(path=os.path.join(OUT, f"{name}.png"))
                context.close()
                print(f"docs/screenshots/{name}.png")
            browser.close()
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
