"""Markdown in labeling pages, rendered and sanitized by chat.markdown (the
same rules as chat answers: no raw HTML, no images, safe links only)."""
from django import template
from django.utils.safestring import mark_safe

from chat.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitized by nh3 in render_markdown
