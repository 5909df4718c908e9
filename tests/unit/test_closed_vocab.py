"""Closed vocabulary by sound: pinyin / phonetic similarity, thresholds, and the kiosk's offered buttons."""

from __future__ import annotations

import pytest

from edge_models.asr.closed_vocab import THRESHOLD, Choice, match, score, sound_tokens, token_similarity
from edge_models.speech import Transcript
from kiosk.dialogue import DialogueEngine, DialogueSession, MemoryTicketDispenser, Utterance
from kiosk.policy import Policy
from kiosk.voice.choices import Offer, choices, last_sentence, offer_of, pick, plain_aliases, voice_utterance
from tests.fakes import NOW, FakeClassifier

CARD = [
    Choice("intent:card_lost", ("挂失", "report a lost card")),
    Choice("intent:account_open", ("开户", "open an account")),
    Choice("intent:credit_card", ("信用卡", "credit card")),
    Choice("handoff", ("人工服务", "staff")),
]


def test_a_homophone_sounds_the_same() -> None:
    similarity, coverage = score("挂失", "挂诗")
    assert (similarity, coverage) == (1.0, 1.0)
    found = match("挂诗", CARD)
    assert found is not None
    assert (found.key, found.phrase, found.confidence) == ("intent:card_lost", "挂失", 1.0)


@pytest.mark.parametrize(
    ("heard", "key"),
    [
        ("我要挖死", "intent:card_lost"),  # what whisper-base writes for espeak-ng's 我要挂失
        ("新容卡", "intent:credit_card"),  # what whisper-base writes for 信用卡
        ("我想开虎", "intent:account_open"),
        ("人工", "handoff"),  # part of a longer label
        ("credit cart", "intent:credit_card"),
        ("I'd like to report a lost card please", "intent:card_lost"),
    ],
)
def test_near_sounds_meet_their_choice(heard: str, key: str) -> None:
    found = match(heard, CARD)
    assert found is not None, heard
    assert found.key == key
    assert found.confidence >= THRESHOLD


@pytest.mark.parametrize(
    "heard",
    [
        "今天天气怎么样",
        "what is the weather like",
        "我想问一下信用卡的年费是多少",  # an open question that only contains a choice's word
        "卡",
        "",
    ],
)
def test_unrelated_or_open_questions_fall_back_to_open_text(heard: str) -> None:
    assert match(heard, CARD) is None


def test_near_initials_and_finals_score_between_same_and_unrelated() -> None:
    shi, si, ma = sound_tokens("失")[0], sound_tokens("死")[0], sound_tokens("妈")[0]
    xin, xing = sound_tokens("新")[0], sound_tokens("星")[0]
    assert token_similarity(shi, shi) == 1.0
    assert 0.5 < token_similarity(shi, si) < 1.0  # s / sh
    assert 0.5 < token_similarity(xin, xing) < 1.0  # in / ing
    assert token_similarity(shi, ma) < 0.4


def test_the_threshold_decides_and_a_close_runner_up_is_no_match() -> None:
    found = match("新容卡", CARD)
    assert found is not None
    assert found.confidence < 0.9
    assert match("新容卡", CARD, threshold=0.9) is None
    twins = [Choice("a", ("挂失",)), Choice("b", ("挂诗",))]  # the same sound: cannot tell them apart
    assert match("挂失", twins) is None
    assert match("挂失", twins, margin=0.0) is not None


def test_digits_in_chinese_read_as_numerals() -> None:
    assert sound_tokens("2号") == sound_tokens("二号")


def test_plain_aliases_keep_words_and_drop_regular_expressions(policy: Policy) -> None:
    usd = next(c for c in policy.rates.exchange.currencies if c.code == "USD")
    found = plain_aliases(usd.aliases)
    assert "美金" in found
    assert "usd" in found
    assert not any("?" in a or "\\" in a for a in found)


def test_choices_carry_both_languages_and_aliases(policy: Policy) -> None:
    built = {c.key: c.phrases for c in choices(policy, [("slot:exchange_rate:USD", "美元 USD"), ("handoff", "人工")])}
    assert {"美元 USD", "美元", "US dollar", "美金"} <= set(built["slot:exchange_rate:USD"])
    assert built["handoff"] == ("人工",)


def test_no_pick_unless_the_reply_asked_for_a_choice(policy: Policy) -> None:
    buttons = (("slot:exchange_rate:USD", "美元 USD"), ("slot:exchange_rate:EUR", "欧元 EUR"))
    assert pick(policy, Offer(buttons, "answer"), "美元") is None
    assert pick(policy, Offer((), "ask"), "美元") is None
    found = pick(policy, Offer(buttons, "ask"), "每元")  # mei yuan, the wrong characters
    assert found is not None
    assert found.key == "slot:exchange_rate:USD"


def test_a_heard_slot_answer_becomes_the_button_press(policy: Policy) -> None:
    model = FakeClassifier({"汇率多少": [("exchange_rate", 0.95), ("out_of_scope", 0.05)]}, threshold=0.7)
    engine = DialogueEngine(policy, model, tickets=MemoryTicketDispenser())
    session = DialogueSession("s")
    ask = engine.handle(session, Utterance(text="汇率多少"), NOW)
    assert (ask.action, ask.flow) == ("ask", "exchange_rate")
    offer = offer_of([(b.id, b.label) for b in ask.buttons], ask.action)
    heard = Transcript(text="我要每元", lang="zh", confidence=0.4)
    utterance, found = voice_utterance(heard, policy, offer)
    assert found is not None
    assert (utterance.source, utterance.button, utterance.text) == ("button", "slot:exchange_rate:USD", "我要每元")
    quote = engine.handle(session, utterance, NOW)
    usd = next(c for c in policy.rates.exchange.currencies if c.code == "USD")
    assert quote.action == "answer"
    assert f"{usd.buy:g}" in quote.reply
    # Turned off, the same words stay open text.
    open_text, none = voice_utterance(heard, policy, offer, closed=False)
    assert none is None
    assert (open_text.source, open_text.text) == ("voice", "我要每元")


def _ticket_question(policy: Policy) -> tuple[DialogueEngine, DialogueSession, Offer]:
    """An English session the kiosk has just asked "which service?" (the queue ticket's slot)."""
    engine = DialogueEngine(policy, None, tickets=MemoryTicketDispenser())
    session = DialogueSession("s", lang="en")
    ask = engine.handle(session, Utterance(source="button", button="intent:queue_ticket"), NOW)
    assert (ask.action, ask.flow, ask.lang) == ("ask", "queue_ticket", "en")
    return engine, session, offer_of([(b.id, b.label) for b in ask.buttons], ask.action)


def test_a_spoken_pick_keeps_the_language_the_customer_spoke(policy: Policy) -> None:
    engine, session, offer = _ticket_question(policy)
    heard = Transcript(text="银行卡", lang="zh", confidence=0.8)  # Mandarin, after an English question
    utterance, found = voice_utterance(heard, policy, offer)
    assert found is not None
    assert (utterance.source, utterance.button, utterance.lang) == ("button", "slot:queue_ticket:accounts", "zh")
    ticket = engine.handle(session, utterance, NOW)
    assert ticket.action == "ticket"
    assert (ticket.lang, session.lang) == ("zh", "zh")
    assert "开户、银行卡与账户" in ticket.reply
    # A tap carries no language: the session's stays.
    engine, session, _offer = _ticket_question(policy)
    tapped = engine.handle(session, Utterance(source="button", button="slot:queue_ticket:accounts"), NOW)
    assert tapped.lang == "en"


@pytest.mark.parametrize(
    ("heard", "lang", "intent"),
    [("我的银行卡丢了", "zh", "card_lost"), ("I lost my cards", "en", "card_lost")],
)
def test_a_sentence_that_names_a_choice_as_written_and_says_more_stays_open_text(
    policy: Policy, heard: str, lang: str, intent: str
) -> None:
    engine, session, offer = _ticket_question(policy)
    assert pick(policy, offer, heard) is None
    utterance, found = voice_utterance(Transcript(text=heard, lang=lang, confidence=0.8), policy, offer)
    assert found is None
    assert utterance.source == "voice"
    decided = engine.handle(session, utterance, NOW)
    assert (decided.intent, decided.lang) == (intent, lang)


def test_the_offer_keeps_the_question_the_reply_ends_with() -> None:
    reply = "开户需要本人携带有效身份证件。我可以为您显示材料清单。 请问是为谁开户？"
    assert offer_of([("slot:a:b", "本人")], "ask", reply).question == "请问是为谁开户？"
    assert last_sentence("The documents depend on it. Who is the account for?") == "Who is the account for?"
    assert last_sentence("Opening hours are 9.30 to 5.") == "Opening hours are 9.30 to 5."
    assert last_sentence("好的，请问您要办理哪类业务？") == "好的，请问您要办理哪类业务？"
    assert offer_of([("slot:a:b", "本人")], "ask").question == ""
