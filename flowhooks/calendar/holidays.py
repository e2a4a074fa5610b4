"""Public holidays by country and subdivision, from the ``holidays`` library."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import date
from functools import lru_cache

import holidays as _holidays

# -- holidays -----------------------------------------------------------------


@lru_cache(maxsize=256)
def holiday_table(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    """Public holidays of one (country, subdivision, year), built once and cached.

    A year the library has only part of (India: some holidays only 2001-2035) gives what
    it has; its warning is no error and no stderr line (a caller may name any year).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = _holidays.country_holidays(country, subdiv=subdivision, years=year)
        return dict(table.items())


def check_country(country: str, subdivision: str | None) -> None:
    """Raise ValueError when the holidays library does not know the country/subdivision."""
    supported = _holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"{country!r} is not a country the holidays library knows")
    if subdivision is not None and subdivision not in supported[country]:
        raise ValueError(f"{subdivision!r} is not a subdivision of {country}")
