"""DuckDB SQL -> Spark SQL: sqlglot's transpiler plus the rewrites its output still needs.

Query intuition
---------------
The engine's queries are DuckDB SQL with bound parameters (``?`` and ``$name``). To run
one on Spark, :func:`to_spark` (1) renames every parameter to a marker identifier, (2)
parses the text with sqlglot's DuckDB dialect, (3) rewrites the constructs whose Spark
translation is missing or means something else (:data:`GAPS` lists each with its
reason), (4) prints Spark SQL, and caches that text per SQL string. Binding then replaces
each marker with the value as a Spark literal printed by sqlglot (strings escaped by the
Spark generator; timestamps and dates as typed literals; floats as DOUBLE, not Spark's
default DECIMAL), so user text is never parsed as SQL.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

TIMEZONES_VIEW = "hh_timezone_names"
"""View of IANA zone names (column ``name``) that stands for DuckDB's pg_timezone_names()."""
MARK = "hhp_"
"""Prefix of the marker identifiers that stand for parameters in cached Spark SQL."""
_MARKER = re.compile(r"`?\bhhp_([A-Za-z0-9_]+?)_\b`?")

GAPS: dict[str, str] = {
    "quantile_cont(x, q)": (
        "sqlglot prints PERCENTILE_CONT(x, q), which Spark rejects; printed as Spark's exact "
        "percentile(x, q), interpolated like DuckDB's quantile_cont (not percentile_approx)"
    ),
    "median(x)": "printed as percentile(x, 0.5) (exact, interpolated)",
    "list_contains(list, x)": (
        "DuckDB skips NULL elements (false when x is absent), Spark's array_contains gives "
        "NULL when the list holds a NULL: array_contains(array_compact(list), x)"
    ),
    "regexp_replace(s, p, r)": (
        "DuckDB replaces the first match unless 'g', Spark every match: only the 'g' form is "
        "translated, the other is refused"
    ),
    "regexp_matches(s, p, 'i')": (
        "sqlglot drops the flags (s RLIKE p); case-insensitive becomes RLIKE concat('(?i)', p)"
    ),
    "date_diff / datediff(part, a, b)": (
        "DuckDB counts part boundaries crossed, Spark's timestampdiff counts whole elapsed "
        "parts; printed as the difference of the truncated values in that part"
    ),
    "epoch(interval) / epoch(timestamp)": (
        "sqlglot prints UNIX_TIMESTAMP(interval); seconds of an interval are the difference "
        "of unix_micros / 1e6 and of a timestamp unix_micros / 1e6"
    ),
    "list_position(list, x)": "array_position, with 0 (not found) read back as NULL",
    "list(x) / list(DISTINCT x)": "collect_list / collect_set",
    "list[i] (1-based)": (
        "DuckDB gives NULL past the end, Spark (ANSI) an error: try_element_at(list, i)"
    ),
    "max(x, n)": (
        "the n largest values, largest first: slice(sort_array(collect_list(x), false), 1, n)"
    ),
    "duckdb_tables()": "the adapter's list of registered tables as a VALUES relation",
    "pg_timezone_names()": "a view of the IANA zone names the adapter registers",
    "timezone(tz, timezone('UTC', t))": "from_utc_timestamp(t, tz): UTC to wall time in tz",
    "epoch_us(t)": "unix_micros(t)",
    "to_days(n)": "make_dt_interval(n, 0, 0, 0)",
    "list[a:b] (1-based, inclusive)": "slice(list, a, b - a + 1)",
    "JOIN a JOIN b ON .. ON ..": "the inner join is parenthesised: JOIN (a JOIN b ON ..) ON ..",
    "UNPIVOT (q) ON cols INTO NAME n VALUE v": "SELECT * FROM (q) UNPIVOT (v FOR n IN (cols))",
    "WITH x AS MATERIALIZED (...)": "the hint is dropped (Spark plans CTEs itself)",
    "TIME columns (reps.work_start/end)": (
        "Spark has no TIME type: exported as HH:MM:SS text, read by Spark as that time on "
        "1970-01-01, so epoch() gives seconds since midnight as DuckDB's epoch(TIME) does"
    ),
    "current_database() / current_schema()": "the constants the adapter registers them under",
    "'x'::TYPE / CAST": "printed by sqlglot as CAST (no gap)",
    "FILTER (WHERE ...) on aggregates, any_value, GROUPING SETS": "Spark runs them as they are",
    "DATE - DATE": "an integer of days in DuckDB, an INTERVAL in Spark: datediff(a, b)",
    "row_number() OVER ()": (
        "Spark needs an order: ordered by every other column of the SELECT, so the id is the "
        "same each time the query reads it (a global sort: see docs/scale.md); "
        "row_number() OVER w names a window and is left as it is"
    ),
    "QUALIFY": "sqlglot rewrites it into a subquery with the window column",
    "timestamp - timestamp": (
        "an INTERVAL in both; arithmetic on it goes through epoch() (rewritten above)"
    ),
}
"""Every dialect gap found on the engine's queries and how :func:`to_spark` handles it."""


def _named(sql: str) -> str:
    """``sql`` with each positional ``?`` renamed ``$p0``, ``$p1``, ... in text order."""
    tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql)
    out, last, i = [], 0, 0
    for tok in tokens:
        if tok.token_type == TokenType.PLACEHOLDER and tok.text == "?":
            out.append(sql[last : tok.start])
            out.append(f"$p{i}")
            last, i = tok.end + 1, i + 1
    out.append(sql[last:])
    return "".join(out)


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    """A Spark function call that no rewrite matches again (sqlglot's own classes would)."""
    return exp.Anonymous(this=name, expressions=list(args))


def _fix(node: exp.Expression, tables: tuple[str, ...]) -> exp.Expression:
    """:func:`_rewrite` ``node``, then its children.

    sqlglot's transform does not descend into a node the function replaced.
    """
    new = _rewrite(node, tables)
    if new is node:
        return node
    return new.transform(lambda c: c if c is new else _fix(c, tables), copy=False)


def _unit(node: exp.Expression) -> str:
    unit = node.args.get("unit")
    name = unit.name if isinstance(unit, exp.Expression) else str(unit or "day")
    return name.lower().rstrip("s")


def _micros(e: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="unix_micros", expressions=[exp.cast(e, "timestamp")])


_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}


def _date_diff(node: exp.Expression) -> exp.Expression:
    """DuckDB date_diff(part, a, b): part boundaries crossed from a to b."""
    unit = _unit(node)
    start, end = node.expression, node.this
    if unit in ("month", "year", "quarter"):
        months = {"month": 1, "quarter": 3, "year": 12}[unit]
        idx = "(year({x}) * 12 + month({x}) - 1) div {m}"
        a = sqlglot.parse_one(idx.format(x="hhs_a", m=months), read="spark")
        b = sqlglot.parse_one(idx.format(x="hhs_b", m=months), read="spark")
        a = a.transform(lambda n: start.copy() if n.name == "hhs_a" else n)
        b = b.transform(lambda n: end.copy() if n.name == "hhs_b" else n)
        return exp.paren(exp.Sub(this=b, expression=a))
    unit_name = {"week": "week"}.get(unit, unit)
    trunc = lambda e: exp.TimestampTrunc(  # noqa: E731
        this=exp.cast(e, "timestamp"), unit=exp.var(unit_name.upper())
    )
    diff = exp.Sub(this=_micros(trunc(end)), expression=_micros(trunc(start)))
    return exp.Cast(
        this=exp.Div(this=exp.paren(diff), expression=exp.Literal.number(_SECONDS[unit] * 10**6)),
        to=exp.DataType.build("bigint"),
    )


def _epoch(arg: exp.Expression) -> exp.Expression:
    """epoch(x): seconds since 1970 of a timestamp, or seconds of an interval a - b."""
    inner = arg.unnest() if isinstance(arg, exp.Paren) else arg
    if isinstance(inner, exp.Sub):
        micros = exp.Sub(this=_micros(inner.this), expression=_micros(inner.expression))
    else:
        micros = _micros(inner)
    return exp.Div(this=exp.paren(micros), expression=exp.Literal.number("1000000.0D"))


def _is_date(e: exp.Expression) -> bool:
    e = e.unnest() if isinstance(e, exp.Paren) else e
    return isinstance(e, exp.Cast) and e.to.is_type(exp.DataType.Type.DATE)


def _numbered(node: exp.Window) -> exp.Expression:
    """``row_number() OVER ()`` ordered by every other column of its SELECT.

    DuckDB numbers rows in scan order; Spark requires an order, and a query that reads
    the id twice must get the same id for the same row each time.
    """
    select = node.find_ancestor(exp.Select)
    keys = [
        e.unalias().copy()
        for e in (select.expressions if select else [])
        if node not in e.find_all(exp.Window) and not isinstance(e.unalias(), exp.Star)
    ]
    if not keys:
        raise ValueError("row_number() OVER () needs other columns to order by on Spark")
    order = exp.Order(expressions=[exp.Ordered(this=k, nulls_first=True) for k in keys])
    return exp.Window(this=node.this.copy(), order=order)


def _timezone(node: exp.Anonymous) -> exp.Expression:
    """DuckDB ``timezone(tz, timezone('UTC', t))`` as Spark's ``from_utc_timestamp(t, tz)``.

    Both turn a naive UTC time into the naive wall time in ``tz``; other forms have no
    Spark equivalent here.
    """
    tz, inner = node.expressions
    if (
        isinstance(inner, exp.Anonymous)
        and inner.name.lower() == "timezone"
        and inner.expressions[0].is_string
        and inner.expressions[0].name.upper() == "UTC"
    ):
        return _fn("from_utc_timestamp", inner.expressions[1], tz)
    raise ValueError(f"no Spark rewrite for {node.sql(dialect='duckdb')}")


def _unpivot(node: exp.Pivot) -> exp.Expression:
    """DuckDB's statement ``UNPIVOT (q) ON a, b INTO NAME n VALUE v`` in Spark's form.

    That is ``SELECT * FROM (q) UNPIVOT (v FOR n IN (a, b))``; both leave out NULLs.
    """
    into = node.args["into"]
    cols = ", ".join(c.sql(dialect="spark") for c in node.expressions)
    inner = node.this.sql(dialect="spark")
    text = (
        f"SELECT * FROM {inner} UNPIVOT ({into.expressions[0].sql(dialect='spark')} "
        f"FOR {into.this.sql(dialect='spark')} IN ({cols}))"
    )
    return sqlglot.parse_one(text, read="spark")


def _list_agg(node: exp.Expression) -> exp.Expression | None:
    """list(x) / list(DISTINCT x [ORDER BY x]) [FILTER (WHERE c)] as collect_list / set."""
    where = None
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg):
        where, node = node.expression, node.this
    if not isinstance(node, exp.ArrayAgg):
        return None
    inner, ordered = node.this, False
    if isinstance(inner, exp.Order):
        inner, ordered = inner.this, True
    if isinstance(inner, exp.Distinct):
        agg = _fn("collect_set", inner.expressions[0])
    else:
        agg = _fn("collect_list", inner)
    if where is not None:
        agg = exp.Filter(this=agg, expression=where)
    return _fn("array_sort", agg) if ordered else agg


def _rewrite(node: exp.Expression, tables: tuple[str, ...]) -> exp.Expression:
    # One function per gap in GAPS; the node types are sqlglot's DuckDB parse of each.
    agg = _list_agg(node)
    if agg is not None:
        return agg
    if isinstance(node, exp.Pivot) and node.args.get("unpivot") and node.args.get("into"):
        return _unpivot(node)
    if (
        isinstance(node, exp.Join)
        and isinstance(node.this, exp.Table)
        and node.this.args.get("joins")
    ):
        node.set("this", exp.Paren(this=node.this))  # JOIN (a JOIN b ON ..) ON ..
        return node
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        sl = node.expressions[0]
        if isinstance(sl, exp.Slice):  # DuckDB list[a:b], 1-based and inclusive
            length = exp.paren(exp.Sub(this=sl.expression, expression=sl.this)) + 1
            return _fn("slice", node.this, sl.this, length)
        if isinstance(sl, exp.Literal) and not sl.is_string:  # list[i]: sqlglot holds i - 1
            return _fn("try_element_at", node.this, exp.Literal.number(int(sl.name) + 1))
    if isinstance(node, exp.Anonymous) and node.name.lower() == "epoch_us":
        return _micros(node.expressions[0])
    if isinstance(node, exp.Max) and node.args.get("count") is not None:  # the n largest
        largest = _fn("sort_array", _fn("collect_list", node.this), exp.false())
        return _fn("slice", largest, exp.Literal.number(1), node.args["count"])
    if isinstance(node, exp.ToDays):
        zero = exp.Literal.number(0)
        return _fn("make_dt_interval", node.this, zero, zero, zero)
    if isinstance(node, exp.Quantile | exp.PercentileCont):
        q = node.args.get("quantile") or node.expression
        return exp.Anonymous(this="percentile", expressions=[node.this, q])
    if isinstance(node, exp.Median):
        return exp.Anonymous(this="percentile", expressions=[node.this, exp.Literal.number(0.5)])
    if isinstance(node, exp.RegexpLike):
        flag = node.args.get("flag")
        if flag is not None and "i" in flag.name:
            pattern = _fn("concat", exp.Literal.string("(?i)"), node.expression)
            return exp.RegexpLike(this=node.this, expression=pattern)
        return node
    if isinstance(node, exp.ArrayContains):
        # DuckDB ignores NULL elements (false when absent); Spark answers NULL when the
        # list holds a NULL and the value is absent.
        return _fn("array_contains", _fn("array_compact", node.this), node.expression)
    if isinstance(node, exp.RegexpReplace):
        modifiers = node.args.get("modifiers")
        if modifiers is None or "g" not in modifiers.name:
            raise ValueError("regexp_replace without 'g' replaces once in DuckDB, always in Spark")
        return node
    if isinstance(node, exp.DateDiff | exp.TimestampDiff):
        return _date_diff(node)
    if isinstance(node, exp.ArrayPosition) or (
        isinstance(node, exp.Anonymous) and node.name.lower() in ("list_position", "list_indexof")
    ):
        args = node.expressions if isinstance(node, exp.Anonymous) else [node.this, node.expression]
        return _fn("nullif", _fn("array_position", *args), exp.Literal.number(0))
    if isinstance(node, exp.ArrayAgg):
        inner = node.this
        if isinstance(inner, exp.Distinct):
            return _fn("collect_set", inner.expressions[0])
        return _fn("collect_list", inner)
    if (
        isinstance(node, exp.Window)
        and isinstance(node.this, exp.RowNumber)
        and not node.args.get("partition_by")
        and not node.args.get("order")
        and not node.args.get("alias")  # OVER w: a named window, ordered where it is defined
    ):
        return _numbered(node)
    if isinstance(node, exp.Sub) and _is_date(node.this) and _is_date(node.expression):
        return _fn("datediff", node.this, node.expression)  # DATE - DATE: days, an integer
    if isinstance(node, exp.Anonymous) and node.name.lower() == "timezone":
        return _timezone(node)
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous):
        if node.this.name.lower() == "pg_timezone_names":
            return exp.Table(this=exp.to_identifier(TIMEZONES_VIEW), alias=node.args.get("alias"))
        if node.this.name.lower() == "duckdb_tables":
            rows = ", ".join(f"('hh', 'main', '{t}')" for t in tables) or "('hh', 'main', '')"
            values = sqlglot.parse_one(
                f"SELECT * FROM VALUES {rows} AS t(database_name, schema_name, table_name)",
                read="spark",
            )
            return exp.Subquery(this=values, alias=node.args.get("alias") or exp.TableAlias())
    if isinstance(node, exp.CurrentSchema) or (
        isinstance(node, exp.Anonymous) and node.name.lower() == "current_schema"
    ):
        return exp.Literal.string("main")
    if isinstance(node, exp.CurrentDatabase if hasattr(exp, "CurrentDatabase") else ()) or (
        isinstance(node, exp.Anonymous) and node.name.lower() == "current_database"
    ):
        return exp.Literal.string("hh")
    return node


def _epoch_nodes(tree: exp.Expression) -> exp.Expression:
    """Sqlglot parses DuckDB's epoch(x) as TimeToUnix or Anonymous; normalise both."""

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.TimeToUnix) or (
            isinstance(node, exp.Anonymous) and node.name.lower() == "epoch"
        ):
            arg = node.this if isinstance(node, exp.TimeToUnix) else node.expressions[0]
            return _epoch(arg)
        return node

    return tree.transform(fix)


@functools.lru_cache(maxsize=2048)
def _cached(sql: str, tables: tuple[str, ...]) -> str:
    tree = sqlglot.parse_one(_named(sql), read="duckdb")
    tree = tree.transform(
        lambda n: exp.column(f"{MARK}{n.name}_") if isinstance(n, exp.Placeholder) else n
    )
    tree = _epoch_nodes(tree)
    for cte in tree.find_all(exp.CTE):
        cte.set("materialized", None)  # AS MATERIALIZED: a DuckDB planner hint
    tree = tree.transform(lambda n: _fix(n, tables))
    return tree.sql(dialect="spark")


def literal(value: Any) -> str:
    """``value`` as a Spark SQL literal (strings escaped by sqlglot's Spark generator)."""
    if value is None or value is pd.NaT:
        return "NULL"
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating | Decimal):
        f = float(value)
        if math.isnan(f) or math.isinf(f):
            return f"CAST('{f}' AS DOUBLE)".replace("'inf'", "'Infinity'").replace(
                "'-inf'", "'-Infinity'"
            )
        return f"CAST({f!r} AS DOUBLE)"
    if isinstance(value, pd.Timestamp | np.datetime64):
        value = pd.Timestamp(value).to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = pd.Timestamp(value).tz_convert("UTC").tz_localize(None).to_pydatetime()
        return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S.%f}'"
    if isinstance(value, date):
        return f"DATE '{value:%Y-%m-%d}'"
    if isinstance(value, str):
        return exp.Literal.string(value).sql(dialect="spark")
    if isinstance(value, Sequence | np.ndarray):
        items = list(value)
        if all(v is None for v in items):  # an empty typed list (DuckDB's [NULL]::VARCHAR[])
            return "array(" + ", ".join("CAST(NULL AS STRING)" for _ in items) + ")"
        return "array(" + ", ".join(literal(v) for v in items) + ")"
    raise TypeError(f"cannot bind a {type(value).__name__} as a Spark literal: {value!r}")


def to_spark(sql: str, params: Any = None, tables: Sequence[str] = ()) -> str:
    """Spark SQL for the DuckDB ``sql`` with ``params`` bound as literals.

    ``params`` is a sequence (for ``?``) or a mapping (for ``$name``), as DuckDB takes
    them; ``tables`` the names the adapter registered (for ``duckdb_tables()``).
    """
    text = _cached(sql, tuple(tables))
    if not params:
        if _MARKER.search(text):
            raise ValueError("the query has parameters but none were given")
        return text
    if isinstance(params, Mapping):
        values = {str(k): v for k, v in params.items()}
    else:
        values = {f"p{i}": v for i, v in enumerate(params)}

    def bind(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ValueError(f"no value bound for parameter {name!r}")
        return literal(values[name])

    return _MARKER.sub(bind, text)
