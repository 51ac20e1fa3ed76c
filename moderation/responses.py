"""What the assistant says instead of a flagged exchange."""

from .default_responses import DEFAULT_RESPONSES, GENERIC
from .models import TemplateResponse


def template_response_for(*, category: str | None, language: str = "en") -> str:
    """The admin's text for the category, in the language ("fr-ca"), its
    base language ("fr") or English, whichever exists first; else the
    built-in (English) text for the category; else the generic one. No
    category (a verdict that was not flagged) gets the generic text."""
    if category is not None:
        languages = list(dict.fromkeys([language, language.split("-")[0], "en"]))
        texts = dict(
            TemplateResponse.objects.filter(category=category, language__in=languages).values_list("language", "text")
        )
        for candidate in languages:
            if texts.get(candidate):
                return texts[candidate]
    return DEFAULT_RESPONSES.get(category, GENERIC)
