"""`handoff export` and the engine options of `metrics`, `model fit`, `serve` and `import`.

- ``handoff export --db FILE --parquet DIR`` writes every table as Parquet into a new
  snapshot of DIR and switches DIR's pointer to it (:mod:`analysis.engines.parquet`).
- ``handoff metrics|model fit|serve --engine spark --source DIR [--spark-master URL]`` run
  the same command with its queries on Spark over DIR: the options set
  ``$HANDOFF_ENGINE``, ``$HANDOFF_DB`` (the source) and ``$HANDOFF_SPARK_MASTER``, which
  :func:`analysis.engines.connect_read_only` reads where every command (and the dashboard)
  opens its connection, and the command runs unchanged.
- ``handoff import --parquet DIR FILE...`` imports into a Parquet history: the same
  validation and all-or-nothing batch as into a DuckDB file, applied to a private copy and
  published as a new snapshot with an atomic pointer switch.

:func:`install` adds the options to the commands already registered (so their own modules
stay as they are) and registers ``export``.
"""

from __future__ import annotations

import functools
import inspect
import os
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from analysis import engines
from handoff.common import DbOption, console, fail, out

EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        help="Where the queries run: duckdb (the --db file) or spark (the --source Parquet "
        "history).",
    ),
]
SourceOption = Annotated[
    Path | None,
    typer.Option(
        "--source",
        help="With --engine spark: the Parquet history directory (see `handoff export`).",
    ),
]
MasterOption = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="With --engine spark: master URL (spark://host:7077, yarn) or Spark Connect "
        "address (sc://host:15002); default local[2] or $HANDOFF_SPARK_MASTER.",
    ),
]
ParquetTarget = Annotated[
    Path | None,
    typer.Option(
        "--parquet",
        help="Import into this Parquet history directory (a new snapshot, switched to "
        "atomically) instead of the --db file.",
    ),
]


def export(
    db: DbOption,
    parquet_dir: Annotated[
        Path, typer.Option("--parquet", help="Directory of the Parquet history to write.")
    ],
) -> None:
    """Write every table of DB as Parquet into a new snapshot of DIR and switch DIR to it.

    Touchpoints are written one file per month of occurred_at; readers of DIR keep the
    snapshot they opened until they reconnect.
    """
    from analysis import store
    from analysis.engines import parquet

    if not db.exists():
        fail(f"database not found: {db}")
    try:
        snap, counts = parquet.export(db, parquet_dir)
    except (store.SchemaError, FileNotFoundError) as exc:
        fail(str(exc))
    total = sum(counts.values())
    out.print(f"wrote {total:,} rows of {len(counts)} tables to {snap}", highlight=False)
    for table, n in counts.items():
        out.print(f"  {table:<18} {n:>12,}", highlight=False)


def _use_spark(source: Path | None, master: str | None) -> Path:
    if source is None:
        fail("--engine spark needs --source DIR (a Parquet history, see `handoff export`)")
    source = source.resolve()
    os.environ[engines.ENGINE_ENV] = "spark"
    os.environ["HANDOFF_DB"] = str(source)
    if master:
        os.environ[engines.MASTER_ENV] = master
    return source


def _with_options(
    callback: Callable[..., Any],
    extra: dict[str, Any],
    before: Callable[[dict[str, Any], dict[str, Any]], Callable[[], Any] | None],
) -> Callable[..., Any]:
    """``callback`` with the options ``extra`` (name -> annotated type) added.

    ``before(kwargs, extra_values)`` may change the command's arguments in place, and may
    return a function to run instead of the command.
    """
    hints = typing.get_type_hints(callback, include_extras=True)
    params = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(callback).parameters.values()
    ]
    defaults = {"engine": "duckdb"}
    params += [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=defaults.get(name), annotation=hint
        )
        for name, hint in extra.items()
    ]

    @functools.wraps(callback)
    def command(**kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in extra}
        instead = before(kwargs, values)
        return instead() if instead is not None else callback(**kwargs)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    del command.__wrapped__  # Typer must read the new signature, not the command's own
    return command


def _engine_choice(kwargs: dict[str, Any], values: dict[str, Any]) -> None:
    name = values["engine"].strip().lower()
    if name not in engines.ENGINES:
        fail(f"--engine must be one of {', '.join(engines.ENGINES)}, got {values['engine']!r}")
    if name == "spark":
        kwargs["db"] = _use_spark(values["source"], values["spark_master"])
        if kwargs.get("allow_writes"):
            fail(engines.SPARK_READ_ONLY.replace("This dashboard", "--engine spark"))
    elif values["source"] is not None or values["spark_master"]:
        fail("--source and --spark-master go with --engine spark")


def _import_choice(
    callback: Callable[..., Any],
) -> Callable[[dict[str, Any], dict[str, Any]], Callable[[], Any] | None]:
    def choose(kwargs: dict[str, Any], values: dict[str, Any]) -> Callable[[], Any] | None:
        directory = values["parquet"]
        if directory is None:
            return None
        return lambda: _import_into_parquet(callback, kwargs, directory)

    return choose


def _import_into_parquet(callback: Callable[..., Any], kwargs: dict[str, Any], directory: Path):
    from analysis.engines import parquet

    codes: list[int] = []

    def write(db: Path) -> None:
        try:
            callback(**{**kwargs, "db": db})
            codes.append(0)
        except typer.Exit as exc:
            codes.append(int(exc.exit_code))
        except SystemExit as exc:
            codes.append(int(exc.code or 0))

    try:
        parquet.write_through_duckdb(directory, write)
    except FileNotFoundError as exc:
        fail(str(exc))
    code = codes[0] if codes else 2
    if code in (0, 1):
        console.print(f"published as the live snapshot of {directory}", highlight=False)
    raise typer.Exit(code)


ENGINE_OPTIONS = {"engine": EngineOption, "source": SourceOption, "spark_master": MasterOption}


def install(app: typer.Typer) -> None:
    """Register ``export`` and add the engine options to metrics, serve, model fit, import."""
    from handoff.model import model_app

    app.command("export")(export)
    for group in (app, model_app):
        for info in group.registered_commands:
            name = info.name or info.callback.__name__
            if name in ("metrics", "serve", "fit"):
                info.callback = _with_options(info.callback, ENGINE_OPTIONS, _engine_choice)
            elif name in ("import", "import_"):
                info.callback = _with_options(
                    info.callback, {"parquet": ParquetTarget}, _import_choice(info.callback)
                )
