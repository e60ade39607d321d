"""The LLM gateway: every model call in ttd goes through `Gateway.complete` or `Gateway.structured`.

One place decides which model serves a role, retries transient failures (tenacity: 429, 5xx,
timeouts, dropped connections), bounds how many calls are in flight, records tokens, dollars and
latency per call, and turns provider errors the user can fix into one-line `TTDError`s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import litellm
from pydantic import BaseModel
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from ttd.config import ResearchConfig
from ttd.errors import ConfigError, MissingExtraError, ModelReplyError, TTDError
from ttd.events import emit
from ttd.llm import providers
from ttd.llm.parsing import ParseError, parse_model, schema_hint, strip_think
from ttd.state import UsageRecord

litellm.suppress_debug_info = True
litellm.telemetry = False

T = TypeVar("T", bound=BaseModel)

TRANSIENT = (
    litellm.RateLimitError,
    litellm.InternalServerError,
    litellm.ServiceUnavailableError,
    litellm.BadGatewayError,
    litellm.Timeout,
    litellm.APIConnectionError,
)


_OPTIONAL_SAMPLING = ("top_k", "top_p", "seed", "repeat_penalty", "min_p")


@dataclass
class Completion:
    text: str
    usage: UsageRecord


class StructuredOutputError(ParseError):
    """Two replies in a row could not be parsed; carries the calls' usage and the last raw reply."""

    def __init__(self, message: str, raw: str, usage: list[UsageRecord]) -> None:
        super().__init__(message)
        self.raw, self.usage = raw, usage


def check_models(config: ResearchConfig, roles: Iterable[str] | None = None) -> None:
    """Fail before any work if a role's model cannot run: unknown provider, missing key or extra.

    `roles` defaults to those the config will call (`roles_in_use`); the bench adds the judge it uses.
    """
    wanted = config.roles_in_use() if roles is None else tuple(roles)
    for model in sorted({config.models.for_role(r) for r in wanted}):
        providers.check(model, config.api_base)
    v = config.verify
    if roles is None and v.mode != "off" and "embed" in (v.mode, v.relevance):  # a run's own check
        from ttd.retrieval.dense import dense_available

        if not dense_available():  # the sentence-embedding model, asked for by name
            setting = "verify.mode" if v.mode == "embed" else "verify.relevance"
            raise MissingExtraError("index", f'The embedding check ({setting} = "embed")')


class Gateway:
    """Role-aware access to models for one run."""

    def __init__(self, config: ResearchConfig) -> None:
        self.config = config
        self._slots = asyncio.Semaphore(config.concurrency)
        self.spent: dict[str, float] = {"calls": 0, "tokens": 0, "usd": 0.0}
        for role in config.roles_in_use():  # other roles' providers register when first asked for
            providers.ensure_registered(config.models.for_role(role), parallel=config.concurrency)

    def budget_reached(self) -> str | None:
        """Which spending cap (if any) the calls so far have reached."""
        b = self.config.budget
        if b.max_calls is not None and self.spent["calls"] >= b.max_calls:
            return f"{int(self.spent['calls'])} model calls (max_calls = {b.max_calls})"
        if b.max_tokens is not None and self.spent["tokens"] >= b.max_tokens:
            return f"{int(self.spent['tokens'])} tokens (max_tokens = {b.max_tokens})"
        if b.max_usd is not None and self.spent["usd"] >= b.max_usd:
            return f"${self.spent['usd']:.4f} (max_usd = {b.max_usd})"
        return None

    def count(self, records: list[UsageRecord]) -> None:
        """Add calls to what has been spent (a resumed run counts the calls of its earlier life)."""
        for r in records:
            self.spent["calls"] += 1
            self.spent["tokens"] += r["prompt_tokens"] + r["completion_tokens"]
            self.spent["usd"] += r["cost_usd"] or 0.0

    def model_for(self, role: str) -> str:
        model = self.config.models.for_role(role)
        providers.ensure_registered(model, parallel=self.config.concurrency)  # idempotent
        return model

    async def complete(
        self,
        role: str,
        messages: list[dict[str, str]],
        *,
        step: int | None = None,
        component: str | None = None,
        json_mode: bool = False,
        schema: type[BaseModel] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        **params: Any,
    ) -> Completion:
        """One chat completion for `role`, with retries; returns the text (reasoning stripped) and usage."""
        model = self.model_for(role)
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "temperature": self.config.temperature if temperature is None else temperature,
            "max_tokens": max_tokens or self.config.max_tokens.get(role, 800),
            "timeout": self.config.timeout,
            "num_retries": 0,  # tenacity below owns retries
            **params,
        }
        if self.config.seed is not None:
            kwargs.setdefault("seed", self.config.seed)
        if self.config.api_base and not providers.is_embedded(model):
            kwargs["api_base"] = self.config.api_base
            kwargs.setdefault("api_key", providers.api_key_for(model))
        for name in [k for k in params if k in _OPTIONAL_SAMPLING]:
            if not providers.supports(model, name):
                kwargs.pop(name)  # e.g. top_k for OpenAI: variants then differ by temperature alone
        if json_mode and providers.supports_json_mode(model):
            kwargs["response_format"] = {"type": "json_object"}
            if schema is not None and providers.prefix(model) == "local":
                kwargs["response_format"]["schema"] = schema.model_json_schema()  # a grammar in llama.cpp

        started, attempts = time.perf_counter(), 0
        async with self._slots:
            try:
                async for attempt in AsyncRetrying(
                    retry=retry_if_exception(_transient),
                    wait=wait_exponential_jitter(initial=1, max=30),
                    stop=stop_after_attempt(self.config.retries + 1),
                    reraise=True,
                ):
                    with attempt:
                        attempts += 1
                        response = await litellm.acompletion(**kwargs)
            except litellm.AuthenticationError:
                raise ConfigError(
                    f"{model} rejected the API key: check {providers.key_hint(model)} or pick another --model"
                ) from None
            except litellm.NotFoundError:
                raise ConfigError(
                    f"model '{model}' was not found by its provider: check the model name"
                ) from None
            except TTDError:
                raise
            except Exception as exc:
                # litellm wraps whatever a custom provider raises (a missing extra, a bad local path) as a
                # connection error; surface the user's own error as it was raised. Anything else becomes
                # one line naming the endpoint and what it answered, not litellm's raw exception text.
                raise _user_error(exc) or self._reply_error(model, exc, attempts) from exc

        text = strip_think(response.choices[0].message.content or "")
        usage = getattr(response, "usage", None)
        record: UsageRecord = {
            "role": role,
            "component": component or role,
            "model": model,
            "step": step,
            "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
            "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
            "prompt_tokens_cached": _cached_tokens(usage),
            "cost_usd": _cost(response),
            "latency_s": round(time.perf_counter() - started, 3),
            "attempts": attempts,
            "parse_error": None,
            "fallback": None,
        }
        self.count([record])
        emit(
            "llm_call",
            stage=role,
            step=step,
            tokens=record["prompt_tokens"] + record["completion_tokens"],
            data=dict(record),
        )
        return Completion(text=text, usage=record)

    async def structured(
        self,
        role: str,
        messages: list[dict[str, str]],
        schema: type[T],
        *,
        step: int | None = None,
        fallback: Callable[[str], T] | None = None,
        **params: Any,
    ) -> tuple[T, list[UsageRecord]]:
        """A reply parsed into `schema`. On a parse failure the model sees its error once and tries again.

        If that reply fails too, `fallback` builds the result from it (counted on that call's usage record);
        without a fallback, `StructuredOutputError` is raised.
        """
        first = await self.complete(role, messages, step=step, json_mode=True, schema=schema, **params)
        try:
            return parse_model(first.text, schema), [first.usage]
        except ParseError as exc:
            first.usage["parse_error"] = str(exc)
            retry_messages = [
                *messages,
                {"role": "assistant", "content": first.text},
                {
                    "role": "user",
                    "content": f"Your reply could not be parsed: {exc}. Reply again with only one JSON "
                    f"object matching this JSON schema, nothing else: {schema_hint(schema)}",
                },
            ]
        second = await self.complete(role, retry_messages, step=step, json_mode=True, schema=schema, **params)
        usage = [first.usage, second.usage]
        try:
            return parse_model(second.text, schema), usage
        except ParseError as exc:
            second.usage["parse_error"] = str(exc)
            if fallback is None:
                raise StructuredOutputError(str(exc), second.text, usage) from None
        return fall_back(fallback, second.text, usage), usage

    def _endpoint(self, model: str) -> str:
        if self.config.api_base and not providers.is_embedded(model):
            return f"the model endpoint {self.config.api_base} (model {model})"
        if providers.is_embedded(model):
            return f"the embedded model {model}"
        return f"the {providers.prefix(model) or 'model'} endpoint for {model}"

    def _reply_error(self, model: str, exc: Exception, attempts: int) -> ModelReplyError:
        status = getattr(exc, "status_code", None)
        text = str(getattr(exc, "message", "") or exc)
        text = " ".join(text.replace("litellm.", "").split())
        if isinstance(exc, litellm.Timeout):
            what = f"did not answer within {self.config.timeout:.0f} s"
        elif isinstance(exc, litellm.APIConnectionError) and ("Connection" in text or "connect" in text):
            what = "could not be reached (connection refused or dropped)"
        elif "<html" in text.lower() or "<!doctype" in text.lower() or "JSON" in text or "Expecting" in text:
            what = "answered with something that is not an OpenAI-style JSON reply (an HTML page?)"
        elif status:
            what = f"answered HTTP {status}"
        else:
            what = f"failed ({exc.__class__.__name__})"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return ModelReplyError(f"{self._endpoint(model)} {what}{tries}: {text[:160]}")


def fall_back(fallback: Callable[[str], T], raw: str, usage: list[UsageRecord]) -> T:
    """A stage's fallback result from an unreadable reply, named on the usage record of the call that gave it.

    Fallbacks are named functions (`first_line`, `equal_weights`, ...) so the count per kind is readable.
    """
    usage[-1]["fallback"] = getattr(fallback, "__name__", "fallback")
    return fallback(raw)


def _transient(exc: BaseException) -> bool:
    """Worth another try: 429, 5xx, timeouts, dropped connections. Not: bad requests, encoding errors,
    errors the user must fix (those fail at once, so a stalled run never retries the hopeless)."""
    if not isinstance(exc, TRANSIENT) or _user_error(exc) is not None:
        return False
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and 400 <= status < 500 and status not in (408, 409, 429):
        return False
    seen: BaseException | None = exc
    for _ in range(6):
        seen = seen.__cause__ or seen.__context__ if seen else None
        if isinstance(seen, (UnicodeError, ValueError)):
            return False
    return True


def _user_error(exc: BaseException) -> TTDError | None:
    seen: BaseException | None = exc
    for _ in range(6):
        seen = seen.__cause__ or seen.__context__ if seen else None
        if isinstance(seen, TTDError):
            return seen
    original = getattr(exc, "original_exception", None)
    return original if isinstance(original, TTDError) else None


def _cached_tokens(usage: Any) -> int:
    """Prompt tokens the provider served from its prefix cache (local engine, OpenAI); 0 when unknown."""
    details = getattr(usage, "prompt_tokens_details", None)
    return int(getattr(details, "cached_tokens", 0) or 0)


def _cost(response: Any) -> float | None:
    """Dollars for the call where litellm knows the model's price; None where it does not."""
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:  # unknown price (local models, new hosted models)
        return None
