"""The monitoring service: `phqwatch db`, `serve`, `worker` and `demo` (the main job)."""

from __future__ import annotations

from pathlib import Path

import click

from phqwatch.cli.base import cli, friendly_errors, make_settings


# ---- service: database, server, worker ------------------------------------------------------------------
@cli.group()
def db() -> None:
    """Database: migrations and the demo seed (URL from PHQWATCH_DATABASE_URL or --database-url)."""


@db.command("upgrade")
@click.option("--database-url", default=None, help="SQLAlchemy URL (default: settings, sqlite:///phqwatch.db).")
@friendly_errors
def db_upgrade(database_url: str | None) -> None:
    """Run the schema migrations up to the newest revision.

    \b
    Examples:
      phqwatch db upgrade
      PHQWATCH_DATABASE_URL=postgresql://phq:secret@db/phqwatch phqwatch db upgrade
    """
    from phqwatch.store import upgrade

    settings = make_settings(database_url=database_url)
    click.echo(f"Database at revision {upgrade(settings.database_url)}.")


@db.command("seed")
@click.option("--database-url", default=None, help="SQLAlchemy URL (default: settings).")
@click.option(
    "--examples",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder with transcripts.jsonl and phq9.csv (default: the bundled synthetic examples).",
)
@click.option("--score/--no-score", default=True, help="Score the seeded patients now (runs the worker once).")
@friendly_errors
def db_seed(database_url: str | None, examples: Path | None, score: bool) -> None:
    """Seed a demo organisation with synthetic example users (development mode only).

    Demo logins are printed here and nowhere else.

    \b
    Examples:
      phqwatch db seed
      phqwatch db seed --database-url sqlite:///demo.db --no-score
    """
    from phqwatch.server.demo import seed_demo

    settings = make_settings(database_url=database_url)
    seed = seed_demo(settings, examples_dir=examples)
    click.echo(
        f"Seeded {len(seed.patient_ids)} patients, {seed.messages} messages, {seed.questionnaires} administered "
        f"PHQ-9s ({seed.crisis_alerts} crisis alerts)."
    )
    if score:
        from phqwatch.server.worker import Worker
        from phqwatch.store import Database, TextCipher

        database = Database.from_url(settings.database_url)
        try:
            n = Worker(settings, database, TextCipher(settings.encryption_key.get_secret_value())).run_once(10_000)
        finally:
            database.dispose()
        click.echo(f"Scored: {n} jobs done.")
    if not settings.production:
        click.echo("Demo logins (development mode only):")
        for user, (role, password) in seed.logins.items():
            click.echo(f"  {user:<8} {role:<10} {password}")
        click.echo(f"  service API key: {seed.api_key}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--database-url", default=None, help="SQLAlchemy URL (default: settings).")
@click.option(
    "--worker/--no-worker",
    "with_worker",
    default=None,
    help="Run the re-estimation worker in this process (default: on for SQLite, off for PostgreSQL).",
)
@click.option("--log-level", default="info", show_default=True)
@friendly_errors
def serve(host: str, port: int, database_url: str | None, with_worker: bool | None, log_level: str) -> None:
    """Serve the JSON API (docs at /api/docs) and the dashboard.

    \b
    Examples:
      phqwatch serve
      phqwatch serve --host 0.0.0.0 --port 8080 --no-worker   # then run `phqwatch worker` processes
    """
    import uvicorn

    from phqwatch.server import create_app
    from phqwatch.server.client_address import SERVER_OPTIONS

    settings = make_settings(database_url=database_url)
    if with_worker is None:
        with_worker = settings.database_url.startswith("sqlite")
    app = create_app(settings, worker=with_worker)
    # Load the crisis screen's model before listening: otherwise the first message after every (re)start
    # waits seconds for it, and clients with short timeouts give up on it.
    app.state.ctx.crisis_screen.screen("warm-up")
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, **SERVER_OPTIONS)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Folder for scores.csv, evaluation/ (metrics.json, report.html) and the demo database.",
)
@click.option(
    "--database",
    "db_path",
    type=click.Path(path_type=Path),
    default=None,
    help="SQLite file for the demo (default OUT/phqwatch-demo.db); replaced on every run.",
)
@click.option(
    "--examples",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder with transcripts.jsonl and phq9.csv (default: the bundled synthetic examples).",
)
@click.option("--no-serve", is_flag=True, help="Seed and score, print the logins, then exit.")
@friendly_errors
def demo(host: str, port: int, out_dir: Path, db_path: Path | None, examples: Path | None, no_serve: bool) -> None:
    """The main job on the embedded defaults: score the synthetic examples with the shipped lexical-ridge model, write
    the scores and an evaluation report, seed SQLite with the same users and serve the dashboard.

    \b
    Examples:
      phqwatch demo                 # then open http://127.0.0.1:8000/login
      phqwatch demo --no-serve --out /tmp/demo
      phqwatch demo --port 8080 --database /tmp/demo.db
    """
    from phqwatch.datasets.synthetic import EXAMPLES_DIR
    from phqwatch.errors import ConfigError
    from phqwatch.evaluation.pipeline import evaluate_model, write_outputs
    from phqwatch.models import load_model
    from phqwatch.models.scoring import score_file
    from phqwatch.server.demo import seed_demo
    from phqwatch.server.worker import Worker
    from phqwatch.store import Database, TextCipher

    examples_dir = examples or EXAMPLES_DIR
    db_path = db_path or out_dir / "phqwatch-demo.db"
    out_dir.mkdir(parents=True, exist_ok=True)
    model = load_model()
    s = score_file(examples_dir / "transcripts.jsonl", out_dir / "scores.csv", model, progress=False)
    click.echo(f"1/3 Scored {s.scored} of {s.users} synthetic users with {model.model_id} -> {out_dir / 'scores.csv'}")
    ev, _rows = evaluate_model(model, examples_dir / "transcripts.jsonl", examples_dir / "phq9.csv", n_boot=200)
    write_outputs(ev, out_dir / "evaluation")
    m = ev.metrics
    click.echo(
        f"2/3 Evaluated against the synthetic administered PHQ-9s (14-day windows): MAE {m['mae']['value']:.2f}, "
        f"Pearson r {m['pearson']['value']:.2f} -> {out_dir / 'evaluation' / 'report.html'}"
    )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    settings = make_settings(database_url=f"sqlite:///{db_path}")
    if settings.production:
        raise ConfigError("The demo creates known accounts; it is refused in production mode.")
    import logging

    server_log = logging.getLogger("phqwatch.server")
    level = server_log.level
    server_log.setLevel(logging.ERROR)  # seeding opens the synthetic users' crisis alerts: counted below instead
    try:
        seed = seed_demo(settings, examples_dir=examples_dir)
    finally:
        server_log.setLevel(level)
    click.echo(
        f"Seeded {len(seed.patient_ids)} synthetic patients and {seed.messages} messages into {db_path} "
        "(dates moved so the latest message is today)."
    )
    database = Database.from_url(settings.database_url)
    click.echo(
        f"    {seed.crisis_alerts} crisis alerts opened by the crisis screen, {seed.paging_alerts} of them urgent "
        f"(paging); two synthetic users voice self-harm. {seed.model_reviews} high-priority risk reviews hold "
        "the learned model's unsure flags, mostly false alarms on symptom talk (see README, Safety)."
    )
    try:
        n = Worker(settings, database, TextCipher(settings.encryption_key.get_secret_value())).run_once(100_000)
    finally:
        database.dispose()
    click.echo(f"3/3 Seeded the dashboard database and ran {n} estimation jobs (decision support, not diagnoses).")
    click.echo("Demo logins (synthetic data, development mode only):")
    for user, (role, password) in seed.logins.items():
        click.echo(f"  {user:<8} {role:<10} {password}")
    if no_serve:
        return
    import uvicorn

    from phqwatch.server import create_app
    from phqwatch.server.client_address import SERVER_OPTIONS

    click.echo(f"Dashboard: http://{host}:{port}/login   (API docs: http://{host}:{port}/api/docs)  Ctrl-C to stop.")
    app = create_app(settings, worker=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, **SERVER_OPTIONS)


@cli.command()
@click.option("--database-url", default=None, help="SQLAlchemy URL (default: settings).")
@click.option("--poll", default=1.0, show_default=True, type=float, help="Seconds between queue polls when idle.")
@click.option("--once", is_flag=True, help="Drain the queue once and exit.")
@friendly_errors
def worker(database_url: str | None, poll: float, once: bool) -> None:
    """Run a re-estimation worker: claims jobs from the durable queue until stopped (Ctrl-C / SIGTERM).

    Several workers can share a PostgreSQL queue; use one on SQLite.

    \b
    Examples:
      phqwatch worker
      phqwatch worker --once
    """
    import signal

    from phqwatch.server.worker import Worker
    from phqwatch.store import Database, TextCipher

    settings = make_settings(database_url=database_url)
    settings.check_production()
    database = Database.from_url(settings.database_url)
    w = Worker(settings, database, TextCipher(settings.encryption_key.get_secret_value()), poll_s=poll)
    try:
        if once:
            w.recover()
            click.echo(f"Processed {w.run_once(1_000_000)} jobs.")
            return

        def _stop(*_: object) -> None:
            w.stop_event.set()
            w.wake.set()

        signal.signal(signal.SIGTERM, _stop)
        click.echo(f"Worker {w.worker_id} running; Ctrl-C to stop.")
        try:
            w.run()
        except KeyboardInterrupt:
            pass
        click.echo(f"Worker stopped after {w.processed} jobs.")
    finally:
        database.dispose()
