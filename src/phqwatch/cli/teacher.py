"""`phqwatch pseudolabel`: LLM-teacher ratings through an OpenAI-compatible endpoint."""

from __future__ import annotations

from pathlib import Path

import click

from phqwatch.cli.base import cli, friendly_errors, make_settings


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

    settings = make_settings(
        teacher_base_url=base_url, teacher_model=teacher_model, teacher_max_concurrency=concurrency
    )
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
