r"""Bounds on what one SCIM request may send, checked before any of it is parsed or stored.

Every bound answers a clear 400 (or 413) instead of a 500 or a worker held for seconds:

- a body is a JSON object nested at most MAX_JSON_DEPTH deep, checked without recursion
  (json.loads recurses, so the depth is measured first, on the raw bytes);
- no string, key or value, holds NUL or a lone UTF-16 surrogate ("\\ud800" decodes to one in
  Python, and neither SQLite's nor PostgreSQL's drivers can encode it);
- a filter (the `filter` parameter, or a PATCH path's value filter) is at most
  MAX_FILTER_LENGTH characters with at most MAX_FILTER_TERMS comparisons (scim2-models bounds
  its nesting to 32);
- a PATCH has at most MAX_PATCH_OPERATIONS operations.
"""

import json
import re
from itertools import accumulate

from scim2_models import InvalidFilterException, InvalidSyntaxException, InvalidValueException
from scim2_models.path import Comparison, LogicalExpr, Not, Present, ValuePath

# SCIM resources nest four levels at most (a value path inside an extension inside a list);
# 32 leaves room for any IdP's custom attributes.
MAX_JSON_DEPTH = 32
MAX_FILTER_LENGTH = 8192
# 200 `value eq "uuid"` terms fit in MAX_FILTER_LENGTH; SQLite refuses expressions about 1 000
# deep, and an `or` chain is as deep as it is long.
MAX_FILTER_TERMS = 200
# The 1 MiB body limit already bounds a PATCH; this bounds the work one PATCH can ask for.
MAX_PATCH_OPERATIONS = 1000

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A JSON string token (its escapes included): removed before counting brackets.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def read_json_object(raw: bytes) -> dict:
    """Decode a request body that must be a JSON object with storable strings, or raise."""
    if _json_depth(raw) > MAX_JSON_DEPTH:
        raise InvalidSyntaxException(
            detail=f"the request body nests deeper than {MAX_JSON_DEPTH} levels"
        )
    try:
        payload = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidSyntaxException(detail="the request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="the request body must be a JSON object")
    for text in _strings(payload):
        if _UNSTORABLE.search(text):
            raise InvalidValueException(detail=_unstorable_detail(text))
    return payload


def refuse_unstorable(text: str, error=InvalidValueException) -> None:
    """Raise `error` if a string holds NUL or a lone surrogate, which no database can store."""
    if _UNSTORABLE.search(text):
        raise error(detail=_unstorable_detail(text))


def check_filter_text(text: str) -> None:
    """Refuse a filter too long to parse cheaply, before it is parsed."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilterException(
            detail=f"a filter has at most {MAX_FILTER_LENGTH} characters, this one {len(text)}"
        )


def check_filter_tree(node) -> None:
    """Refuse a parsed filter with too many comparisons or an unstorable string value."""
    terms, pending = 0, [node]
    while pending:
        node = pending.pop()
        if isinstance(node, LogicalExpr):
            pending.extend(node.terms)
        elif isinstance(node, Not):
            pending.append(node.expr)
        elif isinstance(node, ValuePath):
            pending.append(node.val_filter)
        elif isinstance(node, Comparison | Present):
            terms += 1
            value = getattr(node, "value", None)
            if isinstance(value, str):
                refuse_unstorable(value, InvalidFilterException)
    if terms > MAX_FILTER_TERMS:
        raise InvalidFilterException(
            detail=f"a filter has at most {MAX_FILTER_TERMS} comparisons, this one {terms}"
        )


def check_patch_document(payload: dict) -> None:
    """Refuse a PatchOp with too many operations or an over-long path, before it is parsed."""
    operations = payload.get("Operations")
    if not isinstance(operations, list):
        return
    if len(operations) > MAX_PATCH_OPERATIONS:
        raise InvalidValueException(
            detail=f"a PATCH has at most {MAX_PATCH_OPERATIONS} operations, "
            f"this one {len(operations)}"
        )
    for operation in operations:
        path = operation.get("path") if isinstance(operation, dict) else None
        if isinstance(path, str) and len(path) > MAX_FILTER_LENGTH:
            raise InvalidFilterException(
                detail=f"a PATCH path has at most {MAX_FILTER_LENGTH} characters"
            )


def _json_depth(raw: bytes) -> int:
    """The deepest bracket nesting of a JSON text, strings aside (0 for a scalar)."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, delete=_NOT_BRACKETS)
    return max(accumulate(_DEPTH_STEP[b] for b in brackets), default=0)


def _strings(document):
    """Yield every string of a decoded JSON document, keys included, without recursion."""
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _unstorable_detail(text: str) -> str:
    if "\x00" in text:
        return "NUL characters are not allowed"
    return "strings must be valid Unicode (a lone UTF-16 surrogate such as \\ud800 is not)"
