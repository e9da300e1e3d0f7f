"""While it serves, the server makes the chart blocks of what arrived, so a chart need not make them."""

from __future__ import annotations

import asyncio

import pytest

from helpers import wait_until
from server_client import ServerClient, earlier_garbage_collected, logged_run, make_app  # noqa: F401 (a fixture)
from tracklet.store.sql._lite import connect_readonly

pytestmark = pytest.mark.unit


def _marked(root: str) -> int:
    conn = connect_readonly(root)
    try:
        return conn.execute("SELECT COUNT(*) FROM history_dirty").fetchone()[0]
    finally:
        conn.close()


def test_a_run_sent_to_the_server_gets_its_chart_blocks_in_the_background(tmp_path):
    root = str(tmp_path / "server")
    run_id, data = logged_run(str(tmp_path / "client"), steps=3_000)
    app = make_app(root)
    assert ServerClient(app).send_log(run_id, data).status_code == 200
    assert _marked(root) > 0  # ingest marks; nothing has made the blocks yet

    async def serve_until_made() -> None:
        async with app.router.lifespan_context(app):  # what uvicorn runs around serving
            await asyncio.to_thread(wait_until, lambda: _marked(root) == 0, 20)

    asyncio.run(serve_until_made())
    got = ServerClient(app).get(f"/api/v1/runs/{run_id}/curves", params={"keys": "loss", "points": 10})
    assert got.status_code == 200
    loss = got.json()["loss"]
    assert 0 < len(loss["x"]) <= 10 and max(loss["max"]) == 1.0  # step 0's loss, kept by its bucket
