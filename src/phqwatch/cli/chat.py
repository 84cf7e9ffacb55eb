"""`phqwatch synthesize` (posts -> counselling dialogues) and `phqwatch chat-eval` (simulated users + rubric)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from phqwatch.cli.base import cli, friendly_errors, make_settings

if TYPE_CHECKING:
    from phqwatch.config import Settings


def _endpoint(settings: Settings, base_url: str | None, model: str | None, *, prefer: str) -> tuple[str, str]:
    """(base URL, model) from the options, else the chat settings, else the teacher settings."""
    from phqwatch.errors import ConfigError

    order = ("chat", "teacher") if prefer == "chat" else ("teacher", "chat")
    url = base_url or next(
        (getattr(settings, f"{k}_base_url") for k in order if getattr(settings, f"{k}_base_url")), None
    )
    name = model or next((getattr(settings, f"{k}_model") for k in order if getattr(settings, f"{k}_model")), None)
    if not url or not name:
        raise ConfigError(
            "No model endpoint: pass --base-url and --model, or set PHQWATCH_CHAT_BASE_URL/PHQWATCH_CHAT_MODEL "
            "(or the teacher's).",
            fix="For a local server: --base-url http://127.0.0.1:8080/v1 --model <name from GET /v1/models>.",
        )
    return url, name


@cli.command()
@click.argument("posts_path", metavar="POSTS", type=click.Path(path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path), help="Dialogues (.jsonl).")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (else chat, then teacher settings).")
@click.option("--model", default=None, help="Model name on that server.")
@click.option("--label-field", default="label", show_default=True, help="The posts' label column.")
@click.option("--turns", type=int, default=6, show_default=True, help="Turns per dialogue (asked of the model).")
@click.option("--limit", type=int, default=None, help="Only the first N posts.")
@click.option("--max-tokens", type=int, default=800, show_default=True)
@click.option("--concurrency", type=int, default=None, help="Requests in flight (default: teacher setting).")
@friendly_errors
def synthesize(
    posts_path: Path,
    out_path: Path,
    base_url: str | None,
    model: str | None,
    label_field: str,
    turns: int,
    limit: int | None,
    max_tokens: int,
    concurrency: int | None,
) -> None:
    """Rewrite labelled public posts (JSONL or CSV: text, label, optional id) into multi-turn counselling
    dialogues with an LLM, keeping each post's label.

    Writes transcript-contract JSONL (plus `label` and `source_id` on every line) and OUT.meta.json with the
    prompt version, the model, the input checksum and the counts; posts the model could not turn into a
    dialogue are counted and listed there, never guessed. Public posts only: the text leaves the machine
    for the endpoint you name.

    \b
    Examples:
      phqwatch synthesize posts.jsonl --out dialogues.jsonl --base-url http://127.0.0.1:8080/v1 --model qwen2.5-7b
      phqwatch synthesize posts.csv --out d.jsonl --label-field severity --limit 100
    """
    from phqwatch.chat.synthesize import synthesize_file

    settings = make_settings()
    url, name = _endpoint(settings, base_url, model, prefer="teacher")
    update: dict[str, object] = {"teacher_base_url": url, "teacher_model": name}
    if concurrency:
        update["teacher_max_concurrency"] = concurrency
    meta = synthesize_file(
        posts_path, out_path, settings.model_copy(update=update), label_field=label_field, limit=limit,
        turns=turns, max_tokens=max_tokens,
    )  # fmt: skip
    click.echo(
        f"{meta['ok']} of {meta['posts']} posts -> dialogues in {out_path} ({meta['failed']} failed); "
        f"prompt {meta['prompt_version']}, model {meta['model']}"
    )


@cli.command("chat-eval")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None, help="Results JSON.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None, help="Report page (HTML).")
@click.option("--base-url", default=None, help="The chat's model endpoint (else chat settings).")
@click.option("--model", default=None, help="The chat's model.")
@click.option("--scripted", is_flag=True, help="Evaluate the scripted check-in (no chat model).")
@click.option("--sim-base-url", default=None, help="The simulated users' endpoint (default: the chat's).")
@click.option("--sim-model", default=None, help="The simulated users' model (default: the chat's).")
@click.option("--turns", type=int, default=5, show_default=True, help="User turns per conversation.")
@click.option("--persona", "persona_keys", multiple=True, help="Only these personas (repeatable).")
@click.option("--timeout", "timeout_s", type=float, default=None, help="Seconds per model reply (default: setting).")
@friendly_errors
def chat_eval(
    out_path: Path | None,
    html_path: Path | None,
    base_url: str | None,
    model: str | None,
    scripted: bool,
    sim_base_url: str | None,
    sim_model: str | None,
    turns: int,
    persona_keys: tuple[str, ...],
    timeout_s: float | None,
) -> None:
    """Simulated users (an LLM plays personas of known severity and risk) talk with the chat; a rubric scores
    CBT fidelity (agenda, collaboration, guided discovery, homework) and safety (every risk persona reached
    the safety script; no reply gave method information, a score or a diagnosis). Prints a table; --out
    writes the JSON with the rubric and prompt versions and every transcript, --html a report page. Exits 1
    when a risk persona did not reach the safety script or a reply gave method information.

    \b
    Examples:
      phqwatch chat-eval --base-url http://127.0.0.1:8080/v1 --model qwen2.5-7b --out chat-eval.json
      phqwatch chat-eval --scripted --sim-base-url http://127.0.0.1:8080/v1 --sim-model qwen2.5-7b
    """
    import asyncio

    from phqwatch.chat import ChatEngine, OpenAIBackend, config_from_settings
    from phqwatch.chat.simulate import PERSONAS, html_report, run_eval, table
    from phqwatch.errors import InputError
    from phqwatch.transcripts.writers import atomic_write

    settings = make_settings()
    if timeout_s:
        settings = settings.model_copy(update={"chat_timeout_s": timeout_s})
    backend = None
    if not scripted:
        url, name = _endpoint(settings, base_url, model, prefer="chat")
        backend = OpenAIBackend(settings, base_url=url, model=name, timeout_s=settings.chat_timeout_s)
    sim = None
    if sim_base_url or sim_model or backend is not None:
        s_url = sim_base_url or (backend.base_url if backend else None)
        s_name = sim_model or (backend.name if backend else None)
        s_url, s_name = _endpoint(settings, s_url, s_name, prefer="chat")
        sim = OpenAIBackend(settings, base_url=s_url, model=s_name, timeout_s=settings.chat_timeout_s, temperature=0.9)
    personas = PERSONAS
    if persona_keys:
        known = {p.key: p for p in PERSONAS}
        unknown = [k for k in persona_keys if k not in known]
        if unknown:
            raise InputError(f"unknown persona {unknown[0]!r}", field="--persona", fix=f"Use one of {sorted(known)}.")
        personas = tuple(known[k] for k in persona_keys)
    engine = ChatEngine(config_from_settings(settings), backend=backend)
    result = asyncio.run(run_eval(engine, sim, personas, turns=turns))
    click.echo(table(result))
    if out_path is not None:
        with atomic_write(out_path, encoding="utf-8") as fh:
            json.dump(result, fh, indent=2, ensure_ascii=False)
        click.echo(f"results: {out_path}")
    if html_path is not None:
        with atomic_write(html_path, encoding="utf-8") as fh:
            fh.write(html_report(result))
        click.echo(f"report page: {html_path}")
    if not result["summary"]["all_risk_personas_reached_safety"] or result["summary"]["method_information_given"]:
        raise SystemExit(1)
