"""A small LLM API server on loopback for tracing tests: OpenAI's chat completions and Responses API, and
Anthropic's messages, whole or streamed (server-sent events), with token usage. Answers echo the last user
message's words reversed.

    with LLMServer() as srv:
        client = openai.OpenAI(base_url=srv.url, api_key="test")
        claude = anthropic.Anthropic(base_url=srv.root, api_key="test")
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LLMServer"]


def _prompt(body: dict[str, Any]) -> str:
    if "messages" in body:
        return str(body["messages"][-1]["content"])
    given = body.get("input")
    if isinstance(given, list):
        return str(given[-1].get("content", ""))
    return str(given or "")


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _events(self, events: list[tuple[str | None, Any]]) -> None:
        parts = []
        for name, data in events:
            head = f"event: {name}\n" if name else ""
            parts.append(f"{head}data: {data if isinstance(data, str) else json.dumps(data)}\n\n")
        self._send(200, "".join(parts).encode(), "text/event-stream")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self.server.requests.append((self.path, body))  # type: ignore[attr-defined]
        prompt = _prompt(body)
        if prompt == "fail":
            self._send(500, json.dumps({"error": {"message": "the model failed", "type": "server_error"}}).encode())
            return
        answer = " ".join(reversed(prompt.split()))
        model = body.get("model", "gpt-4o-mini")
        p, c = _tokens(prompt), _tokens(answer)
        if self.path.endswith("/chat/completions"):
            self._chat(body, model, answer, p, c)
        elif self.path.endswith("/responses"):
            self._responses(body, model, answer, p, c)
        elif self.path.endswith("/messages"):
            self._messages(body, model, answer, p, c)
        else:
            self._send(404, b'{"error": {"message": "no such route"}}')

    def _chat(self, body: dict[str, Any], model: str, answer: str, p: int, c: int) -> None:
        usage = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
        base = {"id": "chatcmpl-1", "created": int(time.time()), "model": f"{model}-2024-07-18"}
        if not body.get("stream"):
            self._send(200, json.dumps({**base, "object": "chat.completion", "usage": usage, "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}]}).encode())
            return
        chunks = [{**base, "object": "chat.completion.chunk", "choices": [
            {"index": 0, "delta": {"content": w + " "}, "finish_reason": None}]} for w in answer.split()]
        chunks.append({**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        self._events([(None, ch) for ch in chunks] + [(None, "[DONE]")])

    def _responses(self, body: dict[str, Any], model: str, answer: str, p: int, c: int) -> None:
        response = {
            "id": "resp_1", "object": "response", "created_at": time.time(), "model": f"{model}-2024-07-18", "status": "completed",
            "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": answer, "annotations": []}]}],
            "usage": {"input_tokens": p, "output_tokens": c, "total_tokens": p + c,
                      "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
        }
        if not body.get("stream"):
            self._send(200, json.dumps(response).encode())
            return
        events = [("response.created", {"type": "response.created", "sequence_number": 0, "response": {**response, "status": "in_progress", "output": []}})]
        for i, w in enumerate(answer.split()):
            events.append(("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": i + 1, "item_id": "msg_1",
                                                          "output_index": 0, "content_index": 0, "delta": w + " ", "logprobs": []}))
        events.append(("response.completed", {"type": "response.completed", "sequence_number": 99, "response": response}))
        self._events(events)


    def _messages(self, body: dict[str, Any], model: str, answer: str, p: int, c: int) -> None:
        message = {"id": "msg_1", "type": "message", "role": "assistant", "model": model, "stop_reason": "end_turn",
                   "stop_sequence": None, "content": [{"type": "text", "text": answer}],
                   "usage": {"input_tokens": p, "output_tokens": c}}
        if not body.get("stream"):
            self._send(200, json.dumps(message).encode())
            return
        events = [("message_start", {"type": "message_start", "message": {**message, "content": [], "stop_reason": None,
                                                                          "usage": {"input_tokens": p, "output_tokens": 1}}}),
                  ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})]
        for w in answer.split():
            events.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w + " "}}))
        events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                   ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                      "usage": {"output_tokens": c}}),
                   ("message_stop", {"type": "message_stop"})]
        self._events(events)


class LLMServer:
    """The server on a free loopback port, in a thread; ``url`` is OpenAI's ``base_url``, ``root`` Anthropic's."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.requests = []  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        return self._server.requests  # type: ignore[attr-defined]

    def __enter__(self) -> LLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
