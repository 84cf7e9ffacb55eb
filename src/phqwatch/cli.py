"""The `phqwatch` command: the top layer. Errors from phqwatch.errors become a one-line message + exit 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from phqwatch import __version__
from phqwatch.errors import PhqwatchError


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a PhqwatchError into `Error: ...` on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PhqwatchError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def _settings(**overrides: Any):
    from phqwatch.config import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="phqwatch")
def cli() -> None:
    """Passive PHQ-9 estimation from conversation text, and monitoring clinicians can trust.

    Every estimate is decision support, never a diagnosis.
    """


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Scores file to write (.csv or .jsonl); written atomically.",
)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Model folder (default: the shipped CPU model).",
)
@click.option("--include-assistant", is_flag=True, help="Also score the app's turns (default: user turns only).")
@click.option("--min-words", type=int, default=None, help="Abstain below this many user words (default 50).")
@click.option(
    "--max-message-chars",
    type=int,
    default=100_000,
    show_default=True,
    help="Longer messages are truncated (the count is reported).",
)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@friendly_errors
def score(
    input_path: Path,
    out_path: Path,
    model_dir: Path | None,
    include_assistant: bool,
    min_words: int | None,
    max_message_chars: int,
    progress: bool,
) -> None:
    """Score transcripts: one estimated PHQ-9 per user.

    INPUT is JSONL (one message or one conversation per line) or CSV with user_id, conversation_id,
    role, text, timestamp.

    \b
    Examples:
      phqwatch score examples/transcripts.jsonl --out scores.csv
      phqwatch score chats.jsonl --out scores.jsonl --model models/my-model --include-assistant
    """
    from phqwatch.models import load_model
    from phqwatch.models.scoring import score_file

    model = load_model(model_dir)
    s = score_file(
        input_path,
        out_path,
        model,
        include_assistant=include_assistant,
        min_words=min_words,
        max_message_chars=max_message_chars,
        progress=progress,
    )
    click.echo(
        f"Scored {s.scored} of {s.users} users ({s.abstained} abstained: too little text) with "
        f"{model.model_id} -> {out_path}"
    )
    if s.assembled.duplicates:
        click.echo(f"Note: {s.assembled.duplicates} duplicate messages were counted once.")
    if s.read.truncated:
        click.echo(f"Note: {s.read.truncated} messages longer than {max_message_chars} characters were truncated.")
    if s.read.skipped:
        click.echo(f"Note: {s.read.skipped} system/tool turns were skipped.")
    click.echo("These are ESTIMATES for decision support, not administered PHQ-9 scores or a diagnosis.")


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path), help="Pseudolabels (.csv/.jsonl).")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (else PHQWATCH_TEACHER_BASE_URL).")
@click.option("--teacher-model", default=None, help="Model name on that server (else PHQWATCH_TEACHER_MODEL).")
@click.option("--concurrency", type=int, default=None, help="Requests in flight (default: settings, 4).")
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Administered PHQ-9 CSV: also rate each questionnaire's window and report teacher calibration.",
)
@click.option("--recalibrate", is_flag=True, help="With --labels: add a linearly recalibrated column.")
@click.option("--deid/--no-deid", default=None, help="De-identify before sending (default: on unless loopback).")
@click.option("--deid-engine", type=click.Choice(["regex", "presidio"]), default="regex", show_default=True)
@click.option("--cache", "cache_path", type=click.Path(path_type=Path), default=None, help="SQLite cache file.")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write the cache.")
@click.option(
    "--structured",
    type=click.Choice(["auto", "always", "json_object", "never"]),
    default="auto",
    show_default=True,
    help="Structured output: json_schema, stepping down to JSON mode / plain prompting when rejected.",
)
@click.option("--max-tokens", type=int, default=1024, show_default=True, help="Completion limit per call.")
@click.option("--price-prompt", type=float, default=0.0, show_default=True, help="Price per 1k prompt tokens.")
@click.option("--price-completion", type=float, default=0.0, show_default=True, help="Price per 1k output tokens.")
@click.option("--stats", "stats_path", type=click.Path(path_type=Path), default=None, help="Write run stats JSON.")
@click.option("--include-assistant", is_flag=True, help="Also send the app's turns (default: user turns only).")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@friendly_errors
def pseudolabel(
    input_path: Path,
    out_path: Path,
    base_url: str | None,
    teacher_model: str | None,
    concurrency: int | None,
    labels_path: Path | None,
    recalibrate: bool,
    deid: bool | None,
    deid_engine: str,
    cache_path: Path | None,
    no_cache: bool,
    structured: str,
    max_tokens: int,
    price_prompt: float,
    price_completion: float,
    stats_path: Path | None,
    include_assistant: bool,
    progress: bool,
) -> None:
    """Rate users' text with an LLM teacher (OpenAI-compatible) into PHQ-9 pseudolabels.

    One row per user: phq9_estimate (teacher total or empty when it abstained), item_1..item_9,
    confidence, verified-quote counts and status (ok / abstained / failed). Results are cached, so a
    rerun resumes an interrupted run. The API key is read only from PHQWATCH_TEACHER_API_KEY.
    Text is de-identified before it leaves the machine unless the endpoint is loopback.

    \b
    Examples:
      phqwatch pseudolabel chats.jsonl --out teacher.csv --base-url http://127.0.0.1:8080/v1 \\
          --teacher-model qwen2.5-7b-instruct
      PHQWATCH_TEACHER_API_KEY=... phqwatch pseudolabel chats.jsonl --out teacher.csv \\
          --base-url https://api.openai.com/v1 --teacher-model gpt-4o-mini --labels phq9.csv --stats run.json
    """
    from phqwatch.teacher import Pricing
    from phqwatch.training.pseudolabel_file import pseudolabel_file

    settings = _settings(teacher_base_url=base_url, teacher_model=teacher_model, teacher_max_concurrency=concurrency)
    r = pseudolabel_file(
        input_path,
        out_path,
        settings,
        questionnaires_path=labels_path,
        recalibrate=recalibrate,
        include_assistant=include_assistant,
        stats_path=stats_path,
        cache_path=cache_path,
        use_cache=not no_cache,
        pricing=Pricing(price_prompt, price_completion),
        deid=deid,
        deid_engine=deid_engine,
        structured=structured,
        max_tokens=max_tokens,
        progress=progress,
    )
    s = r.stats
    click.echo(
        f"Teacher {s.teacher_model}: {s.ok} ok, {s.abstained} abstained, {s.failed} failed of {r.users} users "
        f"({s.cache_hits} from cache, {s.calls} calls, {s.total_tokens} tokens, cost {s.cost:.4f}) -> {out_path}"
    )
    click.echo(
        f"Output format: {s.output_format}; quotes kept {s.quotes_kept}, dropped {s.quotes_dropped} (not in text); "
        f"de-identification {'on' if s.deid else 'off'}."
    )
    if s.structured_fallback_reason:
        click.echo(f"Note: structured output fell back ({s.structured_fallback_reason}).")
    if s.failure_kinds:
        click.echo("Failures: " + ", ".join(f"{k} {v}" for k, v in sorted(s.failure_kinds.items())))
    cal = r.calibration
    if cal is not None:
        m = cal.metrics_raw
        if m:
            mae, r_ = m["mae"], m["pearson"]
            click.echo(
                f"Calibration on {cal.n_scored} administered windows ({cal.n_abstained} abstained): "
                f"MAE {mae['value']} [{mae['ci'][0]}, {mae['ci'][1]}], Pearson r {r_['value']}"
            )
        if cal.note:
            click.echo(f"Note: {cal.note}")
        if cal.recalibrated:
            click.echo(f"Recalibration: y = {cal.intercept:.2f} + {cal.slope:.2f} * teacher (column phq9_recalibrated)")
    click.echo("These are teacher PSEUDOLABELS for training, not administered PHQ-9 scores or a diagnosis.")


@cli.command()
@click.option(
    "--predictions",
    type=click.Path(path_type=Path),
    default=None,
    help="Scores file (.csv/.jsonl, the scores contract) to evaluate.",
)
@click.option("--labels", type=click.Path(path_type=Path), default=None, help="Administered PHQ-9 CSV.")
@click.option(
    "--dataset",
    default=None,
    help="Public proxy set instead of --labels: depseverity, lt_edi, reddit_dr or all (ordinal metrics).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Folder for the outputs.")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None, help="Model folder (end-to-end).")
@click.option("--transcripts", type=click.Path(path_type=Path), default=None, help="Transcripts to score (end-to-end).")
@click.option("--metadata", type=click.Path(path_type=Path), default=None, help="CSV: user_id + columns to break by.")
@click.option("--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples of users.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--min-per-class", type=int, default=10, show_default=True, help="Min positives/negatives per AUC.")
@click.option("--window-days", type=int, default=14, show_default=True, help="Days of text per questionnaire.")
@click.option("--no-figures", is_flag=True, help="Skip the figures in report.html (faster).")
@friendly_errors
def evaluate(
    predictions: Path | None,
    labels: Path | None,
    dataset: str | None,
    out_dir: Path,
    model_dir: Path | None,
    transcripts: Path | None,
    metadata: Path | None,
    n_boot: int,
    seed: int,
    min_per_class: int,
    window_days: int,
    no_figures: bool,
) -> None:
    """Evaluate estimates against administered PHQ-9s: metrics with 95% CIs, figures, an HTML report.

    Either pass --predictions (a scores file), or --transcripts (and optionally --model) to score each
    questionnaire's 14-day window end to end. Writes OUT/metrics.json and OUT/report.html.

    \b
    Examples:
      phqwatch evaluate --predictions scores.csv --labels phq9.csv --out eval/
      phqwatch evaluate --predictions scores.csv --labels phq9.csv --out eval/ --metadata meta.csv
      phqwatch evaluate --model models/my-model --transcripts chats.jsonl --labels phq9.csv --out eval/
      phqwatch evaluate --dataset all --out eval-proxy/            # the shipped model on the shared sets
    """
    from phqwatch.errors import InputError

    if dataset is not None:
        _evaluate_proxy(dataset, model_dir, out_dir, n_boot, seed, min_per_class, no_figures, predictions, labels)
        return
    if labels is None:
        raise InputError("--labels is required (or use --dataset)", fix="Add --labels phq9.csv, or --dataset all.")
    from phqwatch.evaluation.pipeline import evaluate_files, evaluate_model, write_outputs, write_predictions
    from phqwatch.evaluation.report import text_table

    if (predictions is None) == (transcripts is None):
        raise InputError(
            "pass exactly one of --predictions or --transcripts",
            fix="Use --predictions SCORES.csv, or --transcripts T.jsonl [--model DIR] for end-to-end.",
        )
    if predictions is not None:
        if model_dir is not None:
            raise InputError("--model is only used with --transcripts", fix="Drop --model or use --transcripts.")
        ev = evaluate_files(
            predictions, labels, metadata=metadata, n_boot=n_boot, seed=seed, min_per_class=min_per_class
        )
    else:
        from phqwatch.models import load_model

        model = load_model(model_dir)
        ev, rows = evaluate_model(
            model,
            transcripts,
            labels,
            days=window_days,
            metadata=metadata,
            n_boot=n_boot,
            seed=seed,
            min_per_class=min_per_class,
        )
        write_predictions(rows, out_dir / "predictions.csv")
    mpath, rpath = write_outputs(ev, out_dir, figures=not no_figures)
    d = ev.metrics["data"]
    click.echo(text_table(ev.metrics))
    click.echo(
        f"\n{d['scored']} scored of {d['matched']} matched ({d['abstained']['count']} abstained); "
        f"{d['missing_predictions']['count']} labels without a prediction, "
        f"{d['missing_labels']['count']} predictions without a label. {d['join_note']}."
    )
    click.echo(f"Wrote {mpath} and {rpath}")
    click.echo("These are ESTIMATES for decision support, not administered PHQ-9 scores or a diagnosis.")


def _evaluate_proxy(
    dataset: str,
    model_dir: Path | None,
    out_dir: Path,
    n_boot: int,
    seed: int,
    min_per_class: int,
    no_figures: bool,
    predictions: Path | None,
    labels: Path | None,
) -> None:
    """`evaluate --dataset`: a model on the held-out test split of the public proxy sets, ordinal metrics only."""
    from phqwatch.errors import InputError
    from phqwatch.evaluation.proxy import evaluate_proxy, resolve_names, text_table, write_proxy_outputs
    from phqwatch.models import load_model

    if predictions is not None or labels is not None:
        raise InputError("--dataset takes no --predictions/--labels", fix="Drop them, or drop --dataset.")
    from phqwatch.datasets import available_datasets, load_dataset

    names = resolve_names(dataset)
    for name in names:  # a missing folder fails here, before the model loads
        if name not in available_datasets():
            load_dataset(name)
    model = load_model(model_dir)
    ev = evaluate_proxy(
        model, names, n_boot=n_boot, seed=seed, min_per_class=min_per_class, model_path=model_dir, log=click.echo
    )
    mpath, rpath = write_proxy_outputs(ev, out_dir, figures=not no_figures)
    click.echo(text_table(ev.metrics))
    click.echo(f"Wrote {mpath} and {rpath}")
    click.echo("Proxy sets: research use only; weak ordinal labels, so no PHQ-9 error is reported.")


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

    settings = _settings(database_url=database_url)
    click.echo(f"Database at revision {upgrade(settings.database_url)}.")


@db.command("seed")
@click.option("--database-url", default=None, help="SQLAlchemy URL (default: settings).")
@click.option("--examples", type=click.Path(path_type=Path), default=None, help="Folder: transcripts.jsonl, phq9.csv.")
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

    settings = _settings(database_url=database_url)
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

    settings = _settings(database_url=database_url)
    if with_worker is None:
        with_worker = settings.database_url.startswith("sqlite")
    app = create_app(settings, worker=with_worker)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


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
@click.option("--examples", type=click.Path(path_type=Path), default=None, help="Folder: transcripts.jsonl, phq9.csv.")
@click.option("--no-serve", is_flag=True, help="Seed and score, print the logins, then exit.")
@friendly_errors
def demo(host: str, port: int, out_dir: Path, db_path: Path | None, examples: Path | None, no_serve: bool) -> None:
    """The main job on the embedded defaults: score the synthetic examples with the shipped CPU model, write
    the scores and an evaluation report, seed SQLite with the same users and serve the dashboard.

    \b
    Examples:
      phqwatch demo                 # then open http://127.0.0.1:8000/login
      phqwatch demo --no-serve --out /tmp/demo
      phqwatch demo --port 8080 --database /tmp/demo.db
    """
    from phqwatch.errors import ConfigError
    from phqwatch.evaluation.pipeline import evaluate_model, write_outputs
    from phqwatch.models import load_model
    from phqwatch.models.scoring import score_file
    from phqwatch.server.demo import seed_demo
    from phqwatch.server.worker import Worker
    from phqwatch.store import Database, TextCipher

    examples_dir = examples or _examples_dir()
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
    settings = _settings(database_url=f"sqlite:///{db_path}")
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
    click.echo(f"Seeded {len(seed.patient_ids)} synthetic patients and {seed.messages} messages into {db_path}.")
    database = Database.from_url(settings.database_url)
    click.echo(
        f"    {seed.crisis_alerts} urgent crisis alerts opened by the safety screen (synthetic users voice self-harm)."
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

    click.echo(f"Dashboard: http://{host}:{port}/login   (API docs: http://{host}:{port}/api/docs)  Ctrl-C to stop.")
    uvicorn.run(create_app(settings, worker=True), host=host, port=port, log_level="warning", access_log=False)


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

    settings = _settings(database_url=database_url)
    settings.check_production()
    database = Database.from_url(settings.database_url)
    w = Worker(settings, database, TextCipher(settings.encryption_key.get_secret_value()), poll_s=poll)
    try:
        if once:
            w.recover()
            click.echo(f"Processed {w.run_once(1_000_000)} jobs.")
            return
        signal.signal(signal.SIGTERM, lambda *_: w.stop_event.set() or w.wake.set())
        click.echo(f"Worker {w.worker_id} running; Ctrl-C to stop.")
        try:
            w.run()
        except KeyboardInterrupt:
            pass
        click.echo(f"Worker stopped after {w.processed} jobs.")
    finally:
        database.dispose()


@cli.command()
@click.option("--dataset", default=None, help="Public proxy set to train on: depseverity, lt_edi, reddit_dr or all.")
@click.option("--transcripts", "transcripts_path", type=click.Path(path_type=Path), default=None, help="Transcripts.")
@click.option("--labels", "labels_path", type=click.Path(path_type=Path), default=None, help="PHQ-9 CSV.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Model folder to write.")
@click.option("--window-days", type=int, default=14, show_default=True, help="Days of text before each PHQ-9.")
@click.option("--include-assistant", is_flag=True, help="Also train on the app's turns.")
@click.option("--estimator", default="lexical-ridge", show_default=True, help="Registered estimator name.")
@click.option(
    "--backbone",
    type=click.Path(path_type=Path),
    default=None,
    help="Local Hugging Face model folder for --estimator transformer (see docs/transformer.md).",
)
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Root of the public data.")
@friendly_errors
def train(
    dataset: str | None,
    transcripts_path: Path | None,
    labels_path: Path | None,
    out_dir: Path,
    window_days: int,
    include_assistant: bool,
    estimator: str,
    backbone: Path | None,
    data_dir: Path | None,
) -> None:
    """Train a model folder from your transcripts + administered PHQ-9s, or from public proxy data.

    With --transcripts/--labels each PHQ-9 is linked to the user's text in the --window-days before it
    and the model regresses the PHQ-9 total (0-27). With --dataset it trains one head per proxy set.

    \b
    Examples:
      phqwatch train --transcripts examples/transcripts.jsonl --labels examples/phq9.csv --out my-model
      phqwatch train --dataset all --out src/phqwatch/models/default
      phqwatch train --dataset depseverity --out /tmp/depsev-model
      phqwatch train --transcripts chats.jsonl --labels phq9.csv --estimator transformer \
          --backbone models/qwen3-0.6b --out qwen-phq9
    """
    from phqwatch.errors import InputError
    from phqwatch.models.registry import estimator_class

    if (dataset is None) == (transcripts_path is None):
        raise InputError("pass either --dataset or --transcripts with --labels", fix="See `phqwatch train --help`.")
    cls = estimator_class(estimator)
    if backbone is not None:
        cls = functools.partial(cls, backbone=str(backbone))  # type: ignore[assignment]
    if dataset is not None:
        from phqwatch.datasets import DATASETS
        from phqwatch.training.build_default import build

        names = DATASETS if dataset == "all" else (dataset,)
        if dataset != "all" and dataset not in DATASETS:
            raise InputError(f"unknown dataset '{dataset}'", fix=f"Use all or one of {', '.join(DATASETS)}.")
        build(out_dir, data_dir, names=names, log=click.echo, estimator=cls())
        click.echo(f"Model written to {out_dir} (proxy labels; see its README.md model card).")
        return
    if labels_path is None:
        raise InputError("--transcripts needs --labels (a PHQ-9 CSV)", fix="Add --labels phq9.csv.")
    from phqwatch.transcripts import WindowStats, build_windows, iter_messages, read_questionnaires

    stats = WindowStats()
    windows = build_windows(
        iter_messages(transcripts_path),
        read_questionnaires(labels_path),
        days=window_days,
        include_assistant=include_assistant,
        stats=stats,
    )
    click.echo(f"{stats.windows} windows from {stats.questionnaires} questionnaires ({stats.empty} without text).")
    if len(windows) < 10:
        raise InputError(f"only {len(windows)} labelled windows", fix="Provide more users with PHQ-9s and text.")
    rng = np.random.default_rng(0)
    users = sorted({w.user_id for w in windows})
    calib_users = set(rng.permutation(users)[: max(1, len(users) // 5)])
    fit_w = [w for w in windows if w.user_id not in calib_users]
    cal_w = [w for w in windows if w.user_id in calib_users]
    click.echo(f"Fitting {estimator} on {len(fit_w)} windows; calibrating the interval on {len(cal_w)} held-out.")
    model = cls().fit([w.text for w in fit_w], [w.label for w in fit_w])
    if cal_w:
        model.calibrate_interval([w.text for w in cal_w], [w.label for w in cal_w])
    model.save(
        out_dir,
        metadata={
            "training_data": f"{transcripts_path} + {labels_path} ({len(fit_w)} windows of {window_days} days)",
            "labels": "administered PHQ-9 totals",
            "output_scale": "direct regression on PHQ-9 totals 0-27",
            "rebuild": f"phqwatch train --transcripts {transcripts_path} --labels {labels_path} --out {out_dir}",
        },
    )
    click.echo(f"Model written to {out_dir}.")


@cli.command()
@click.option(
    "--transcripts",
    "transcripts_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Transcripts of the administered users.",
)
@click.option("--labels", "labels_path", required=True, type=click.Path(path_type=Path), help="Administered PHQ-9 CSV.")
@click.option(
    "--unlabeled",
    "unlabeled_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Transcripts of users without a PHQ-9.",
)
@click.option(
    "--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Folder for rounds, summary and model."
)
@click.option(
    "--teacher/--no-teacher",
    default=None,
    help="Use the LLM teacher (PHQWATCH_TEACHER_*); default: on when a teacher URL is set.",
)
@click.option("--rounds", type=int, default=5, show_default=True, help="Self-training rounds after round 0.")
@click.option(
    "--filter",
    "filter_",
    type=click.Choice(["confidence", "agreement", "none"]),
    default="confidence",
    show_default=True,
    help="Which pseudolabels to keep.",
)
@click.option(
    "--min-confidence",
    type=float,
    default=0.8,
    show_default=True,
    help="confidence filter: minimum share of the model's interval inside one band (or the teacher's own "
    "confidence). With wide intervals mostly the extreme bands pass; --accept-frac with --balance-classes "
    "(and --min-confidence 0) keeps every band.",
)
@click.option(
    "--agreement-tol",
    type=float,
    default=3.0,
    show_default=True,
    help="agreement filter: max |teacher - model| in PHQ-9 points.",
)
@click.option(
    "--accept-frac",
    type=float,
    default=None,
    help="Round r keeps at most r x this share of the unlabeled users (most confident first).",
)
@click.option("--balance-classes", is_flag=True, help="Split that quota by the administered PHQ-9 band shares.")
@click.option(
    "--source",
    "pseudo_source",
    type=click.Choice(["auto", "teacher", "model", "mean"]),
    default="auto",
    show_default=True,
    help="Who gives the pseudolabel (auto: teacher if on, else the previous model).",
)
@click.option(
    "--patience", type=int, default=1, show_default=True, help="Stop after this many rounds without improvement."
)
@click.option(
    "--metric", default="spearman", show_default=True, help="Held-out selection metric (spearman, mae, qwk, ...)."
)
@click.option("--ensemble", is_flag=True, help="Also average the ground-truth-only and the best pseudolabel model.")
@click.option(
    "--heldout-frac", type=float, default=0.2, show_default=True, help="Share of administered users held out."
)
@click.option("--estimator", default="lexical-ridge", show_default=True, help="Registered estimator name.")
@click.option("--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples for the CIs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the held-out split and the bootstrap.")
@click.option("--include-assistant", is_flag=True, help="Also use the app's turns.")
@friendly_errors
def selftrain(
    transcripts_path: Path,
    labels_path: Path,
    unlabeled_path: Path,
    out_dir: Path,
    teacher: bool | None,
    rounds: int,
    filter_: str,
    min_confidence: float,
    agreement_tol: float,
    accept_frac: float | None,
    balance_classes: bool,
    pseudo_source: str,
    patience: int,
    metric: str,
    ensemble: bool,
    heldout_frac: float,
    estimator: str,
    n_boot: int,
    seed: int,
    include_assistant: bool,
) -> None:
    """Self-train: administered PHQ-9s first, then teacher and/or model pseudolabels, round by round.

    Round 0 trains on the administered windows only. Each next round pseudolabels the unlabeled users
    (the LLM teacher and/or the previous round's model), keeps those that pass --filter, retrains and is
    scored on held-out administered users (metrics with 95% CIs). Training stops when the held-out
    --metric stops improving (--patience). OUT/round_N/ keeps each round's model, pseudolabels.csv and
    metrics.json; OUT/summary.json, OUT/heldout_by_round.png, and the chosen model in OUT/model.
    Teacher settings come from PHQWATCH_TEACHER_BASE_URL, _MODEL, _API_KEY (never logged).

    \b
    Examples:
      phqwatch selftrain --transcripts chats.jsonl --labels phq9.csv --unlabeled other.jsonl --out st/ --no-teacher
      PHQWATCH_TEACHER_BASE_URL=http://127.0.0.1:8080/v1 PHQWATCH_TEACHER_MODEL=qwen2.5-7b \\
          phqwatch selftrain --transcripts chats.jsonl --labels phq9.csv --unlabeled other.jsonl \\
          --out st/ --teacher --filter agreement --rounds 3 --ensemble
    """
    from phqwatch.training.selftrain_files import selftrain_files

    res, counts = selftrain_files(
        transcripts_path,
        labels_path,
        unlabeled_path,
        out_dir,
        _settings(),
        estimator=estimator,
        teacher=teacher,
        heldout_frac=heldout_frac,
        include_assistant=include_assistant,
        progress=click.echo,
        max_rounds=rounds,
        filter=filter_,
        min_confidence=min_confidence,
        agreement_tol=agreement_tol,
        accept_frac=accept_frac,
        balance_classes=balance_classes,
        pseudo_source=pseudo_source,
        patience=patience,
        metric=metric,
        ensemble=ensemble,
        n_boot=n_boot,
        seed=seed,
    )
    click.echo("round | accepted | held-out " + metric + " [95% CI] | wall s")
    for r in res.rounds:
        node = r.heldout.get(metric, {})
        ci = node.get("ci") or [None, None] if isinstance(node, dict) else [None, None]
        ci_txt = "" if ci[0] is None else f" [{ci[0]:.3f}, {ci[1]:.3f}]"
        click.echo(f"{r.round:5d} | {r.n_pseudo_accepted:8d} | {r.metric:.4f}{ci_txt} | {r.timings_s['total_s']:.1f}")
    ens = res.summary.get("ensemble")
    if ens:
        click.echo(
            f"Ensemble: skipped ({ens['skipped']})."
            if "skipped" in ens
            else f"Ensemble of rounds {ens['members']}: held-out {metric} {ens['metric']:.4f} ({out_dir / 'ensemble'})."
        )
    click.echo(f"Best round {res.best_round}; stopped: {res.stopped}. Model written to {out_dir / 'model'}.")
    click.echo("Pseudolabels are training labels, not administered PHQ-9 scores; estimates are not a diagnosis.")


def _examples_dir() -> Path:
    """The bundled synthetic examples: ./examples in a checkout."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (base / "examples" / "transcripts.jsonl").exists():
            return base / "examples"
    from phqwatch.errors import InputError

    raise InputError("cannot find examples/transcripts.jsonl", fix="Run from the repository root or pass --examples.")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="phqwatch")


if __name__ == "__main__":  # pragma: no cover
    main()
