"""Filters of the review pages: an item's text as Markdown, rendered and
sanitized by core.markdown (the chat's rules: no raw HTML, no images, safe
links only), so moderators read what the user saw."""

from django import template
from django.utils.safestring import mark_safe

from core.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitized by nh3 in render_markdown
