"""Understands what the caller said: digits, yes/no, amount, date and intent (SPEC 2.10)."""

from __future__ import annotations

from pydantic import Field, field_validator

from flowhooks.errors import HandlerFailed, InvalidKeys, KeyProblem
from flowhooks.handlers.caller import calendar_named
from flowhooks.integrations.nlu import NluFailed
from flowhooks.method import Context, Keys
from flowhooks.speech.extract import extract

METHOD = "speechprocessing"
EXPECTS = ("intent", "yes_no", "digits", "date", "amount")
WANT = {name: frozenset({name}) for name in EXPECTS} | {None: frozenset(EXPECTS)}
MAX_TEXT_CHARS = 2000


class Input(Keys):
    speechText: str = Field(
        max_length=MAX_TEXT_CHARS,
        description="what the speech recogniser heard",
        examples=["nine eight double seven"],
    )
    cli: str | None = Field(None, description="the caller's number (logged with the request)")
    expect: str | None = Field(
        None, description="intent | yes_no | digits | date | amount; absent: all"
    )
    intentSet: str = Field("default", description="an [nlu.intents.SET] of the config")
    calendar: str = Field("default", description="the [calendars.NAME] whose today dates use")

    @field_validator("expect")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() not in EXPECTS:
            raise ValueError(f"must be one of {', '.join(EXPECTS)}")
        return None if value is None else value.strip().lower()


class Output(Keys):
    normalizedText: str = Field(description="lower case, fillers gone, numbers as digits")
    intent: str = Field(description="the best intent, or none under [nlu] threshold")
    intentConfidence: str = Field(description="0-1, two decimals")
    yesNo: str = Field(description="yes, no or empty")
    digits: str = Field(description="spoken digits as digits: 9877; empty if not one run")
    amount: str = Field(
        description="a decimal number: 2500, 120000, 500.50; empty when not said one way"
    )
    date: str = Field(
        description="ISO date of the day said, against the calendar's today: 2026-11-30;"
        " empty when not said one way"
    )


async def handle(ctx: Context, keys: Input) -> dict[str, object]:
    want = WANT[keys.expect]
    calendar = calendar_named(ctx, keys.calendar)
    nlu = ctx.nlu
    if "intent" in want and nlu is not None and keys.intentSet not in nlu.intent_sets:
        known = ", ".join(sorted(nlu.intent_sets))
        raise InvalidKeys([KeyProblem("intentSet", f"unknown intent set; known: {known}")])
    text = keys.speechText
    today = ctx.now.astimezone(calendar.timezone).date()
    normalized, yes_no, digits, amount, spoken_date = extract(text, want, today, calendar.timezone)
    intent = confidence = ""
    if "intent" in want:
        if nlu is None:
            raise HandlerFailed("NLU_FAILED", "no [nlu] backend is configured")
        try:
            understood = await nlu.parse(text, keys.intentSet, ctx.request_id)
        except NluFailed as exc:
            raise HandlerFailed("NLU_FAILED", str(exc)) from None
        intent, confidence = understood.intent, f"{understood.confidence:.2f}"
        found = understood.entities
        if len(want) > 1:  # every output asked for: the backend's entities win
            yes_no = found.get("yes_no") or yes_no
            digits = found.get("digits") or digits
            amount = found.get("amount") or amount
            spoken_date = found.get("date") or spoken_date
    return {
        "normalizedText": normalized,
        "intent": intent,
        "intentConfidence": confidence,
        "yesNo": yes_no,
        "digits": digits,
        "amount": amount,
        "date": spoken_date,
    }
