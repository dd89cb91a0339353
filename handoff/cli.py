"""The ``handoff`` command line: generate, import, inspect and serve a Handoff Health database.

Every command exits non-zero with a one-line reason on failure: 2 for unusable input
(missing file, wrong format, newer schema, a file that is not a database, a damaged
archive, a full disk, another write still running), 1 for an import that refused some rows.
User text (file names, values, reasons) is never read as Rich markup: messages are built
as :class:`rich.text.Text` or printed with ``markup=False``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

import dashboard
from analysis import config, store
from handoff import engine
from handoff.common import (
    UNUSABLE,
    DbOption,
    console,
    error_line,
    fail,
    open_read_only,
    out,
    plain,
    progress_printer,
)
from handoff.model import model_app
from handoff.settings import settings_app

REFUSED_SHOWN = 10
"""How many refused rows `handoff import` prints; all of them are kept in import_rejects."""
SECRET_ENV = "HANDOFF_SHARED_SECRET"
"""Read by ``dashboard.auth``; set by ``serve`` from --password-file."""
WRITES_ENV = "HANDOFF_ALLOW_WRITES"
"""Read by ``dashboard.state.writes_enabled``; set by ``serve`` from --allow-writes."""


class _Handoff(typer.Typer):
    """The Typer app, turning an unusable-input error in any command into exit 2 and one line."""

    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN204
        try:
            return super().__call__(*args, **kwargs)
        except UNUSABLE as exc:
            console.print(error_line(exc))
            sys.exit(2)


app = _Handoff(
    help="Handoff Health: the marketing-to-sales handoff, from your own history.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def generate(
    db: DbOption,
    leads: Annotated[int, typer.Option(min=100, help="Number of leads.")] = 50_000,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of history.")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed; same seed and end, same data.")] = 7,
    end: Annotated[
        str | None, typer.Option(help="Last day of history, YYYY-MM-DD (default: today, UTC).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing database with demo data.")
    ] = False,
) -> None:
    """Write a complete, seeded demo history (and its planted truth as JSON beside it).

    An existing database is never replaced unless --force is given (exit 2 otherwise).
    """
    from analysis.demo import synth

    if db.exists() and not force:
        fail(f"{db} already exists; generate replaces it with demo data: add --force to do so")
    end_date = _parse_date(end, "--end") if end else None
    t0 = time.perf_counter()
    try:
        truth = synth.generate_database(
            db, leads=leads, months=months, seed=seed, end=end_date, progress=progress_printer()
        )
    except store.SchemaError as exc:  # --force never replaces a file that is not ours
        fail(str(exc))
    counts = truth.get("counts", {})
    summary = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    console.print(f"wrote {db} in {time.perf_counter() - t0:.1f}s: {summary}", highlight=False)
    console.print(f"planted truth: {config.truth_path(db)}", highlight=False)


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="CSV or Parquet files.")],
    db: DbOption,
    table: Annotated[
        str | None, typer.Option(help="Target table (default: taken from each file name).")
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(help="TOML mapping for flat CRM exports (one row per lead)."),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="Mapping preset for flat exports: hubspot or salesforce."),
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Refuse the whole batch when any row is refused.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Flat exports: check everything, write nothing.")
    ] = False,
) -> None:
    """Import files; refused rows are kept in import_rejects with file, row, column and reason.

    Native files hold one table each (leads.csv, touchpoints.parquet, ...). Flat CRM
    exports (one row per lead, as HubSpot and Salesforce export them) need --preset and/or
    --mapping. Exit codes: 0 every row accepted; 1 some rows refused (the good rows are
    applied unless --strict); 2 unusable input, nothing written.
    """
    # Long on purpose: the options of one command and the report of its batch.
    from analysis.imports import counts, flat, ingest

    t0 = time.perf_counter()
    try:
        if mapping is not None or preset is not None:
            if table is not None:
                fail("--table is for native files; flat exports are mapped with --mapping/--preset")
            result = flat.import_flat(
                db,
                files,
                mapping=mapping,
                preset=preset,
                strict=strict,
                dry_run=dry_run,
                progress=progress_printer(),
            )
        else:
            if dry_run:
                fail("--dry-run is for flat exports (with --mapping or --preset)")
            result = ingest.import_files(
                db, files, table=table, strict=strict, progress=progress_printer()
            )
    except (ingest.UnusableInput, store.SchemaError, store.WriterBusy, FileNotFoundError) as exc:
        fail(str(exc))
    seconds = time.perf_counter() - t0
    summary = result.summary()
    rich_table = RichTable(title=plain(f"batch {result.batch_id}"))
    for col in summary.columns:
        rich_table.add_column(plain(col))
    for row in summary.itertuples(index=False):
        rich_table.add_row(*(plain(v) for v in row))
    out.print(rich_table)
    for note in getattr(result, "notes", []):
        console.print(f"note: {note}", highlight=False, markup=False)
    for line in counts.file_lines(result, dry_run=dry_run):  # per file: rows, then per table
        console.print(line, highlight=False, markup=False)
    for r in result.warnings.head(REFUSED_SHOWN).itertuples(index=False):
        console.print(f"left empty {r.file} row {r.row_number} [{r.column}]: {r.reason}",
                      highlight=False, markup=False)  # fmt: skip
    shown = result.refused.head(REFUSED_SHOWN)
    for r in shown.itertuples(index=False):
        console.print(
            f"refused {r.file} row {r.row_number} [{r.column}]: {r.reason}",
            highlight=False,
            markup=False,
        )
    if len(result.refused) > len(shown):
        console.print(
            f"... and {len(result.refused) - len(shown):,} more refused rows "
            "(all kept in the import_rejects table)",
            highlight=False,
            markup=False,
        )
    accepted = sum(result.accepted.values())
    console.print(
        f"{accepted:,} rows accepted, {len(result.refused):,} refused in {seconds:.1f}s"
        + ("" if result.applied else " — nothing was written (strict mode or dry run)"),
        highlight=False,
        markup=False,
    )
    raise typer.Exit(result.exit_code)


@app.command()
def info(
    db: DbOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Tables, row counts, date ranges, schema version, the last imports and who wrote last."""
    con = open_read_only(db)
    summary = store.table_summary(con)
    batches = store.import_batches(con, limit=5)
    writes = store.write_log(con, limit=5)
    version = store.schema_version(con)
    if as_json:
        payload = {
            "database": str(db),
            "schema_version": version,
            "tables": {
                r.table: {
                    "rows": int(r.rows),
                    "first": None if r.first is None or str(r.first) == "NaT" else str(r.first),
                    "last": None if r.last is None or str(r.last) == "NaT" else str(r.last),
                }
                for r in summary.itertuples()
            },
            "last_batches": json.loads(batches.to_json(orient="records", date_format="iso")),
            "last_writes": json.loads(writes.to_json(orient="records", date_format="iso")),
        }
        out.print_json(json.dumps(payload))
        return
    rich_table = RichTable(title=plain(f"{db} (schema version {version})"))
    for col in ("table", "rows", "first", "last"):
        rich_table.add_column(col, justify="right" if col == "rows" else "left")
    for r in summary.itertuples():
        rich_table.add_row(
            plain(r.table),
            f"{r.rows:,}",
            plain("" if str(r.first) == "NaT" else r.first),
            plain("" if str(r.last) == "NaT" else r.last),
        )
    out.print(rich_table)
    if len(batches):
        last = batches.iloc[0]
        out.print(
            f"last batch: {last.batch_id} ({last.kind}) at {last.finished_at}, "
            f"{last.accepted:,} accepted, {last.refused:,} refused",
            highlight=False,
            markup=False,
        )
    if len(writes):
        last = writes.iloc[0]
        out.print(f"last write: {last.written_at} by {last.actor} on {last.host}", highlight=False)


@app.command()
def metrics(
    db: DbOption,
    from_: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: open).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    by: Annotated[
        str | None, typer.Option(help="Also per value of a dimension (source, team, ...).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the default).")] = True,
    basis: Annotated[
        str,
        typer.Option(
            help="What stage counts and conversions mean: 'entered' (leads that entered the "
            "stage in the period) or 'created' (leads created in the period that reached it)."
        ),
    ] = "entered",
) -> None:
    """Headline numbers: volumes, conversions, deals, SLA, response times, reasons.

    Every stage-to-later-stage conversion, won deals, win rate, won amount, open deals and
    the sales cycle are included. Every rate carries k, n and its 95% Wilson interval. A
    number this history cannot support is null with a sibling "<key>_reason". JSON goes
    to stdout so scripts and scheduled jobs can read it.
    """
    from analysis import filters as flt
    from analysis.lifecycle import metrics as m

    start = _parse_date(from_, "--from") if from_ else None
    end = _parse_date(to, "--to") if to else None
    if start and end and start > end:
        fail(f"--from {start} is after --to {end}")
    if by is not None and by not in flt.DIMENSIONS:
        fail(f"--by must be one of {', '.join(sorted(flt.DIMENSIONS))}; got {by!r}")
    con = open_read_only(db)
    try:
        payload = m.headline(con, start, end, by=by, basis=basis)
    except ValueError as exc:
        fail(str(exc))
    print(json.dumps(payload, indent=2 if as_json else None))


@app.command()
def report(
    db: DbOption,
    month: Annotated[str, typer.Option(help="Month to review, YYYY-MM.")],
    out: Annotated[Path, typer.Option(help="HTML file to write (self-contained, offline).")],
    pdf: Annotated[
        Path | None, typer.Option(help="Also print a PDF here (needs Debian's chromium).")
    ] = None,
    goal: Annotated[
        float | None, typer.Option(help="Revenue goal for the reverse-funnel planner.")
    ] = None,
    trailing: Annotated[
        int, typer.Option(min=1, max=24, help="Months of history behind the planner's rates.")
    ] = 6,
    basis: Annotated[
        str, typer.Option(help="The funnel table's definition: 'entered' or 'created'.")
    ] = "entered",
) -> None:
    """Write the monthly smarketing review as one self-contained HTML file (and a PDF)."""
    from dashboard import report as rp

    try:
        written = rp.report_cli(
            db, month, out, pdf=pdf, revenue_goal=goal, trailing_months=trailing, basis=basis
        )
    except (FileNotFoundError, store.SchemaError, ValueError) as exc:
        fail(str(exc))
    except RuntimeError as exc:
        fail(str(exc), code=1)
    for path in written:
        console.print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)", highlight=False)


targets_app = typer.Typer(help="Monthly goals (the targets table).", no_args_is_help=True)
app.add_typer(targets_app, name="targets")


@targets_app.command("set")
def targets_set(
    db: DbOption,
    month: Annotated[str, typer.Option(help="Month, YYYY-MM.")],
    metric: Annotated[
        str, typer.Option(help="leads, mqls, sqls, opportunities, deals_won, won_revenue, ...")
    ],
    value: Annotated[float | None, typer.Option(help="The goal.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove this goal.")] = False,
) -> None:
    """Set (or with --clear remove) one monthly goal; many at once: `handoff import targets.csv`."""
    from analysis.lifecycle import review

    if (value is None) == (not clear):
        fail("give exactly one of --value or --clear")
    if value is not None and not math.isfinite(value):
        fail(f"--value must be a finite number, got {value}; use --clear to remove a goal")
    try:
        done = review.set_targets(db, [{"month": month, "metric": metric, "value": value}])
    except (FileNotFoundError, store.SchemaError, store.WriterBusy, ValueError) as exc:
        fail(str(exc))
    console.print(
        f"{metric} for {month}: "
        + ("removed" if clear else f"set to {value:g}")
        + f" ({done.upserted} written, {done.deleted} removed)",
        highlight=False,
        markup=False,
    )


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _is_loopback(address: str) -> bool:
    return address in LOOPBACK or address.startswith("127.")


@app.command()
def serve(
    db: DbOption,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    address: Annotated[
        str,
        typer.Option(
            help="Address to bind. Anything but 127.0.0.1/localhost exposes the data to the "
            "network and is refused without --i-know-this-is-public."
        ),
    ] = "127.0.0.1",
    allow_writes: Annotated[
        bool,
        typer.Option(
            "--allow-writes",
            help="Let the browser write the database (Data-page import, targets editor, "
            "saving scoring rules). Off by default: the dashboard is read-only.",
        ),
    ] = False,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="File holding a shared secret every browser session must type once "
            "(also read from $HANDOFF_SHARED_SECRET). Required to bind beyond 127.0.0.1 "
            "unless --i-know-this-is-public.",
        ),
    ] = None,
    public: Annotated[
        bool,
        typer.Option(
            "--i-know-this-is-public",
            help="Bind beyond 127.0.0.1 although the dashboard has no login of its own "
            "(put it behind an authenticating proxy); prints a warning.",
        ),
    ] = False,
) -> None:
    """Serve the dashboard on http://ADDRESS:PORT against DB (read-only unless --allow-writes).

    Beyond 127.0.0.1 the dashboard needs a sign-in: a shared secret (--password-file or
    $HANDOFF_SHARED_SECRET) that each browser session types once. Without one it binds
    elsewhere only with --i-know-this-is-public (then a warning is printed). Every write,
    from the browser or the command line, is recorded in the write_log table.
    """
    # Long on purpose: most lines are the options' help texts and the public-address
    # rules, which read best next to each other.
    db = db.resolve()
    if not db.exists():
        fail(f"database not found: {db} (run `handoff generate --db {db}` or `handoff demo`)")
    secret = os.environ.get(SECRET_ENV, "")
    if password_file is not None:
        try:
            secret = password_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--password-file {password_file}: cannot be read ({exc})")
        if not secret:
            fail(f"--password-file {password_file} is empty")
    if not _is_loopback(address) and not secret:
        if not public:
            fail(
                f"--address {address} would serve names and e-mails to the network without a "
                "login; give a shared secret with --password-file, bind 127.0.0.1 behind an "
                "authenticating proxy, or pass "
                "--i-know-this-is-public"
            )
        console.print(
            f"warning: serving on {address} without authentication: anyone who can reach "
            f"port {port} can read this database"
            + (" and write to it (--allow-writes)" if allow_writes else ""),
            style="bold yellow",
        )
    open_read_only(db).close()
    app_file = Path(dashboard.__file__).resolve().parent / "app.py"
    cmd = [
        sys.executable,
        "-m",
        "dashboard.warm",  # warms the caches (prints how long), then runs streamlit
        "run",
        str(app_file),
        "--server.headless",
        "true",
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        # No full garbage collection after every script run: it walked the warm caches
        # (0.2 s at 1M leads) before each rerun; dashboard.warm.settle_memory instead.
        "--runner.postScriptGC",
        "false",
        # No watching of the app's source files: each new browser session scanned every
        # loaded module's path on the server's event loop (0.3-0.4 s at every page load,
        # with the browser's messages waiting behind it); a served dashboard's sources do
        # not change under it.
        "--server.fileWatcherType",
        "none",
    ]
    mode = "writes allowed" if allow_writes else "read-only"
    console.print(f"serving {db} on http://{address}:{port} ({mode})", highlight=False)
    sys.stdout.flush()
    sys.stderr.flush()
    env = {**os.environ, "HANDOFF_DB": str(db), WRITES_ENV: "1" if allow_writes else "0"}
    if secret:
        env[SECRET_ENV] = secret
    # Writes from the browser are recorded in write_log as made through the dashboard.
    env["HANDOFF_ACTOR"] = f"dashboard:{store.default_actor()}"
    # Replace this process with the server, so stopping `handoff serve` stops Streamlit too.
    os.execve(sys.executable, cmd, env)


@app.command()
def demo(
    db: DbOption,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    leads: Annotated[int, typer.Option(min=100, help="Leads to generate when missing.")] = 50_000,
) -> None:
    """Generate the demo database when it is missing, then serve the dashboard."""
    if not db.exists():
        generate(db=db, leads=leads)
    serve(db=db, port=port, address="127.0.0.1", allow_writes=False, public=False)


def _parse_date(value: str, option: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {value!r}")


app.add_typer(settings_app, name="settings")
app.add_typer(model_app, name="model")
from handoff.labels import labels_app  # noqa: E402

app.add_typer(labels_app, name="labels")
engine.install(app)  # `export`, and --engine spark / --parquet on metrics, serve, fit, import


def main() -> None:
    """Entry point for ``python -m handoff``."""
    app()


if __name__ == "__main__":
    main()
