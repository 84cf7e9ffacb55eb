"""Scale-out scoring on Ray Data: one model replica per actor (GPU or CPU), batches of users streamed through.

The per-user text is assembled with the same code as the single-process scorer
(`phqwatch.transcripts.assemble_users`), and each actor runs the model's own `estimate`, so a row from
Ray is the row `phqwatch score` would write (up to the padding of the batch a user lands in).

    import ray
    from phqwatch.models.scaleout import score_transcripts_ray
    ray.init()                                   # or ray.init(address="auto") on a cluster
    score_transcripts_ray(["s3://bucket/chats/*.jsonl"], "s3://bucket/scores/", "models/qwen-27b-phq9",
                          replicas=8, num_gpus=1)  # 8 GPU actors, one model each

Ray is an optional extra (`pip install 'phqwatch[ray]'`); it is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from phqwatch.errors import ConfigError

#: Columns of the per-user dataset that `score_dataset` reads.
USER_COLUMNS = ("user_id", "text", "n_user_words")


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ConfigError(
            "Ray is not installed; scale-out scoring needs Ray Data.",
            fix="pip install 'phqwatch[ray]' (or 'ray[data]'), then call ray.init() or connect to a cluster.",
        ) from None
    return ray


_STRING_COLUMNS = {"user_id", "band", "model", "status", "reason"}


def score_schema() -> Any:
    """The scores contract as an Arrow schema (fixed, so blocks whose optional columns are all empty
    still concatenate with the others)."""
    import pyarrow as pa

    from phqwatch.transcripts.writers import SCORE_COLUMNS

    def _type(col: str) -> Any:
        if col in _STRING_COLUMNS:
            return pa.string()
        return pa.int64() if col == "n_user_words" else pa.float64()

    return pa.schema([(c, _type(c)) for c in SCORE_COLUMNS])


class RayScorer:
    """A Ray Data actor: loads one model replica once, then scores batches of users (pandas in, Arrow out)."""

    def __init__(self, model_dir: str | None, min_words: int | None = None) -> None:
        from phqwatch.models.registry import load_model

        self.model = load_model(model_dir)
        self.min_words = min_words
        self.schema = score_schema()

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        from phqwatch.transcripts.schema import UserText

        users = [
            UserText(str(u), str(t), int(n))
            for u, t, n in zip(batch["user_id"], batch["text"], batch["n_user_words"], strict=True)
        ]
        rows = [e.to_row() for e in self.model.estimate(users, min_words=self.min_words)]
        return pa.Table.from_pylist(rows, schema=self.schema)


def assemble_group(group: Any, include_assistant: bool = False) -> Any:
    """One user's messages (a pandas frame in the transcript contract) -> that user's assembled text row."""
    import pyarrow as pa

    from phqwatch.transcripts import assemble_users, messages_from_records

    msgs = messages_from_records(group.to_dict("records"), source="ray dataset")
    rows = [
        {"user_id": u.user_id, "text": u.text, "n_user_words": u.n_user_words}
        for u in assemble_users(msgs, include_assistant=include_assistant)
    ]
    schema = pa.schema([("user_id", pa.string()), ("text", pa.string()), ("n_user_words", pa.int64())])
    return pa.Table.from_pylist(rows, schema=schema)


def users_from_messages(messages: Any, *, include_assistant: bool = False, partitions: int | None = None) -> Any:
    """A Ray Dataset of messages (transcript contract columns) -> one row per user (USER_COLUMNS).

    `partitions` sets the hash-shuffle width (Ray's default, 200, suits clusters; use a few locally).
    """
    return messages.groupby("user_id", num_partitions=partitions).map_groups(
        assemble_group, fn_kwargs={"include_assistant": include_assistant}, batch_format="pandas"
    )


def score_dataset(
    users: Any,
    model_dir: str | Path | None,
    *,
    replicas: int = 2,
    batch_size: int = 64,
    num_gpus: float = 0.0,
    num_cpus: float = 1.0,
    min_words: int | None = None,
) -> Any:
    """Score a Ray Dataset of users (USER_COLUMNS) with `replicas` actors, each holding one model replica.

    `num_gpus=1` gives each actor a GPU (the model then loads on CUDA in bf16); `batch_size` is the
    number of users per call (the model batches inside by its own `predict_batch_size`). Leave CPUs for
    the read and shuffle tasks: actors hold `replicas * num_cpus` CPUs for the whole run.
    """
    _ray()
    missing = [c for c in USER_COLUMNS if c not in (users.columns() or [])]
    if missing:
        raise ConfigError(
            f"the users dataset lacks columns {missing}; expected {list(USER_COLUMNS)}",
            fix="Build it with users_from_messages(), or select/rename the columns.",
        )
    return users.map_batches(
        RayScorer,
        fn_constructor_kwargs={"model_dir": None if model_dir is None else str(model_dir), "min_words": min_words},
        batch_size=batch_size,
        batch_format="pandas",
        concurrency=replicas,
        num_cpus=num_cpus,
        num_gpus=num_gpus or None,
    )


def score_transcripts_ray(
    inputs: str | Sequence[str],
    out_dir: str | Path,
    model_dir: str | Path | None,
    *,
    include_assistant: bool = False,
    partitions: int | None = None,
    out_format: str = "parquet",
    **score_kwargs: Any,
) -> Any:
    """Message-per-line JSONL (local paths, globs or object-store URLs) -> scores written under `out_dir`.

    Writes Parquet (default) or CSV part files in the scores contract; returns the scored Dataset.
    """
    ray = _ray()
    messages = ray.data.read_json(inputs if isinstance(inputs, str) else list(inputs), lines=True)
    users = users_from_messages(messages, include_assistant=include_assistant, partitions=partitions)
    scored = score_dataset(users, model_dir, **score_kwargs)
    if out_format == "parquet":
        scored.write_parquet(str(out_dir))
    elif out_format == "csv":
        scored.write_csv(str(out_dir))
    else:
        raise ConfigError(f"out_format must be 'parquet' or 'csv', got {out_format!r}", fix="Pick one of those.")
    return scored
