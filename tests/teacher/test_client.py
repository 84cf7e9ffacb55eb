"""TeacherClient against a scripted OpenAI-compatible server (httpx.MockTransport at the HTTP boundary)."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time

import httpx
import pytest

from phqwatch.errors import ConfigError
from phqwatch.teacher.client import Pricing, TeacherCallError, TeacherClient, parse_retry_after
from phqwatch.teacher.rubric import build_messages, response_format

from .conftest import SECRET, FakeServer, completion

MESSAGES = build_messages("I feel fine.")


def run(coro):
    return asyncio.run(coro)


def make_client(settings, server, sleeps=None, **kw):
    async def sleep(s: float) -> None:
        if sleeps is not None:
            sleeps.append(s)

    return TeacherClient(settings, transport=server.transport, sleep=sleep, rng=random.Random(0), **kw)


async def chat_once(client, **kw):
    async with client:
        return await client.chat(MESSAGES, **kw)


def test_success_counts_tokens_and_cost(settings):
    answer = completion("{}", prompt_tokens=1200, completion_tokens=300)
    server = FakeServer(lambda body, i: httpx.Response(200, json=answer))
    client = make_client(settings, server, pricing=Pricing(prompt_per_1k=0.5, completion_per_1k=2.0))
    result = run(chat_once(client))
    assert result.content == "{}" and result.attempts == 1
    assert client.usage.prompt_tokens == 1200 and client.usage.completion_tokens == 300
    assert client.usage.total_tokens == 1500
    assert client.usage.cost == pytest.approx(1.2 * 0.5 + 0.3 * 2.0)
    req = server.requests[0]
    assert req.url.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {SECRET}"
    assert server.bodies[0]["model"] == "fake-teacher" and server.bodies[0]["temperature"] == 0.0


def test_429_honours_retry_after(settings):
    def handler(body, i):
        if i == 0:
            return httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "slow down"})
        return httpx.Response(200, json=completion("ok"))

    server, sleeps = FakeServer(handler), []
    client = make_client(settings, server, sleeps)
    result = run(chat_once(client))
    assert result.content == "ok" and result.attempts == 2
    assert sleeps == [7.0]
    assert client.usage.retries == 1 and client.usage.http_attempts == 2


def test_retry_after_http_date_and_garbage():
    now = time.time()
    date = email.utils.formatdate(now + 5, usegmt=True)
    assert 3.0 <= parse_retry_after(date, now=now) <= 5.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("100000") == 60.0  # capped


def test_500_backs_off_exponentially_with_jitter_then_gives_up(settings):
    server, sleeps = FakeServer(lambda body, i: httpx.Response(503, text="overloaded")), []
    client = make_client(settings, server, sleeps, backoff_base_s=1.0)
    with pytest.raises(TeacherCallError) as exc:
        run(chat_once(client))
    assert exc.value.kind == "server_error" and exc.value.status == 503
    assert exc.value.attempts == settings.teacher_max_retries + 1 == len(server.bodies)
    assert len(sleeps) == settings.teacher_max_retries
    for k, s in enumerate(sleeps, 1):  # full jitter within [cap/2, cap], cap doubling
        cap = 1.0 * 2 ** (k - 1)
        assert cap / 2 <= s <= cap


def test_500_then_success(settings):
    server = FakeServer(lambda body, i: httpx.Response(500) if i < 2 else httpx.Response(200, json=completion("x")))
    result = run(chat_once(make_client(settings, server, [])))
    assert result.attempts == 3 and result.content == "x"


@pytest.mark.parametrize(
    ("exc", "kind"),
    [(httpx.ReadTimeout("read timed out"), "timeout"), (httpx.ConnectError("refused"), "connection")],
)
def test_timeouts_and_connection_errors_are_retried(settings, exc, kind):
    def handler(body, i):
        if i < 2:
            raise exc
        return httpx.Response(200, json=completion("fine"))

    server = FakeServer(handler)
    assert run(chat_once(make_client(settings, server, []))).attempts == 3

    always = FakeServer(lambda body, i: (_ for _ in ()).throw(exc))
    with pytest.raises(TeacherCallError) as err:
        run(chat_once(make_client(settings, always, [])))
    assert err.value.kind == kind and err.value.attempts == settings.teacher_max_retries + 1


@pytest.mark.parametrize(
    "bad",
    [
        httpx.Response(200, text='{"choices": [{"message": {"content": "trunc'),  # truncated body
        httpx.Response(200, text="<html>proxy error</html>"),
        httpx.Response(200, json={"choices": []}),
        httpx.Response(200, json={"object": "chat.completion"}),
    ],
)
def test_malformed_bodies_are_retried(settings, bad):
    server = FakeServer(lambda body, i: bad if i == 0 else httpx.Response(200, json=completion("good")))
    client = make_client(settings, server, [])
    result = run(chat_once(client))
    assert result.content == "good" and result.attempts == 2


def test_malformed_forever_fails_with_bad_response(settings):
    server = FakeServer(lambda body, i: httpx.Response(200, text="nope"))
    with pytest.raises(TeacherCallError) as err:
        run(chat_once(make_client(settings, server, [])))
    assert err.value.kind == "bad_response"


def test_auth_error_is_not_retried(settings):
    server = FakeServer(lambda body, i: httpx.Response(401, json={"error": "bad key"}))
    with pytest.raises(TeacherCallError) as err:
        run(chat_once(make_client(settings, server, [])))
    assert err.value.kind == "auth" and len(server.bodies) == 1
    assert "API_KEY" in (err.value.fix or "")


def test_schema_rejection_steps_down_and_is_recorded(settings, caplog):
    def handler(body, i):
        rf = body.get("response_format")
        if rf and rf["type"] == "json_schema":
            return httpx.Response(400, json={"error": {"message": "response_format json_schema is not supported"}})
        if rf and rf["type"] == "json_object":
            return httpx.Response(422, json={"detail": "Input should be 'text' (response_format.type json_object)"})
        return httpx.Response(200, json=completion('{"a": 1}'))

    server = FakeServer(handler)
    client = make_client(settings, server, [])

    async def two_calls():
        async with client:
            first = await client.chat(MESSAGES, response_format=response_format())
            second = await client.chat(MESSAGES, response_format=response_format())
            return first, second

    with caplog.at_level(logging.WARNING, logger="phqwatch.teacher.client"):
        first, second = run(two_calls())
    sent = [b.get("response_format", {}).get("type") for b in server.bodies]
    assert sent == ["json_schema", "json_object", None, None]
    assert first.attempts == 1 and first.output_format == "plain" and second.output_format == "plain"
    assert client.output_format == "plain"
    assert "json_schema" in client.structured_fallback_reason and "json_object" in client.structured_fallback_reason
    assert sum("unavailable" in r.message for r in caplog.records) == 2  # logged once per step, not per call


def test_schema_accepted_is_kept(settings):
    server = FakeServer(lambda body, i: httpx.Response(200, json=completion("{}")))
    client = make_client(settings, server, [])
    result = run(chat_once(client, response_format=response_format()))
    assert result.output_format == "json_schema" and client.format_confirmed
    assert server.bodies[0]["response_format"]["json_schema"]["strict"] is True


def test_llamacpp_style_500_schema_rejection_is_not_retried_as_server_error(settings):
    msg = "1 validation error: ('body', 'response_format', 'type') Input should be 'text' or 'json_object'"

    def handler(body, i):
        if body.get("response_format", {}).get("type") == "json_schema":
            return httpx.Response(500, json={"error": {"message": msg}})
        return httpx.Response(200, json=completion("{}"))

    server, sleeps = FakeServer(handler), []
    client = make_client(settings, server, sleeps)
    result = run(chat_once(client, response_format=response_format()))
    assert result.output_format == "json_object" and sleeps == [] and client.usage.retries == 0


def test_structured_always_refuses_fallback(settings):
    server = FakeServer(lambda body, i: httpx.Response(400, json={"error": "unknown field response_format"}))
    with pytest.raises(TeacherCallError):
        run(chat_once(make_client(settings, server, [], structured="always"), response_format=response_format()))


def test_concurrency_is_bounded(settings):
    state = {"now": 0, "max": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        await asyncio.sleep(0.01)
        state["now"] -= 1
        return httpx.Response(200, json=completion("{}"))

    client = TeacherClient(settings, transport=httpx.MockTransport(handler))

    async def many():
        async with client:
            await asyncio.gather(*(client.chat(MESSAGES) for _ in range(10)))

    run(many())
    assert state["max"] == settings.teacher_max_concurrency == 2
    assert client.usage.calls == 10


def test_api_key_never_logged_or_in_errors(settings, caplog):
    def handler(body, i):
        if i % 3 == 0:
            return httpx.Response(429, headers={"Retry-After": "0"})
        if i % 3 == 1:
            raise httpx.ConnectError("refused")
        return httpx.Response(500, text="boom")

    client = make_client(settings, FakeServer(handler), [])
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(TeacherCallError) as err:
            run(chat_once(client))
    assert caplog.records, "expected retry warnings to be logged"
    assert SECRET not in caplog.text
    assert SECRET not in str(err.value) and SECRET not in repr(client)
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())


def test_missing_endpoint_or_model_is_a_config_error(settings):
    with pytest.raises(ConfigError, match="TEACHER_BASE_URL"):
        TeacherClient(settings.model_copy(update={"teacher_base_url": None}))
    with pytest.raises(ConfigError, match="TEACHER_MODEL"):
        TeacherClient(settings.model_copy(update={"teacher_model": None}))
