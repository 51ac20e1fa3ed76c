import pytest

from moderation import categories as c
from moderation.default_responses import DEFAULT_RESPONSES, GENERIC
from moderation.models import TemplateResponse
from moderation.responses import template_response_for

pytestmark = pytest.mark.django_db


def test_every_category_has_a_built_in_response():
    assert set(DEFAULT_RESPONSES) == set(c.CATEGORIES)
    assert "988" in template_response_for(category=c.SELF_HARM_INTENT)


def test_no_or_unknown_category_gets_the_generic_response():
    assert template_response_for(category=None) == GENERIC
    assert template_response_for(category="not-a-category") == GENERIC


def test_the_database_comes_first_then_base_language_then_english():
    TemplateResponse.objects.create(category=c.HATE, language="en", text="Custom English.")
    TemplateResponse.objects.create(category=c.HATE, language="fr", text="Texte français.")
    assert template_response_for(category=c.HATE) == "Custom English."
    assert template_response_for(category=c.HATE, language="fr") == "Texte français."
    assert template_response_for(category=c.HATE, language="fr-ca") == "Texte français."
    assert template_response_for(category=c.HATE, language="de") == "Custom English."
    assert template_response_for(category=c.SEXUAL, language="fr") == DEFAULT_RESPONSES[c.SEXUAL]
