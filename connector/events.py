"""Events for flagged outliers: the ``output.events`` condition and template, as pure code.

``when`` is ``(field, operator, value)`` (parsed by the config) over dotted paths of the
document, e.g. ``outlier.flag == true`` or ``count > 1``. The template is any JSON-like value
whose strings may hold ``{dotted.path}`` placeholders; a string that is exactly one
placeholder keeps the value's type (a count stays a number).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

__all__ = ["lookup", "predicate", "render"]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "==": operator.eq, "!=": operator.ne,
}
_PLACEHOLDER = re.compile(r"\{([\w.@-]+)\}")
_MISSING = object()


def lookup(body: dict, path: str, default: Any = None) -> Any:
    """Value at a dotted path (a literal dotted key wins).

    Examples
    --------
    >>> lookup({"outlier": {"flag": True}, "a.b": 1}, "outlier.flag"), lookup({"a.b": 1}, "a.b")
    (True, 1)
    >>> lookup({"x": 1}, "y.z", "none")
    'none'
    """
    if path in body:
        return body[path]
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def predicate(condition: tuple[str, str, Any]) -> Callable[[dict], bool]:
    """A test on a document from ``(field, op, value)``; a missing or odd field is False.

    Examples
    --------
    >>> p = predicate(("count", ">", 1))
    >>> p({"count": 3}), p({"count": 1}), p({}), p({"count": "x"})
    (True, False, False, False)
    """
    path, op, expected = condition
    compare = _OPS[op]

    def test(body: dict) -> bool:
        value = lookup(body, path, _MISSING)
        if value is _MISSING:
            return False
        try:
            return bool(compare(value, expected))
        except TypeError:
            return False

    return test


def render(template: Any, body: dict) -> Any:
    """Fill a template from a document (``None`` template: the whole document).

    Examples
    --------
    >>> render({"reviewer": "{reviewer}", "movie_count": "{count}",
    ...         "text": "{reviewer} posted {count}"}, {"reviewer": "ann", "count": 6})
    {'reviewer': 'ann', 'movie_count': 6, 'text': 'ann posted 6'}
    """
    if template is None:
        return body
    if isinstance(template, dict):
        return {k: render(v, body) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, body) for v in template]
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return lookup(body, whole.group(1))
        return _PLACEHOLDER.sub(lambda m: str(lookup(body, m.group(1), "")), template)
    return template
