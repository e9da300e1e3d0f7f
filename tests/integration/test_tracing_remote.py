"""Remote mode: calls reach a real server through the trace log's uploader, and read back through Api(base_url=...)."""

import pytest

import tracklet
from server_process import ServerProcess
from tracklet.tracing import stop_tracing

pytestmark = pytest.mark.integration


def test_calls_made_in_remote_mode_are_read_back_from_the_server(tmp_path, monkeypatch):
    srv = ServerProcess(str(tmp_path / "server-store"), key=True).start()
    try:
        monkeypatch.setenv("TRACKLET_BASE_URL", srv.url)
        monkeypatch.setenv("TRACKLET_API_KEY", srv.key)
        tracklet.init_tracing("remote-proj")

        @tracklet.op
        def leaf(x: int) -> int:
            tracklet.tracing.record_usage("gpt-4o-mini", 10, 5)
            return x + 1

        @tracklet.op
        def root(n: int) -> list:
            return [leaf(i) for i in range(n)]

        assert root(3) == [1, 2, 3]
        stop_tracing()  # waits for the server to hold the whole trace log
        api = tracklet.Api(base_url=srv.url, api_key=srv.key)
        calls = api.calls("remote-proj", {"roots": True})
        assert [c.op_name for c in calls] == ["root"]
        assert calls[0].total_tokens == 45 and len(calls[0].children) == 3
        calls[0].feedback.add("reaction", "👍")
        assert [f["value"] for f in api.call(calls[0].id).feedback] == ["👍"]
        assert len(api.calls("remote-proj", {"feedback": "reaction"})) == 1
    finally:
        stop_tracing()
        srv.stop()


def test_tracklet_sync_to_sends_the_calls_a_server_did_not_get(tmp_path, monkeypatch):
    from tracklet.cli import main

    store = str(tmp_path / "offline")
    tracklet.init_tracing("later", dir=store)  # local: nothing sent

    @tracklet.op
    def work(x: int) -> int:
        return x * 2

    assert [work(i) for i in range(3)] == [0, 2, 4]
    stop_tracing()
    srv = ServerProcess(str(tmp_path / "server-store"), key=True).start()
    try:
        monkeypatch.setenv("TRACKLET_API_KEY", srv.key)
        assert main(["sync", store, "--to", srv.url]) == 0
        assert main(["sync", store + "/traces", "--to", srv.url]) == 0  # again: already there
        calls = tracklet.Api(base_url=srv.url, api_key=srv.key).calls("later")
        assert [c.output for c in calls] == [0, 2, 4]
    finally:
        srv.stop()
