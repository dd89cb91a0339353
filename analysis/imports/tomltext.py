"""TOML text for import mappings: reading with limits, and a small writer.

Both the flat-export mapping (:mod:`analysis.imports.flat`) and the data-quality
proposals (:mod:`analysis.imports.quality`) write ``[values.<column>]`` tables; this module
is the one place that knows how to quote a TOML string. Reading is bounded: a mapping is
a small hand-written file, so a file over :data:`MAX_BYTES` or nested deeper than
:data:`MAX_DEPTH` is refused with a :class:`TomlLimitError` (never a ``RecursionError``).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from typing import Any

MAX_BYTES = 1_000_000
"""Largest mapping text read (1 MB; the shipped presets are about 3 kB)."""

MAX_DEPTH = 8
"""Deepest nesting of tables and lists accepted (a mapping needs 3: ``[values.x]``)."""


class TomlLimitError(ValueError):
    """TOML text that is unreadable, too large or too deeply nested."""


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (JSON escaping is valid TOML)."""
    return json.dumps(text, ensure_ascii=False)


def _depth(data: Any) -> int:
    """Deepest nesting of dicts and lists in ``data`` (iterative: no recursion limit)."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        if isinstance(node, dict):
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)
    return deepest


def loads(text: str) -> dict[str, Any]:
    """Parse TOML text within :data:`MAX_BYTES` and :data:`MAX_DEPTH`.

    Raises
    ------
    TomlLimitError
        The text is too large, not TOML, or nested deeper than :data:`MAX_DEPTH`.
    """
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise TomlLimitError(f"larger than {MAX_BYTES // 1000:,} kB; a mapping is a small file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlLimitError(f"not a readable TOML file ({exc})") from exc
    except RecursionError as exc:
        raise TomlLimitError(f"nested deeper than {MAX_DEPTH} levels") from exc
    if _depth(data) > MAX_DEPTH:
        raise TomlLimitError(f"nested deeper than {MAX_DEPTH} levels")
    return data


def dumps(data: Mapping[str, Any]) -> str:
    """A small TOML writer for mapping data: strings, lists of strings, nested tables."""
    lines: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        return toml_string(str(v))

    def key(k: str) -> str:
        return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else toml_string(k)

    def table(prefix: str, d: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict)}
        subs = {k: v for k, v in d.items() if isinstance(v, dict)}
        if prefix and (scalars or not subs):
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{key(k)} = {value(v)}")
        if prefix and (scalars or not subs):
            lines.append("")
        for k, v in subs.items():
            table(f"{prefix}.{key(k)}" if prefix else key(k), v)

    table("", data)
    if lines and lines[-1] != "":
        lines.append("")
    return "\n".join(lines)
