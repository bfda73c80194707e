"""Reading a batch body: a JSON array of feedback objects, or NDJSON (one object a line).

Pure parsing, no storage: a body that cannot be read at all raises :class:`BatchError` (the
whole request is refused); a single NDJSON line that is not JSON becomes an :class:`ItemError`
in its place, so that the other lines can still be stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")


class BatchError(Exception):
    """The batch as a whole cannot be read; ``status`` and ``errors`` make the problem answer."""

    def __init__(self, status: int, detail: str, errors: dict[str, list[str]]):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors


@dataclass(frozen=True)
class ItemError:
    """An item that could not even be parsed (an NDJSON line that is not JSON)."""

    errors: dict[str, Any]


def parse_batch(body: bytes, *, ndjson: bool, max_items: int) -> list[Any]:
    """The items of a batch body, in order; NDJSON lines that are not JSON become :class:`ItemError`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BatchError(400, "The body is not UTF-8.", {"body": [f"not UTF-8 at byte {exc.start}"]}) from exc
    items = _ndjson(text) if ndjson else _array(text)
    if not items:
        raise BatchError(422, "The batch is empty.", {"items": ["give at least one feedback item"]})
    if len(items) > max_items:
        raise BatchError(413, f"A batch holds at most {max_items} items.",
                         {"items": [f"at most {max_items} items per batch; got {len(items)}"]})
    return items


def _array(text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BatchError(400, "The body is not valid JSON.", {"body": [f"not valid JSON: {exc}"]}) from exc
    except RecursionError as exc:
        raise BatchError(400, "The body is nested too deeply.", {"body": ["JSON nested too deeply"]}) from exc
    if not isinstance(value, list):
        raise BatchError(422, "A batch is a JSON array of feedback objects (or NDJSON).",
                         {"body": ["expected a JSON array of feedback objects"]})
    return value


def _ndjson(text: str) -> list[Any]:
    items: list[Any] = []
    # split on "\n" only: JSON strings may hold U+2028 and other characters splitlines() breaks on
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except ValueError as exc:
            items.append(ItemError({"line": [f"line {number} is not valid JSON: {exc}"]}))
        except RecursionError:
            items.append(ItemError({"line": [f"line {number} is JSON nested too deeply"]}))
    return items
