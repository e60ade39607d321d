"""Tolerant parsing of structured replies from models that do not always emit clean JSON.

Small local models wrap JSON in prose or code fences, add trailing commas, or think aloud in
`<think>` blocks first. We strip what is not an answer, repair the JSON, and validate it against a
pydantic schema; the gateway turns a failure here into one retry that shows the model its error.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import json_repair
from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


class ParseError(ValueError):
    """The reply could not be read as the expected JSON object."""


def strip_think(text: str) -> str:
    """Remove reasoning blocks (`<think>...</think>`, also an unclosed one) from a reply."""
    return _THINK.sub("", text or "").strip()


def extract_json(text: str) -> Any:
    """The first JSON object or array in `text`, repaired if needed."""
    text = strip_think(text)
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ParseError("no JSON object found in the reply")
    candidate = text[start:]
    try:
        return json.loads(candidate)
    except json.JSONDecodeError:
        pass
    repaired = json_repair.loads(candidate)
    if repaired in ("", None, [], {}) and candidate.strip() not in ("{}", "[]"):
        raise ParseError("the reply is not valid JSON and could not be repaired")
    return repaired


def parse_model(text: str, schema: type[T]) -> T:
    """Validate the JSON in `text` against `schema`, raising `ParseError` with a readable reason."""
    data = extract_json(text)
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
        data = data[0]
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise ParseError(f"the JSON does not match the expected shape ({problems})") from None


def schema_hint(schema: type[BaseModel]) -> str:
    """A compact JSON schema to show the model what to produce."""
    return json.dumps(schema.model_json_schema(), separators=(",", ":"))
