from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from phqwatch.errors import ConfigError
from phqwatch.safety.filters import FILTERS
from phqwatch.safety.normalise import normalise
from phqwatch.safety.rule_screen import RuleConfig, RuleScreen
from phqwatch.safety.rules import DEFAULT_RULES
from phqwatch.safety.types import Rule

_RULES = RuleScreen()
screen = _RULES.screen


def screen_many(texts):
    return [screen(t) for t in texts]


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "safety"


def _load(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _measure(rows: list[dict]) -> tuple[float, float, list[dict], list[dict]]:
    fn, fp, tp = [], [], 0
    for r in rows:
        hit = screen(r["text"]).hit
        if r["label"] == "positive":
            tp += hit
            if not hit:
                fn.append(r)
        elif hit:
            fp.append(r)
    positives = sum(r["label"] == "positive" for r in rows)
    recall = tp / positives
    precision = tp / (tp + len(fp)) if tp + len(fp) else 1.0
    return recall, precision, fn, fp


def test_fixture_set_is_large_and_balanced():
    rows = _load("phrasings.jsonl")
    labels = Counter(r["label"] for r in rows)
    assert len(rows) >= 200 and labels["positive"] >= 100 and labels["negative"] >= 80
    assert len({r["text"] for r in rows}) == len(rows)
    cats = {r["category"] for r in rows}
    for needed in ("negated", "reported speech", "lyrics/quotes", "past history", "idioms", "clinical/educational"):
        assert needed in cats


def test_recall_at_least_098_and_report_precision(capsys):
    rows = _load("phrasings.jsonl")
    recall, precision, fn, fp = _measure(rows)
    by_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        ok = screen(r["text"]).hit == (r["label"] == "positive")
        by_cat[f"{r['label'][:3]}:{r['category']}"][0] += ok
        by_cat[f"{r['label'][:3]}:{r['category']}"][1] += 1
    with capsys.disabled():
        print(f"\nsafety fixtures: n={len(rows)} recall={recall:.3f} precision={precision:.3f}")
        for k in sorted(by_cat):
            print(f"  {k:40s} {by_cat[k][0]}/{by_cat[k][1]}")
    assert recall >= 0.98, [r["text"] for r in fn]
    assert precision >= 0.80, [r["text"] for r in fp]


def test_held_out_set_reported(capsys):
    """A second set, written after the rules were tuned on phrasings.jsonl. Its first, blind measurement was
    recall 0.60 (18/30) and precision 0.95: the lexicon generalised poorly to new wordings. The rules were then
    widened generically (see git history), so it is no longer blind; the floor guards regressions."""
    rows = _load("heldout.jsonl")
    recall, precision, fn, fp = _measure(rows)
    with capsys.disabled():
        print(f"\nsafety held-out: n={len(rows)} recall={recall:.3f} precision={precision:.3f}")
    assert recall >= 0.85 and precision >= 0.75


@pytest.mark.parametrize(
    "text,severity",
    [
        ("I'm going to kill myself tonight", "urgent"),
        ("I don't want to be alive anymore", "high"),
        ("I used to self-harm years ago", "review"),
        ("I used to self-harm years ago and I started again this week", "urgent"),
        ("I can't do this anymore", "review"),
        ("walking to the bridge now, 10 mins away", "imminent"),
        ("everything is ready for 2am", "imminent"),
        ("i am on terrace of the hostel, i will jump now", "imminent"),
        ("i will jump now", "imminent"),
        ("I've had thoughts of not wanting to be here anymore.", "high"),
        ("i keep wishing i wont wake up", "high"),
        ("me dying would solve like 90% of my familys problems", "high"),
        ("theres a voice saying i should jump. not sure i can keep saying no to it", "urgent"),
        ("pulled over on the hard shoulder. thinking of walking into the lorries", "urgent"),
        ("buying paracetamol at different pharmacies, one pack each time so they dont ask", "urgent"),
        ("not climbing back over this time", "imminent"),
        ("感觉自己是个负担，连呼吸都是浪费", "high"),
        ("最近总是在网上搜'怎么样走得不痛苦'", "urgent"),
        ("took 12 ambien, feel floaty, its fine", "urgent"),
        ("Passive SI every day this week. Not acting on it but it's loud.", "high"),
        ("the daydreams about shooting up my school are getting less like daydreams", "urgent"),
        ("my teacher messages me at night and says it's our secret, he wants to meet me on saturday", "urgent"),
        ("早点解脱也好", "high"),
        ("打了一整支胰岛素，现在手在抖，出冷汗", "imminent"),
        ("Tired of waking up.", "high"),
        ("why do I keep surviving, seriously", "high"),
        ("can't see a future. when I try to picture next year there's nothing there", "high"),
        ("I have been struck by my son on two occasions this month when he was in drink.", "urgent"),
        ("I found bruises on my son again today, he's 12 and non-verbal", "urgent"),
        ("My brother keeps saying he's going to shoot up his college.", "urgent"),
        ("my flatmate has drunk bleach and is laughing about it. do i ring 999??", "imminent"),
        ("sometimes when my baby cries i feel like shaking him. today i almost did", "urgent"),
        ("'cat scratches' is my excuse lol. we don't even have a cat", "urgent"),
        ("上周吊过一次没成功 我还会再试", "urgent"),
        ("怎么处理伤口才不会被爸妈发现 这次割得有点深", "urgent"),
        ("坐飞机的时候会偷偷希望它掉下去", "high"),
        ("看到新闻里有人意外去世 居然有点羡慕", "high"),
        ("如果我没了 这个家会更和睦", "high"),
        ("I'm going to kill him if he touches my sister again. I mean it.", "urgent"),
        ("Ibuprofen. 40ish. Then I lay down.", "urgent"),
        ("i swallowed the batteries and the nail polish remover. is it supposed to hurt this much", "imminent"),
        ("how do i hide cuts from my PE teacher, we have swimming next week", "urgent"),
        ("sat in the car in the garage with the engine on", "imminent"),
        ("工作的事我晚点再说吧，反正我也不觉得自己能撑到年底了", "high"),
        ("walked down to the lake with rocks in my backpack", "imminent"),
        ("在水库边上，包里装了石头", "imminent"),
        ("挺好的，该交代的都交代了，东西也送得差不多了", "high"),
        ("if i don't answer for a while, just know i appreciated you", "high"),
        ("the heater is in the tent with me. zipped it all up", "imminent"),
        ("煤气开着 我躺着呢", "imminent"),
        ("car is idling in the closed garage, it's getting hard to think", "imminent"),
        ("就是死 结束这一切", "urgent"),
        ("我死咗佢哋仲开心啲", "high"),
        ("jumping at dawn. just want to watch one more sunrise", "imminent"),
        ("故意一周没好好吃饭了 饿着才觉得自己活该", "urgent"),
        ("left the car running in the closed garage, head is pounding", "imminent"),
        ("id rather be dead than go back there monday", "high"),
        ("part of me hoped the scan would show something terminal", "high"),
        ("what if i just stopped eating and let it happen", "high"),
        ("tell my brother i'm sorry and that he'll be fine", "high"),
        ("i'm on the bridge, walked out to the middle. nobody's looking", "imminent"),
        ("no. just haven't had the guts yet", "high"),
        ("没有吧，就是还没勇气", "high"),
        ("what's the most painless method of suicide? i'm so done", "review"),  # a mention: the model grades it
        ("i'm on the roof. waiting for the right moment", "imminent"),
        ("i drew it up in a syringe. it's sitting next to me", "imminent"),
        ("they've gone from wishing to planning. i've been reading about doses", "urgent"),
        ("Spent the evening reading the back of the weedkiller drum. Not for the weeds.", "urgent"),
        ("抑郁两年了，最近开始认真计划了。", "urgent"),
        ("took a bunch of my antidepressants", "imminent"),
        ("I hate that I'm still here.", "high"),
        ("最后一次发朋友圈了，感谢遇见的每一个人", "high"),
        ("我迟早会自杀的", "urgent"),
        ("I keep thinking I should just drive into oncoming traffic on the way to work", "urgent"),
    ],
)
def test_severity_levels(text, severity):
    r = screen(text)
    assert r.hit and r.severity == severity


@pytest.mark.parametrize(
    "text",
    [
        "walking to the bridge for photos with my friends",
        "everything is ready for the party tonight",
        "i'll jump on a call now",
        "im on edge today",
        "im on the terrace with friends",
    ],
)
def test_journeys_and_preparations_without_a_time_or_a_place_of_risk_are_not_imminent(text):
    assert screen(text).severity != "imminent"


@pytest.mark.parametrize(
    "text",
    [
        "we're not climbing back down the mountain again, camping at the hut",
        "went to three different pharmacies to find the kids' calpol",
        "my GPS voice says to turn left",
        "我搜了一下怎么走去地铁站最快",
        "took 12 photos at the beach",
        "the surprise party is our secret, don't tell mum",
        "my boss said the bonus is a secret until friday",
        "终于从考试中解脱出来了",
        "好累啊，上班上得想死",
        "tired of waking up early for the school run",
        "Tired of living in this damp flat, the mould is back",
        "I can't see a future with him tbh",
        "I got hit by the bus mirror lol",
        "my partner took an overdose two years ago, he's doing well now",
        "my mum took her pills this morning",
        "remembered to take all my pills today",
        "Did the worry time exercise. Wrote down all my worries and saved them for 6pm.",
        "I forgot to take all my tablets yesterday, is that ok?",
        "As a GP, how do you handle patients who disclose suicidal thoughts in the app?",
        "I'm a school counsellor - what resources would you recommend for teenagers with self-harm urges?",
        "我是学校心理老师，想给班主任做个培训，学生有自伤行为的话一般怎么处理比较好",
        "I'm a nursing student. What's the difference between passive and active suicidal ideation?",
        "what does 'sewerslide' mean? my 12 yo said it and I want to understand before I react",
        "unalive is such a weird word, why does everyone on tiktok say it",
        "我闺蜜说她不想活了 我该怎么跟她说",
        "我爸退休后一直很消沉 老说活着没意思 怎么劝他去看医生",
        "it's more like I'm just sad all the time, not that I want to die",
        "my mom is going to kill me when she sees this report card 😭",
        "im gonna kill my brother if he eats my leftovers again",
        "my baby cries all night and I feel like screaming into a pillow",
        "切菜的时候不小心手指割得有点深，要不要去缝针",
        "吃药减肥没成功",
        "i take ibuprofen 400 for my back",
        "i heard antidepressants can increase suicidal thoughts in young people. i'm 19 and just started",
        "another celebrity died of an overdose, it's so sad",
        "What's the lethality difference between overdose types? I'm a toxicology student preparing for boards.",
        "ok i'm gonna kms in this dark souls run, the ornstein fight is cursed",
        "i bought a rope for my aerial silks class, any beginner tips?",
        "nah im good. the 'i want to die' was a joke about my exam grade lol",
        "my therapist asked me to rate my suicidal thoughts and i said zero, which is true",
        "my pastor says suicide is a sin and i can't stop thinking about my cousin",
        "群里有个人天天说想紫砂 不知道是不是真的 要不要私聊问问",
        "我画的漫画里主角手上有自残的疤 想画得真实又不刻意 有什么建议吗",
        "我是班主任 班上有个学生作文里写想死 我该怎么跟他谈",
        "心理学专业学生 请问非自杀性自伤和自杀未遂在诊断上怎么区分",
        "尴尬到想死 在电梯里放了个屁还被同事听见了",
        "night shift in ICU, had a young guy on a ventilator after he drank antifreeze",
        "my friend asked how to hide a pimple before prom",
        "packed ankle weights in my bag for the gym",
        "书都送完了，搬家前清理一下",
        "if i don't reply it's because my phone died, just know i love you guys",
        "bbq in the car park then closed up the shop",
        "we zipped the tent shut and put the heater outside",
        "就是死磕也要把这个方案做完",
        "我故意不吃饭，减肥",
        "GP here. how do I ask a teenager about self-harm without them shutting down?",
        "As a GP, how should I phrase questions about self-harm with teenage patients?",
        "sitting in my car in the closed garage waiting for the rain to stop",
        "i hope the biopsy is not cancer, so scared",
        "how do i tell my sister i'm sorry for what i said?",
        "on the golden gate bridge right now taking pics of the fog",
        "没勇气表白，怎么办",
        "i keep killing myself with fall damage in fortnite",
        "kms if i have to sit through another zoom call (jk obviously, just sick of meetings)",
        "the kids are driving me crazy, i want to strangle them (not really obviously, they're just loud)",
        "what is the most common method of suicide in the US? i'm doing a public health presentation",
        "我在写关于青少年自伤的论文，有什么数据来源推荐吗？",
        "i'm a paramedic and had a rough shift, three overdoses. just need to decompress",
        "another overdose in our town, the fentanyl problem is getting worse",
        "what are evidence based interventions for self harm in adolescents? DBT?",
        "i'm on the roof fixing a leak, my wife is holding the ladder",
        "im at the bridge rn waiting for my friend to finish her run",
        "no. depressed yeah, suicidal no. i know the difference",
        "Why do overdose admissions spike around Christmas? Writing a piece for the local paper.",
        "不是真的不想活啦，就是被老板气的，随口说的",
        "overdosed on christmas chocolate again",
        "took the whole bottle of kombucha in one go and now I regret it",
        "最近开始认真准备考试了",
        "psych student here - what's the difference between passive and active suicidal ideation?",
        "i'm on the bridge now, traffic is insane, gonna be late for dinner",
        "i'd rather die than wear that outfit lol",
        "i won't be here on friday, flying to lisbon for my cousin's wedding. can we move our session?",
        "我没有想自杀哦，只是最近心情不太好",
        "我闺蜜跟我说她想自杀，我该怎么跟她说话？",
        "毕业论文写青少年非自杀性自伤，能推荐几篇文献吗",
        "同人文里角色有自残的情节，最后会好起来，这样写合适吗",
    ],
)
def test_look_alikes_of_the_newer_rules_fire_no_rule(text):
    assert not RuleScreen().screen(normalise(text)).hit


def test_matches_carry_span_excerpt_and_rule():
    text = "Work was fine. But honestly I want to kill myself and nobody knows."
    r = screen(text)
    assert r.hit
    m = r.matches[0]
    assert text[m.span[0] : m.span[1]].lower().startswith("kill")
    assert "kill myself" in m.excerpt and m.rule == "kill_myself" and m.category == "suicide"
    long = "word " * 100 + "I want to die" + " word" * 100
    ex = screen(long).matches[0].excerpt
    assert ex.startswith("…") and ex.endswith("…") and len(ex) < 200


def test_suppressions_are_recorded_with_reasons():
    cases = {
        "I'd never hurt myself": "negated",
        "my friend said she wants to die": "reported speech",
        'the chorus goes "I want to die"': "quoted",
        "I hurt myself at the gym": "idiom",
        "we had a lecture on suicide prevention": "educational",
    }
    for text, reason in cases.items():
        r = screen(text)
        assert not r.hit, text
        assert reason in {s.reason for s in r.suppressed}, (text, r.suppressed)


def test_a_symbol_ending_a_word_is_punctuation_not_leetspeak():
    assert normalise("no! it's a craft blade").text.startswith("no!")
    assert normalise("k!ll myself").text == "kill myself"
    assert normalise("i want to di3 now").text == "i want to die now"


def test_spans_index_the_original_text_after_normalisation():
    text = "i w4nt to k1ll mys3lf"
    r = screen(text)
    assert r.hit
    a, b = r.matches[0].span
    assert text[a:b] == "k1ll mys3lf"


def test_config_extra_and_disabled_rules_and_filters():
    extra = Rule("custom_phrase", "euphemism", "high", r"\bgo\s+see\s+the\s+stars\s+forever\b")
    s = RuleScreen(RuleConfig(extra_rules=(extra,)))
    assert s.screen("I want to go see the stars forever").hit
    assert not screen("I want to go see the stars forever").hit
    no_kms = RuleScreen(RuleConfig(disabled_rules=frozenset({"kms"})))
    assert not no_kms.screen("kms").hit and screen("kms").hit
    raw = RuleScreen(RuleConfig(disabled_filters=frozenset(FILTERS)))
    assert raw.screen("I'd never hurt myself").hit  # maximum recall mode
    with pytest.raises(ConfigError):
        RuleConfig(disabled_rules=frozenset({"no_such_rule"}))
    with pytest.raises(ConfigError):
        RuleConfig(disabled_filters=frozenset({"sarcasm"}))
    with pytest.raises(ConfigError, match="invalid regular expression"):
        RuleScreen(RuleConfig(extra_rules=(Rule("bad", "x", "high", "(unclosed"),)))
    assert len({r.name for r in DEFAULT_RULES}) == len(DEFAULT_RULES)


def test_gate_agrees_with_full_scan_and_empty_text():
    s = RuleScreen()
    for r in _load("phrasings.jsonl") + _load("heldout.jsonl"):
        assert s.screen(r["text"]) == s.screen(r["text"], gate=False), r["text"]
    assert not screen("").hit and screen("").severity == "none"
    assert [x.hit for x in screen_many(["I want to die", "nice weather"])] == [True, False]
