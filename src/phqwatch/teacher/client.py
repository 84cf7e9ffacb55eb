"""OpenAI-compatible chat-completions client for the LLM teacher (vLLM, llama.cpp, Ollama, OpenAI, gateways).

- async over httpx, concurrency bounded by a semaphore (Settings.teacher_max_concurrency);
- retries with exponential backoff and full jitter on 429, 5xx, timeouts, connection errors and unreadable
  bodies, honouring Retry-After;
- structured output when the server accepts it: `response_format` json_schema first, then json_object
  (OpenAI JSON mode; llama.cpp's server constrains it with a JSON grammar), then plain JSON prompting.
  Each step down is recorded (`structured_fallback_reason`) and logged once, never silent;
- token accounting from `usage`, cost from per-1k-token prices.

The API key goes only into the Authorization header: it is never logged, never put in an error message,
and message text is never logged either (PHI).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from phqwatch.config import Settings
from phqwatch.errors import ConfigError, TeacherError

log = logging.getLogger(__name__)

#: Output formats from most to least structured; the client steps down when a server rejects one.
FORMAT_LADDER = ("json_schema", "json_object", "plain")
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: Never wait longer than this for one Retry-After (seconds).
MAX_RETRY_AFTER_S = 60.0


@dataclass(frozen=True)
class Pricing:
    """Price per 1,000 tokens (any currency; the sums are reported in the same unit)."""

    prompt_per_1k: float = 0.0
    completion_per_1k: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return prompt_tokens / 1000.0 * self.prompt_per_1k + completion_tokens / 1000.0 * self.completion_per_1k


@dataclass
class Usage:
    """Running totals over every call this client made (including retried ones that returned usage)."""

    calls: int = 0
    http_attempts: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ChatResult:
    """One successful completion."""

    content: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    attempts: int
    output_format: str  # json_schema, json_object or plain
    latency_s: float


class TeacherCallError(TeacherError):
    """A call failed for good. `kind` is one of: rate_limited, server_error, timeout, connection,
    bad_response, http_error, auth."""

    def __init__(self, message: str, *, kind: str, attempts: int, status: int | None = None, fix: str | None = None):
        self.kind, self.attempts, self.status = kind, attempts, status
        super().__init__(message, fix=fix)


class _Retryable(Exception):
    def __init__(self, kind: str, status: int | None = None, retry_after: float | None = None, detail: str = ""):
        self.kind, self.status, self.retry_after, self.detail = kind, status, retry_after, detail
        super().__init__(kind)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, min(MAX_RETRY_AFTER_S, float(value)))
    except ValueError:
        pass
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    wait = dt.timestamp() - (time.time() if now is None else now)
    return max(0.0, min(MAX_RETRY_AFTER_S, wait))


def _looks_like_format_rejection(status: int, body: str) -> bool:
    """An error that complains about response_format / json_schema (the server lacks structured output).

    llama.cpp's Python server answers HTTP 500 with a validation message for this, others 400/422/501.
    """
    if status not in (400, 404, 422, 500, 501):
        return False
    b = body.lower()
    return any(k in b for k in ("response_format", "json_schema", "json schema", "json_object"))


class TeacherClient:
    """Async client for one OpenAI-compatible endpoint. Use as `async with TeacherClient(settings) as c:`.

    `transport` replaces the HTTP transport (tests use httpx.MockTransport); `sleep` and `rng` make the
    backoff testable; `structured` = "auto" (json_schema, stepping down the FORMAT_LADDER when rejected),
    "always" (json_schema or fail), "json_object" (start at JSON mode) or "never" (plain prompting).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        pricing: Pricing | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        structured: str = "auto",
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not settings.teacher_base_url:
            raise ConfigError(
                "No teacher endpoint is configured (teacher_base_url is empty).",
                fix="Set PHQWATCH_TEACHER_BASE_URL, e.g. http://127.0.0.1:8080/v1 for a local llama.cpp server.",
            )
        if not settings.teacher_model:
            raise ConfigError(
                "No teacher model is configured (teacher_model is empty).",
                fix="Set PHQWATCH_TEACHER_MODEL to the model name the server serves (see GET /v1/models).",
            )
        if structured not in ("auto", "always", "json_object", "never"):
            raise ConfigError(f"structured={structured!r}; expected 'auto', 'always', 'json_object' or 'never'.")
        self.settings = settings
        self.model = settings.teacher_model
        self.url = settings.teacher_base_url.rstrip("/") + "/chat/completions"
        self.pricing = pricing or Pricing()
        self.usage = Usage()
        self.structured_mode = structured
        self.format_level = {"never": 2, "json_object": 1}.get(structured, 0)
        self.format_confirmed = False  # True once the server accepted the current format
        self.structured_fallback_reason: str | None = None
        self._backoff_base = backoff_base_s
        self._backoff_max = backoff_max_s
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._sem = asyncio.Semaphore(settings.teacher_max_concurrency)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if settings.teacher_api_key is not None:
            headers["Authorization"] = f"Bearer {settings.teacher_api_key.get_secret_value()}"
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(settings.teacher_timeout_s),
            transport=transport,
            limits=httpx.Limits(max_connections=settings.teacher_max_concurrency * 2),
        )

    def __repr__(self) -> str:  # never shows the key
        return f"TeacherClient(url={self.url!r}, model={self.model!r})"

    async def __aenter__(self) -> TeacherClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------------------------------ calls
    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1-based): Retry-After if given, else full jitter."""
        if retry_after is not None:
            return retry_after
        cap = min(self._backoff_max, self._backoff_base * (2 ** (attempt - 1)))
        return self._rng.uniform(cap / 2.0, cap)

    async def chat(
        self,
        messages: list[dict[str, str]],
        *,
        response_format: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float | None = None,
    ) -> ChatResult:
        """One completion with retries. Raises TeacherCallError when every attempt failed."""
        async with self._sem:
            return await self._chat(messages, response_format, max_tokens, temperature)

    async def _chat(
        self,
        messages: list[dict[str, str]],
        response_format: dict[str, Any] | None,
        max_tokens: int,
        temperature: float | None,
    ) -> ChatResult:
        max_attempts = self.settings.teacher_max_retries + 1
        attempt = 0
        last: _Retryable | None = None
        self.usage.calls += 1
        while attempt < max_attempts:
            attempt += 1
            level = self.format_level if response_format is not None else 2
            body: dict[str, Any] = {
                "model": self.model,
                "messages": messages,
                "temperature": self.settings.teacher_temperature if temperature is None else temperature,
                "max_tokens": max_tokens,
                "stream": False,
            }
            if level == 0:
                body["response_format"] = response_format
            elif level == 1:
                body["response_format"] = {"type": "json_object"}
            t0 = time.perf_counter()
            self.usage.http_attempts += 1
            try:
                result = await self._post(body, attempt, level, t0)
            except _FormatRejected as rej:
                if self.structured_mode == "always":
                    raise TeacherCallError(
                        f"The server rejected structured output (HTTP {rej.status}).",
                        kind="http_error",
                        attempts=attempt,
                        status=rej.status,
                        fix="Use structured='auto' or 'never' for this server.",
                    ) from None
                self._step_down(level, f"HTTP {rej.status}: server rejected response_format {FORMAT_LADDER[level]}")
                attempt -= 1  # a format rejection is not a failed attempt: resend one step down the ladder
                continue
            except _Retryable as err:
                last = err
                if attempt >= max_attempts:
                    break
                wait = self.backoff(attempt, err.retry_after)
                self.usage.retries += 1
                log.warning(
                    "teacher call attempt %d/%d failed (%s%s); retrying in %.2fs",
                    attempt,
                    max_attempts,
                    err.kind,
                    f" HTTP {err.status}" if err.status else "",
                    wait,
                )
                await self._sleep(wait)
                continue
            if level == self.format_level:
                self.format_confirmed = True
            return result
        assert last is not None
        raise TeacherCallError(
            f"The teacher endpoint failed {attempt} time(s); last error: {last.kind}"
            + (f" (HTTP {last.status})" if last.status else "")
            + (f": {last.detail}" if last.detail else "")
            + ".",
            kind=last.kind,
            attempts=attempt,
            status=last.status,
            fix="Check that the server is up and not overloaded; lower teacher_max_concurrency or raise "
            "teacher_timeout_s / teacher_max_retries.",
        )

    @property
    def output_format(self) -> str:
        """The output format calls use now: json_schema, json_object or plain."""
        return FORMAT_LADDER[self.format_level]

    def _step_down(self, level: int, reason: str) -> None:
        if self.format_level <= level < len(FORMAT_LADDER) - 1:
            self.format_level = level + 1
            self.structured_fallback_reason = "; ".join(filter(None, [self.structured_fallback_reason, reason]))
            log.warning(
                "teacher output format %s unavailable (%s); using %s",
                FORMAT_LADDER[level],
                reason,
                FORMAT_LADDER[level + 1],
            )

    async def _post(self, body: dict[str, Any], attempt: int, level: int, t0: float) -> ChatResult:
        try:
            resp = await self._http.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            raise _Retryable("timeout", detail=type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise _Retryable("connection", detail=type(exc).__name__) from None
        status = resp.status_code
        if level < 2 and status >= 400 and _looks_like_format_rejection(status, resp.text[:4000]):
            raise _FormatRejected(status)
        if status in RETRY_STATUSES or status >= 500:
            kind = "rate_limited" if status == 429 else "server_error"
            raise _Retryable(kind, status=status, retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        if status >= 400:
            kind = "auth" if status in (401, 403) else "http_error"
            raise TeacherCallError(
                f"The teacher endpoint answered HTTP {status} for {self.url}.",
                kind=kind,
                attempts=attempt,
                status=status,
                fix="Check PHQWATCH_TEACHER_API_KEY, PHQWATCH_TEACHER_MODEL and the base URL (it should end in /v1).",
            )
        try:
            data = resp.json()
            choice = data["choices"][0]
            content = choice["message"]["content"]
            if content is None:
                content = ""
            if not isinstance(content, str):
                raise TypeError("content is not a string")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise _Retryable("bad_response", status=status, detail=f"unreadable body ({type(exc).__name__})") from None
        usage = data.get("usage") or {}
        pt = _int(usage.get("prompt_tokens"))
        ct = _int(usage.get("completion_tokens"))
        self.usage.prompt_tokens += pt
        self.usage.completion_tokens += ct
        self.usage.cost += self.pricing.cost(pt, ct)
        return ChatResult(
            content=content,
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=pt,
            completion_tokens=ct,
            attempts=attempt,
            output_format=FORMAT_LADDER[level],
            latency_s=time.perf_counter() - t0,
        )


class _FormatRejected(Exception):
    def __init__(self, status: int):
        self.status = status
        super().__init__(status)


def _int(v: Any) -> int:
    try:
        return max(0, int(v))
    except (TypeError, ValueError):
        return 0
