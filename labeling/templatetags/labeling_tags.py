"""Filters of the labeling pages: Markdown rendered and sanitized by
core.markdown (the rules of chat answers: no raw HTML, no images, safe
links only), and the export formats a snapshot offers."""

from django import template
from django.utils.safestring import mark_safe

from core.markdown import render_markdown

from ..datasets import formats_for
from ..hub_export import hub_formats_for

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitized by nh3 in render_markdown


@register.filter
def export_formats(kind: str) -> list[str]:
    return formats_for(kind=kind)


@register.filter
def hub_formats(kind: str) -> list[str]:
    return hub_formats_for(kind=kind)
