"""The time zone a person reads times in: the one they chose in their
settings, else their browser's (static/js/timezone.js sends it in the
`tz` cookie, as ChatGPT and Open WebUI take the browser's), else the
site's TIME_ZONE. A name is used only if the IANA database knows it."""

import functools
import zoneinfo

TIME_ZONE_COOKIE = "tz"


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted: the settings page's
    choices and the whitelist a cookie's value is checked against (a name
    is never handed to ZoneInfo unchecked, so no path reaches the disk)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def valid_time_zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    if not name or name not in _known_names():
        return None
    return zoneinfo.ZoneInfo(name)


@functools.cache
def _known_names() -> frozenset[str]:
    return frozenset(time_zone_names())


def reader_time_zone(request) -> zoneinfo.ZoneInfo | None:
    """The zone `request`'s pages show times in; None: the site's default."""
    user = getattr(request, "user", None)
    chosen = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
    return valid_time_zone(chosen) or valid_time_zone(request.COOKIES.get(TIME_ZONE_COOKIE))
