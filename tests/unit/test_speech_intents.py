"""Issue 24 for intents: a wrong intent is worse than none. One test per kind of mistake
the fuzzy matcher made on the corpus (tests/corpus/), and what must still match."""

from __future__ import annotations

import pytest

from flowhooks.speech.default_intents import DEFAULT_INTENTS
from flowhooks.speech.intents import IntentSet, Match

DEFAULT = IntentSet(DEFAULT_INTENTS)
THRESHOLD = 0.6


def intent(text: str, intents: IntentSet = DEFAULT) -> str:
    return intents.match(text, THRESHOLD).intent


@pytest.mark.parametrize(
    "said",
    ["yes", "yes please", "yeah that's right", "correct", "yes yes correct", "no thanks",
     "uh no", "no no", "not at all", "okay", "hmm", "that's not right", "no problem"],
)  # fmt: skip
def test_a_yes_or_a_no_alone_is_no_intent(said: str) -> None:
    assert intent(said) == "none"  # was goodbye, refund, address_change, password_reset


def test_a_yes_or_a_no_matches_an_intent_of_yes_or_no_examples() -> None:
    confirm = IntentSet({"confirm": ["yes", "that's right"], "deny": ["no", "not really"]})
    assert intent("yes please", confirm) == "confirm"
    assert intent("yeah sure", confirm) == "confirm"
    assert intent("no thanks", confirm) == "deny"
    assert intent("nope", confirm) == "deny"
    assert intent("I don't know", confirm) == "none"


def test_function_words_alone_match_an_example_only_said_whole() -> None:
    assert intent("that's all thanks") == "goodbye"  # "thats all"
    assert intent("no that's all thank you") == "goodbye"  # whatever yes or no beside it
    assert intent("is it") == "none"  # not "that is it thanks"
    assert intent("no that's not all") == "none"


def test_a_yes_or_no_word_used_otherwise_is_a_content_word() -> None:
    assert intent("correct my address") == "address_change"
    assert intent("correct") == "none"


@pytest.mark.parametrize(
    "said",
    ["what", "I don't know", "hello", "hmm let me think", "option four please",
     "I'm not sure about that", "can you send it on the 2nd"],
)  # fmt: skip
def test_function_words_alone_are_no_intent(said: str) -> None:
    assert intent(said) == "none"  # "what" was balance, "I don't know" balance


@pytest.mark.parametrize(
    "said",
    ["tomorrow", "day after tomorrow", "today", "in a week", "next month", "coming saturday",
     "in the evening", "10k please", "four four two one please",
     "my emi is eight thousand four hundred", "the amount is six thousand"],
)  # fmt: skip
def test_a_day_or_a_number_alone_is_no_intent(said: str) -> None:
    assert intent(said) == "none"  # "tomorrow" was callback, "in a week" password_reset


@pytest.mark.parametrize(
    "said",
    ["my pin is 4421", "my card ends in four five six seven", "I have two cards",
     "the last four digits of my card are 4 3 2 1", "I want to withdraw 20,000 rupees",
     "transfer fifty thousand to my savings account"],
)  # fmt: skip
def test_a_thing_named_without_what_is_asked_for_it_is_no_intent(said: str) -> None:
    # "pin" and "card" alone are not "reset my pin" or "block my card"; a word shared
    # with one example ("withdraw my request", "transfer me to an operator") is not it
    assert intent(said) == "none"


@pytest.mark.parametrize(
    ("said", "expected"),
    [("card block", "block_card"), ("reset my ATM pin", "password_reset"),
     ("please block my debit card", "block_card"), ("mini statement", "statement")],
)  # fmt: skip
def test_the_thing_and_what_is_asked_for_it_match(said: str, expected: str) -> None:
    assert intent(said) == expected


@pytest.mark.parametrize(
    "said",
    ["I don't want a refund", "don't block my card", "I don't need a loan", "nothing to pay",
     "no need to call me back", "I do not want to cancel"],
)  # fmt: skip
def test_a_refusal_is_no_intent(said: str) -> None:
    assert intent(said) == "none"


@pytest.mark.parametrize(
    ("said", "expected"),
    [("my money is not refunded", "refund"), ("refund of rs 899 not received yet", "refund"),
     ("I didn't hear you", "repeat"), ("my order was not delivered", "order_status"),
     ("I don't want it anymore cancel it", "cancel")],
)  # fmt: skip
def test_a_complaint_said_with_not_still_matches(said: str, expected: str) -> None:
    assert intent(said) == expected  # the example says "not" there too


@pytest.mark.parametrize(
    ("said", "expected"),
    [("I didn't get my bill", "bill"), ("I haven't received my order yet", "order_status"),
     ("I'm not calling about my bill", "none"), ("I didn't get a refund", "refund")],
)  # fmt: skip
def test_a_thing_not_received_is_what_the_call_is_about(said: str, expected: str) -> None:
    assert intent(said) == expected  # not a refusal of it


@pytest.mark.parametrize(
    "said",
    ["what is the interest on savings account", "what is my account number"],
)
def test_most_of_an_example_said_is_not_enough_without_a_word_only_its_intent_has(
    said: str,
) -> None:
    # "what ... account" is 2 of the 3 words of "what is my account balance", but every
    # intent could ask "what" about an "account": the missing word was the one that matters
    assert intent(said) == "none"


def test_most_of_an_example_with_a_word_only_its_intent_has_matches() -> None:
    assert intent("person to talk to") == "agent"  # "can i talk to a real person"


@pytest.mark.parametrize(
    "said",
    ["i got a call from this number", "this is my second call today",
     "the call got disconnected"],
)  # fmt: skip
def test_the_call_itself_is_not_a_callback(said: str) -> None:
    assert intent(said) == "none"


@pytest.mark.parametrize(
    "said", ["call me at 5 pm", "please call later", "call me tomorrow after 4", "call back"]
)
def test_asking_to_be_called_is_a_callback(said: str) -> None:
    assert intent(said) == "callback"


def test_two_requests_in_one_breath_are_no_intent() -> None:
    assert intent("check my balance and block my card") == "none"


@pytest.mark.parametrize(
    ("said", "expected"),
    [("what is my acount balanse", "balance"), ("whats my acount balance", "balance"),
     ("my bills are too high", "bill")],
)  # fmt: skip
def test_a_misheard_letter_in_a_long_word_still_matches(said: str, expected: str) -> None:
    assert intent(said) == expected


@pytest.mark.parametrize("said", ["play some music", "I called yesterday", "my older son"])
def test_another_real_word_is_not_a_misheard_one(said: str) -> None:
    assert intent(said) == "none"  # "play" is not "pay", "called" not "call"


@pytest.mark.parametrize(
    ("said", "expected"),
    [("yes, on monday, pay two thousand from nine eight double seven", "payment"),
     ("I'll pay 5000 on the 15th", "payment"), ("I moved to a new house change my address",
     "address_change"), ("call me back on the 2nd of december", "callback"),
     ("I need to talk to a real human", "agent")],
)  # fmt: skip
def test_days_numbers_and_other_words_beside_the_request_do_not_hide_it(
    said: str, expected: str
) -> None:
    assert intent(said) == expected


def test_confidence() -> None:
    found = DEFAULT.match("I want to talk to someone", THRESHOLD)
    assert (found.intent, found.confidence) == ("agent", 1.0)
    pizza = IntentSet({"order": ["i want to order a pizza"], "track": ["where is my pizza"]})
    close = pizza.match("i want to order a burger", 0.8)  # close, but not the example
    assert close.intent == "none" and 0 < close.confidence < 0.8
    assert DEFAULT.match("yes", THRESHOLD).confidence == 0


def test_under_the_threshold_is_no_intent() -> None:
    menu = IntentSet({"order": ["order a pizza"], "drink": ["a coke"]})
    assert menu.match("order a pizza and a coke", 0.6) == Match("order", 0.67)  # 2 of 3 words
    assert menu.match("order a pizza and a coke", 0.8) == Match("none", 0.67)
