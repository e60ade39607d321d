"""The hosted-model path over real HTTP: an OpenAI-compatible server on 127.0.0.1 behind --api-base."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import ttd
from tests.test_claims import Q, Wiki


class FakeOpenAI(BaseHTTPRequestHandler):
    """Speaks /v1/chat/completions; fails the first N requests with a scripted status code."""

    failures: list[int] = []
    requests: list[dict] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        if type(self).failures:
            status = type(self).failures.pop(0)
            self._send(status, {"error": {"message": f"scripted {status}", "type": "server_error"}})
            return
        prompt = "\n".join(m["content"] for m in body["messages"])
        if '{"areas"' in prompt:
            content = json.dumps(
                {
                    "areas": [
                        {"title": "Economy", "goal": "How taxation drove farmers off their land"},
                        {"title": "Army", "goal": "How the army and its Germanic foederati declined"},
                    ]
                }
            )
        elif '{"question"' in prompt:
            content = json.dumps(
                {"question": f"Question {prompt.count('Q: ') + 1} about Rome?", "covered": False}
            )
        elif '"on_topic"' in prompt:  # the facts' relevance check: every fact on topic
            facts = re.findall(r"^(\d+)\. ", prompt, re.M)
            content = json.dumps(
                {"facts": [{"fact": int(n), "about": "Rome", "on_topic": True} for n in facts]}
            )
        else:
            numbers = re.findall(r"^\[(\d+)\]", prompt, re.M) or re.findall(r"\[(\d+)\]", prompt)
            content = f"# Rome\n\nA claim [{numbers[0]}]." if numbers else "# Rome\n\nA draft."
        self._send(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            },
        )

    def _send(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    FakeOpenAI.failures, FakeOpenAI.requests = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_a_hosted_model_over_real_http_with_retries_and_dollars(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    FakeOpenAI.failures = [429, 503]  # the first call is rate limited, then the server hiccups
    report = ttd.research(
        Q,
        model="openai/gpt-4.1-mini",
        api_base=server,
        steps=1,
        retries=3,
        out=tmp_path,
        retriever=Wiki(),
        few_facts=0,  # the report is written, not its few facts set out
    )
    assert (
        len(FakeOpenAI.requests) == 2 + 7
    )  # two failed tries, then plan, draft, question, answer, revise, the facts' relevance check, report
    assert all(
        r["path"] == "/v1/chat/completions" and r["auth"] == "Bearer sk-test" for r in FakeOpenAI.requests
    )
    assert report.usage.calls[0]["attempts"] == 3
    assert report.usage.total.prompt_tokens == 700 and report.usage.total.completion_tokens == 140
    assert (
        report.usage.total.cost_usd and report.usage.total.cost_usd > 0
    )  # litellm knows gpt-4.1-mini's price
    plan_request = FakeOpenAI.requests[2]
    assert plan_request["response_format"] == {"type": "json_object"}  # JSON mode where the provider has it
    # the writer's one cited source, and those of the checked facts it left out (added under their groups)
    assert report.citations.cited >= 1 and report.citations.cited - 1 <= report.citations.facts_added
    # "A claim [1]." is too short to be a claim: nothing of the writer's own to ask it again about
    assert report.citations.own_claims == 0 and report.citations.rewrites == 0


def test_a_server_that_keeps_failing_surfaces_after_the_retries(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    FakeOpenAI.failures = [500] * 10
    with pytest.raises(Exception, match="500|scripted"):
        ttd.research(
            "Why did Rome fall?",
            model="openai/gpt-4.1-mini",
            api_base=server,
            steps=1,
            retries=1,
            out=tmp_path,
        )
    assert len(FakeOpenAI.requests) == 2  # one try and one retry, then the error


def test_evolution_sampling_params_reach_a_hosted_provider_only_where_supported(
    server, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    report = ttd.research(
        "Why did Rome fall?",
        model="openai/gpt-4.1-mini",
        api_base=server,
        steps=1,
        evolution={"n": {"answer": 2}},
        out=tmp_path,
    )
    answer_samples = [r for r in FakeOpenAI.requests if "Passages:" in r["messages"][-1]["content"]][:2]
    assert sorted(r["temperature"] for r in answer_samples) == [0.4, 0.8]
    assert all("top_k" not in r for r in FakeOpenAI.requests)  # OpenAI has no top_k: dropped, not sent
    assert report.trajectory.evolution[0]["how"] == "merge"
