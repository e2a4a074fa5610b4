"""Understands what the caller said: digits, yes/no, amount, date and intent (SPEC 2.10)."""

from __future__ import annotations

from pydantic import Field, field_validator

from flowhooks.errors import HandlerFailed, InvalidKeys, KeyProblem
from flowhooks.handlers.caller import calendar_named
from flowhooks.integrations.nlu import NluFailed
from flowhooks.method import Context, Keys
from flowhooks.speech.amounts import extract_amount
from flowhooks.speech.dates import extract_date
from flowhooks.speech.digits import extract_digits
from flowhooks.speech.normalize import normalize
from flowhooks.speech.yesno import extract_yes_no

METHOD = "speechprocessing"
EXPECTS = ("intent", "yes_no", "digits", "date", "amount")
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
    digits: str = Field(description="spoken digits as digits: 9877")
    amount: str = Field(description="a decimal number: 2500, 120000, 500.50")
    date: str = Field(description="ISO date by validateDateTime's parser: 2026-11-30")


async def handle(ctx: Context, keys: Input) -> dict[str, object]:
    want = EXPECTS if keys.expect is None else (keys.expect,)
    calendar = calendar_named(ctx, keys.calendar)
    nlu = ctx.nlu
    if "intent" in want and nlu is not None and keys.intentSet not in nlu.intent_sets:
        known = ", ".join(sorted(nlu.intent_sets))
        raise InvalidKeys([KeyProblem("intentSet", f"unknown intent set; known: {known}")])
    text = keys.speechText
    out: dict[str, object] = {
        "normalizedText": normalize(text),
        "intent": "",
        "intentConfidence": "",
        "yesNo": "",
        "digits": "",
        "amount": "",
        "date": "",
    }
    entities: dict[str, str] = {}
    if "intent" in want:
        if nlu is None:
            raise HandlerFailed("NLU_FAILED", "no [nlu] backend is configured")
        try:
            understood = await nlu.parse(text, keys.intentSet, ctx.request_id)
        except NluFailed as exc:
            raise HandlerFailed("NLU_FAILED", str(exc)) from None
        out["intent"] = understood.intent
        out["intentConfidence"] = f"{understood.confidence:.2f}"
        entities = dict(understood.entities)
    if "yes_no" in want:
        out["yesNo"] = entities.get("yes_no") or extract_yes_no(text)
    if "digits" in want:
        out["digits"] = entities.get("digits") or extract_digits(text)
    if "amount" in want:
        out["amount"] = entities.get("amount") or extract_amount(text)
    if "date" in want:
        local = ctx.now.astimezone(calendar.timezone)
        out["date"] = entities.get("date") or extract_date(text, local.date(), calendar.timezone)
    return out
