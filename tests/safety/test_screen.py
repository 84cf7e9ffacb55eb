"""The crisis screen v2: normalisation, negation scope, context, graded output, both detectors."""

from __future__ import annotations

import pytest

from phqwatch.safety import CrisisScreen, ScreenConfig, Turn, crisis_resources, default_screen, screen
from phqwatch.safety.context import reply_words
from phqwatch.safety.normalise import normalise
from phqwatch.safety.rule_screen import RuleScreen

RULES = RuleScreen()


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("I want to k*ll myself", "i want to kill myself"),
        ("s-u-i-c-i-d-e", "suicide"),
        ("k i l l myself", "kill myself"),
        ("I wanna diiiiie", "i wanna die"),
        ("su1c1de", "suicide"),
        ("Ｉ　ｗａｎｔ ｔｏ ｄｉｅ", "i want to die"),
        ("我想自/杀", "我想自杀"),
        ("d!e", "die"),
        ("24/7 tired, 3.5 hrs of sleep", "24/7 tired, 3.5 hrs of sleep"),
    ],
)
def test_normalise_undoes_obfuscation(raw: str, plain: str) -> None:
    assert normalise(raw).text == plain


def test_normalised_spans_map_back_to_what_was_written() -> None:
    text = "honestly I w@nt to k*ll myself tonight"
    r = RULES.screen(text)
    assert r.hit
    a, b = r.matches[0].span
    assert "k*ll" in text[a:b]
    assert "k*ll" in r.matches[0].excerpt  # the excerpt quotes the person, not the normalised text


def test_negation_scope_ends_at_a_new_clause_not_at_punctuation() -> None:
    assert RULES.screen("I cannot sleep I want to kill myself").severity == "urgent"
    assert RULES.screen("i dont know what to do i want to die").severity == "urgent"
    assert not RULES.screen("I would never kill myself").hit


def test_censored_and_spaced_spellings_reach_the_rules() -> None:
    for text in ("I want to k*ll myself", "thinking about s-u-i-c-i-d-e every night", "i want to d!e"):
        assert RULES.screen(text).hit, text


def test_reply_is_judged_with_the_question_it_answers() -> None:
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    asked = [Turn("assistant", "Are you having thoughts of hurting yourself?")]
    harmless = [Turn("assistant", "Did you manage the walk you planned?")]
    r = rules_only.screen("yeah every night", asked)
    assert r.flag and r.severity == "urgent" and "self-harm" in r.categories and "context_self_harm" in r.rules
    assert not rules_only.screen("yeah every night", harmless).hit
    assert not rules_only.screen("no, never", asked).hit
    timed = rules_only.screen("tonight", [Turn("assistant", "Have you thought about ending your life?")])
    assert timed.severity == "imminent"


def test_an_everyday_question_does_not_colour_a_short_everyday_answer() -> None:
    from phqwatch.safety.features import FeatureSpec, Featuriser

    feats = Featuriser(FeatureSpec())
    everyday = [Turn("assistant", "Hi, good to hear from you. What would you like to talk about today?")]
    risk = [Turn("assistant", "Have you had thoughts of ending your life?")]
    assert feats.word_tokens("my job", everyday) == [*feats.word_tokens("my job"), "q:OTHER"]  # no question words
    assert "q:RISK" in feats.word_tokens("yes", risk) and "x:yes" in feats.word_tokens("yes", risk)
    full = screen  # the shipped screen, learned model included
    for answer in ("my job", "the kids", "money stuff", "work I guess", "not much"):
        assert not full(answer, everyday).flag, answer
    for answer in ("kms", "want to die", "took them all"):  # the rules still read a short answer
        assert full(answer, everyday).flag, answer
    assert full("yes", risk).pages


def test_only_a_pure_denial_voids_the_model_but_a_denial_that_goes_on_does_not() -> None:
    risk = [Turn("assistant", "Have you had thoughts of ending your life?")]
    denials = ("no, never", "no I'm safe", "nope", "no not really", "nope never have", "no nothing like that")
    for answer in denials:
        assert not screen(answer, risk).flag, answer
    for answer in (
        "no. i took the pills",
        "no i already took them",
        "no im on the bridge",
        "no i have a rope",
    ):
        assert screen(answer, risk).pages, answer


def test_a_safety_check_is_answered_the_other_way_round() -> None:
    """A "yes" to "are you safe right now?" is no risk at all (it used to page as means at hand); a "no" is."""
    for question in ("Are you safe right now?", "Are you somewhere safe?", "你现在安全吗？"):
        asked = [Turn("assistant", question)]
        for answer in ("yes", "yeah im ok", "yes I'm safe, at home", "嗯", "安全", "不用担心，我很安全"):
            assert not screen(answer, asked).hit, (question, answer)
        assert not CrisisScreen(ScreenConfig(use_model=False)).screen("no worries, i'm safe", asked).hit
        for answer in ("no", "not really", "im not", "不安全"):
            r = screen(answer, asked)
            assert r.severity == "imminent" and "context_unsafe" in r.rules, (question, answer)
    assert screen("yes but i have the pills here", [Turn("assistant", "Are you safe right now?")]).pages


def test_chinese_risk_questions_read_their_answers() -> None:
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    took = [Turn("user", "我刚才做了件傻事"), Turn("assistant", "我在这里。你有没有吃什么东西？")]
    assert rules_only.screen("都吃了", took).severity == "imminent"
    asked = [Turn("assistant", "你会不会有'不如死了算了'的念头？")]
    assert rules_only.screen("偶尔会，但是不会去做", asked).flag
    assert not rules_only.screen("没有", asked).hit
    act = [Turn("user", "脑子里全是死"), Turn("assistant", "你觉得自己会按这些想法去做吗？")]
    assert rules_only.screen("会吧，迟早的事", act).pages
    assert not rules_only.screen("不会，我还有孩子", act).hit
    wounds = [Turn("user", "袖子一直不敢撸起来"), Turn("assistant", "你现在手臂上的伤是最近的吗？")]
    assert rules_only.screen("嗯，昨天和今天的", wounds).pages
    english = [Turn("assistant", "Do you think you might act on these thoughts?")]
    assert rules_only.screen("yeah probably", english).pages
    # a countdown in reply to a risk question is a time set
    station = [
        Turn("user", "i'm not going home tonight. or ever"),
        Turn("assistant", "I'm worried about you. Are you thinking about hurting yourself at the station?"),
    ]
    assert rules_only.screen("the train is coming in 4 minutes. i can see the board", station).severity == "imminent"
    assert not rules_only.screen("no, my bus home comes in 5 minutes", station).flag
    rifle = [
        Turn("user", "i keep thinking about my grandpa's rifle"),
        Turn("assistant", "That sounds scary. Are you thinking about using it on yourself?"),
    ]
    assert rules_only.screen("yeah", rifle).pages
    assert not rules_only.screen("no, i just miss him", rifle).hit
    safe = [Turn("user", "sorry for the long rant"), Turn("assistant", "Never apologize for that. Are you safe?")]
    assert not rules_only.screen("i'm not going to do anything stupid, i promise. just needed to vent", safe).hit
    assert rules_only.screen("i'm not sure. i'm not going to do anything yet", safe).hit


def test_a_follow_up_of_a_risk_question_answered_yes_carries_the_risk_on() -> None:
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    chain = [
        Turn("assistant", "I want to ask you directly. Are you thinking of killing yourself?"),
        Turn("user", "yes"),
        Turn("assistant", "Thank you for telling me. Are you thinking of doing it tonight?"),
    ]
    assert rules_only.screen("yes", chain).severity == "imminent"
    assert not rules_only.screen("no", chain).hit
    unrelated = [*chain[:2], Turn("assistant", "Would you like to try a breathing exercise with me?")]
    assert not rules_only.screen("yes", unrelated).hit
    took = [
        Turn("user", "took a bunch of my antidepressants"),
        Turn("assistant", "When did you take them?"),
    ]
    assert rules_only.screen("about an hour ago. chest feels weird", took).severity == "imminent"


def test_risk_questions_about_head_banging_waking_up_and_being_better_off() -> None:
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    head = [Turn("assistant", "When you say you hit your head against the wall, is that something you're doing now?")]
    assert rules_only.screen("yes, today. three times", head).pages
    wake = [Turn("assistant", "Is it the kind of tired where you'd rather not wake up?")]
    assert rules_only.screen("...yeah. that kind", wake).flag
    burden = [Turn("assistant", "Do you feel like people would be better off without you?")]
    assert rules_only.screen("yes. 100%", burden).flag


def test_a_no_with_a_harmless_explanation_takes_an_alarming_first_message_back() -> None:
    full = CrisisScreen()
    blade = [
        Turn("user", "the blade is in my hand"),
        Turn("assistant", "I'm concerned about you. Are you thinking of hurting yourself?"),
    ]
    assert not full.screen("no! it's a craft blade, i'm doing linocut printing", blade).flag
    assert full.screen("no. i already did it", blade).pages
    bridge = [Turn("user", "i'm at the bridge"), Turn("assistant", "Are you safe? What's going on?")]
    assert (
        "context_disclosure" not in full.screen("the bridge club! lol. we're playing duplicate tonight", bridge).rules
    )
    dose = [Turn("user", "我已经吃了"), Turn("assistant", "吃了什么？你还好吗？")]
    assert "context_means" not in full.screen("吃了感冒药啊，按说明书吃的两粒", dose).rules


def test_a_follow_up_question_is_read_with_the_disclosure_before_it() -> None:
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    disclosed = [
        Turn("user", "i keep wishing i wont wake up"),
        Turn("assistant", "That sounds really painful. How often do those thoughts come?"),
    ]
    r = rules_only.screen("most days now", disclosed)
    assert r.flag and "context_disclosure" in r.rules
    everyday = [Turn("user", "i had a nice walk"), Turn("assistant", "How often do you go?")]
    assert not rules_only.screen("most days now", everyday).hit
    assert not rules_only.screen("not really", disclosed).hit


def test_a_short_reply_carries_on_the_risk_disclosed_before_the_question() -> None:
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    took = [
        Turn("user", "took a bunch of tylenol about an hour ago"),
        Turn("assistant", "That's serious. Are you able to call emergency services right now?"),
    ]
    r = rules_only.screen("not really", took)
    assert r.pages and "context_episode" in r.rules
    assert rules_only.screen(
        "why are you asking me that",
        [Turn("user", "the noose is tied"), Turn("assistant", "Is anyone there with you?")],
    ).flag
    # the model's confident reading of the disclosure counts too ("gun's loaded" names no rule)
    gun = [Turn("user", "gun's loaded"), Turn("assistant", "Are you planning to use it tonight?")]
    assert screen("pretty much yes. just taking one more look at my kids' photos first", gun).pages
    # a reply that takes the disclosure back, or answers "what do you mean?", does not carry it on
    assert not rules_only.screen("lol no, it's a line from a song", took).hit
    asked = [Turn("user", "i'm ready to end things"), Turn("assistant", "When you say end things, what do you mean?")]
    sunday = [
        Turn("user", "i'm going to end it all on sunday"),
        Turn("assistant", "What are you planning for Sunday? I want to make sure you're okay."),
    ]
    assert not rules_only.screen("my son's birthday party", sunday).flag  # the question is not the last sentence
    assert not rules_only.screen("the relationship. it's not working", asked).hit
    # "when?" asks for the time of the plan, not what the person meant
    planned = [Turn("user", "我都计划好了"), Turn("assistant", "你说你已经计划好了，是打算什么时候？")]
    assert screen("这周日，爸妈去外婆家", planned).pages  # the model reads "我都计划好了" as urgent
    # a reply that says it was a typo or said in anger takes it back
    dye = [Turn("user", "i need to die"), Turn("assistant", "I'm here. Can you tell me more?")]
    assert not rules_only.screen("DYE. i need to dye my hair before the wedding. autocorrect", dye).flag
    angry = [Turn("user", "我想弄死他"), Turn("assistant", "你是说想真的伤害某人吗？")]
    assert not rules_only.screen("没有啦，说我室友，又吃我外卖，气话", angry).flag
    pills = [Turn("user", "我现在有一堆药"), Turn("assistant", "是什么药呢？")]
    assert not rules_only.screen("维生素和钙片，医生让我补的", pills).hit
    everyday = [Turn("user", "had a long day"), Turn("assistant", "Are you able to rest tonight?")]
    assert not rules_only.screen("not really", everyday).hit


def test_safe_at_home_is_a_safety_check_and_a_chinese_no_is_a_denial() -> None:
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    home = [Turn("assistant", "Are you safe at home?")]
    assert not rules_only.screen("yes", home).hit  # used to be read as "yes, someone is hurting me"
    assert rules_only.screen("no", home).categories == ("harmed-by-others",)
    assert not rules_only.screen("no we're fine now. it was just one argument and we talked it out", home).hit
    hurt = [Turn("assistant", "你现在有伤害自己的想法吗？")]
    assert not screen("没有", hurt).flag and not screen("不会的，我还想看我女儿长大呢，就是最近太累了", hurt).flag
    assert rules_only.screen(
        "有时候会，不过不会真的去做", [Turn("assistant", "你有没有想过，如果死了会不会更好？")]
    ).flag
    dizzy = [Turn("user", "我头好晕"), Turn("assistant", "我在这里陪着你。你有吃什么东西吗？")]
    assert rules_only.screen("吃了，全部，大概一个小时前", dizzy).pages
    assert not rules_only.screen("吃了一点 喝了碗粥", [Turn("assistant", "今天有吃东西吗？")]).hit


def test_a_reply_that_will_not_promise_the_safety_plan_is_a_risk_answer() -> None:
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    plan = [Turn("assistant", "今晚如果冲动变强，你能答应我先打心理援助热线或者找一个信任的人吗？")]
    assert rules_only.screen("不能保证", plan).pages
    promise = [Turn("assistant", "Can you promise me you'll call the crisis line if it gets worse tonight?")]
    assert rules_only.screen("idk. no promises", promise).pages
    assert not rules_only.screen("yes, i promise", promise).hit
    assert not rules_only.screen("no worries, i'm safe", promise).hit
    homework = [Turn("assistant", "Could you commit to a ten minute walk tomorrow?")]
    assert not rules_only.screen("idk, not sure", homework).hit


def test_fragments_are_read_together() -> None:
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    ctx = [Turn("user", "honestly i just want to")]
    assert rules_only.screen("die", ctx).flag
    assert not rules_only.screen("die", ()).flag
    # a short question in between ("better off how?") asks the person to finish the thought
    asked = [Turn("user", "my kids would be better off"), Turn("assistant", "Better off how?")]
    assert rules_only.screen("without me. with their dad and his new wife", asked).flag
    assert not rules_only.screen("with a bigger garden. we're moving in june", asked).hit
    long_question = [
        Turn("user", "my kids would be better off"),
        Turn("assistant", "That sounds like a lot to carry. Would you like to tell me what happened today?"),
    ]
    assert not rules_only.screen("without me around this weekend, they're at their dad's", long_question).flag


def test_a_chinese_reply_is_short_by_its_characters_not_its_spaces() -> None:
    everyday = [Turn("assistant", "这周过得怎么样？")]
    long_reply = "我觉得活着真的没什么意思，每天都在硬撑，也不知道还要撑多久"
    assert reply_words("我妈，她挺懂我的") <= 3 < reply_words(long_reply)
    # so an unsure model's reading of a long Chinese reply is not capped at "review"
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    assert not rules_only._short_everyday_answer(normalise(long_reply).text, everyday)
    assert rules_only._short_everyday_answer(normalise("我妈，她挺懂我的").text, everyday)


def test_graded_output_fields() -> None:
    r = screen("I already took everything in the medicine cabinet")
    assert r.severity == "imminent" and r.flag and r.pages
    assert r.categories == ("suicide",) or "suicide" in r.categories
    assert r.score is not None and 0.0 <= r.score <= 1.0
    assert "took_everything" in r.rules and r.excerpt
    calm = screen("we went for a walk and had pizza")
    assert calm.severity == "none" and not calm.flag and not calm.hit and calm.rules == ()


def test_learned_model_catches_what_no_rule_names() -> None:
    full, rules_only = CrisisScreen(), CrisisScreen(ScreenConfig(use_model=False))
    text = "i've been saving my sleeping pills for weeks and there's enough now"
    assert not rules_only.screen(text).flag
    r = full.screen(text)
    assert r.flag and "model" in r.detectors


def test_either_detector_opens_the_path() -> None:
    # A rule hit is a flag even when the model scores low: thresholds above 1 switch the model's vote off.
    no_model_vote = CrisisScreen(ScreenConfig(flag_threshold=1.01, review_threshold=1.01))
    assert no_model_vote.screen("I want to kill myself").severity == "urgent"
    assert not no_model_vote.screen("i've been saving my sleeping pills for weeks and there's enough now").flag


def test_empty_and_whitespace_messages() -> None:
    assert screen("").severity == "none" and screen("   \n").severity == "none"


def test_crisis_resources_per_locale() -> None:
    assert "988" in crisis_resources("en-US")
    assert "116 123" in crisis_resources("en-GB")
    assert "400-161-9995" in crisis_resources("zh-CN")
    assert "988" not in crisis_resources("fr-FR") and crisis_resources("fr-FR")  # language fallback -> English
    assert crisis_resources("en-US", override="Call the clinic.") == "Call the clinic."


def test_an_unsure_model_alone_opens_the_path_without_paging() -> None:
    text = "i've been saving my sleeping pills for weeks and there's enough now"
    never_pages = CrisisScreen(ScreenConfig(page_score=1.01)).screen(text)
    assert never_pages.flag and never_pages.severity == "high" and not never_pages.pages
    # a rule hit still pages whatever the model's score
    assert CrisisScreen(ScreenConfig(page_score=1.01)).screen("I'm going to kill myself tonight").pages


def test_a_professional_asking_about_patients_is_not_at_risk_but_their_own_disclosure_is() -> None:
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    # a student of another field, or one who does not say which, may be asking about themselves
    assert rules_only.screen("i'm a student. is it normal to think about suicide every day?").flag
    assert rules_only.screen("我是计算机专业学生 最近总想自杀怎么办？").flag
    assert rules_only.screen("我的论文写不完，我想死").flag
    assert not rules_only.screen("psych student here - is passive suicidal ideation different from active?").hit
    assert not rules_only.screen("As a GP, how do you handle patients who disclose suicidal thoughts?").hit
    mixed = "as a nurse i see people who want to die every day, and lately i want to die too"
    assert rules_only.screen(mixed).flag
    assert rules_only.screen("I'm a teacher and I've been self harming again").flag
    # "how should i ask" is the professional's job, "how do i stop" is their own risk
    assert not rules_only.screen("GP here. how do I ask a teenager about self-harm?").hit
    assert rules_only.screen("I'm a nurse. how do i stop self-harming").flag


def test_a_rating_of_urges_out_of_ten_is_read_as_a_number() -> None:
    asked = [Turn("assistant", "On a scale of 0-10, how strong are any urges to hurt yourself right now?")]
    assert not screen("0. genuinely. today's been nice", asked).hit  # the model used to page this
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    assert rules_only.screen("8", asked).severity == "urgent"
    assert rules_only.screen("9 tbh", asked).flag
    assert screen("2 but i took the pills already", asked).pages  # a reply that goes on is not a bare rating
    wish = [Turn("assistant", "On a scale of 0-10, how much do you wish you weren't alive right now?")]
    assert rules_only.screen("4", wish).flag and not rules_only.screen("1", wish).hit
    # the wish to live is rated the other way round: a low number is the risk answer
    live = [Turn("assistant", "How strong is your wish to be alive right now, from 0 (none) to 10 (very strong)?")]
    assert rules_only.screen("2", live).flag and not rules_only.screen("9", live).hit
    assert rules_only.screen("1吧", [Turn("assistant", "用0到10分来说，你现在有多想活下去？")]).flag
    tonight = [Turn("assistant", "如果用0到10分来打分，你今晚会付诸行动的可能性有多大？")]
    assert rules_only.screen("10", tonight).severity == "imminent"


def test_a_bridge_or_roof_in_answer_to_where_are_you_is_imminent() -> None:
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    where = [Turn("user", "好累"), Turn("assistant", "我在这里陪着你。你现在在哪里？身边有人吗？")]
    r = rules_only.screen("一个人，在卢浦大桥上", where)
    assert r.severity == "imminent" and "context_place" in r.rules
    assert rules_only.screen("on the bridge by the station", [Turn("assistant", "Where are you right now?")]).pages
    assert not rules_only.screen("天台上的咖啡馆，和朋友一起", where).hit
    assert not rules_only.screen("at home on the sofa", [Turn("assistant", "Where are you right now?")]).hit
    assert not rules_only.screen("on the balcony having a smoke", [Turn("assistant", "Where are you now?")]).hit
    assert not rules_only.screen("on the bridge by the station", [Turn("assistant", "How was your day?")]).hit


def test_a_bare_reply_to_an_everyday_turn_carries_no_risk_of_its_own() -> None:
    """The model used to page these (0.4-0.9) from the reply's shape alone."""
    for question, answer in (
        ("Shall we look at the worry tree together?", "not tonight"),
        ("I'll check in with you tomorrow morning then.", "k"),
        ("Would you like a reminder the day before your appointment?", "yes pls"),
        ("Would it help to break the task into smaller steps?", "maybe yeah"),
        ("Do you think you'll be able to get some sleep tonight?", "yeah i think so"),
    ):
        assert not screen(answer, [Turn("assistant", question)]).hit, answer
    assert screen("tonight", [Turn("assistant", "Have you decided when?")]).flag
    rules_only = CrisisScreen(ScreenConfig(use_model=False))
    everyday_plan = [Turn("assistant", "When are you planning to call your mum to tell her?")]
    assert not rules_only.screen("tonight, after dinner", everyday_plan).hit
    assert rules_only.screen("tonight, after dinner", [Turn("assistant", "When are you planning to do it?")]).pages
    assert rules_only.screen("我不想活了").flag and rules_only.screen("她说我不想活了就别烦她").flag


def test_an_unsure_model_flag_is_not_a_crisis_alert_a_rule_or_confident_score_is() -> None:
    unsure = CrisisScreen(ScreenConfig(alert_score=0.999))
    oblique = unsure.screen("gave my cat to my sister today, she'll look after her better than i ever could")
    assert oblique.flag and not oblique.rules and not oblique.confident and not oblique.crisis_alert
    assert unsure.screen("I want to kill myself").crisis_alert  # a rule hit: always a crisis alert
    assert CrisisScreen(ScreenConfig(alert_score=0.0)).screen(oblique.excerpt).crisis_alert
    assert not unsure.screen("I attempted suicide years ago, much better now").crisis_alert  # review: no flag


def test_a_deployment_sets_the_model_threshold_in_settings() -> None:
    from phqwatch.config import Settings

    assert ScreenConfig.from_settings(Settings(_env_file=None)).flag_threshold is None
    strict = CrisisScreen(ScreenConfig.from_settings(Settings(_env_file=None, crisis_flag_threshold=0.9)))
    assert strict.model is not None and strict.model.flag_threshold == 0.9
    assert default_screen().model is not None and default_screen().model.flag_threshold < 0.9
    message = "I've been sleeping badly and I keep skipping meals."
    assert strict.screen(message).score == default_screen().screen(message).score
    assert not strict.screen(message).flag
