"""Checks a date and time a caller gave against a business calendar (SPEC 2.1)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from flowhooks import calendar as cal
from flowhooks.errors import HandlerFailed, InvalidKeys, KeyProblem
from flowhooks.handlers.caller import calendar_named
from flowhooks.method import Context, Keys

METHOD = "validateDateTime"


class Input(Keys):
    inputDate: str = Field(
        description="the date the caller gave: DDMMYYYY, 8-12-2019, 2019-12-08, tomorrow, ...",
        examples=["08122019"],
    )
    inputTime: str | None = Field(
        None, description="the time the caller gave: 1030, 10:30, 5 pm, ...", examples=["1030"]
    )
    type: str | None = Field(
        None, description="selects that type's hours in the calendar", examples=["Callback"]
    )
    calendar: str = Field("default", description="a [calendars.NAME] of the config")


class Output(Keys):
    outputDate: str = Field(description="the slot, ISO 8601 with offset")
    smsDate: str = Field(description="D-M-YYYY of the slot")
    outputTime: str = Field(description="window of the slot's day, '09:00 AM to 06:00 PM'")
    SmsOutputTime: str = Field(description="the same window text, for the SMS")
    outputDay: str = Field(description="English weekday of the slot")
    dateIsValid: bool = Field(description="the requested date is bookable")
    timeIsValid: bool = Field(description="the requested time is bookable")
    outputSlot: str = Field(description="the slot's time, '09:00 AM'")
    invalidReason: str = Field(
        description="unparseable, past, too_far, holiday, ...; empty if valid"
    )
    holidayName: str = Field(description="the requested date's holiday, else empty")


def answer(verdict: cal.Verdict) -> dict[str, object]:
    """The output keys of a verdict, as text (an all-text memoised answer renders once)."""
    slot = verdict.slot
    window = verdict.window.text()
    return {
        "outputDate": slot.isoformat(timespec="seconds"),
        "smsDate": f"{slot.day}-{slot.month}-{slot.year}",
        "outputTime": window,
        "SmsOutputTime": window,
        "outputDay": cal.WEEKDAY_NAMES[slot.weekday()],
        "dateIsValid": "true" if verdict.date_is_valid else "false",
        "timeIsValid": "true" if verdict.time_is_valid else "false",
        "outputSlot": cal.format_slot_time(slot.time()),
        "invalidReason": verdict.reason.value,
        "holidayName": verdict.holiday_name,
    }


async def handle(ctx: Context, keys: Input) -> Mapping[str, object]:
    calendar = calendar_named(ctx, keys.calendar)
    type_name = None
    if keys.type is not None:
        type_name = calendar.find_type(keys.type)
        if type_name is None:
            known = ", ".join(sorted(calendar.types)) or "none configured"
            raise InvalidKeys(
                [KeyProblem("type", f"unknown type for this calendar; known: {known}")]
            )
    inputs = (keys.inputDate, keys.inputTime, type_name)
    found = ctx.calendars.memo.answer(calendar, ctx.now, inputs, answer)
    if found is None:
        raise HandlerFailed("NO_VALID_SLOT", "no working date within 366 days")
    return found
