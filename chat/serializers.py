"""The JSON shapes the browser receives, over HTTP and the WebSocket alike."""

from django.utils.html import escape, linebreaks

from core.markdown import render_markdown

from .models import ACTIVE_STATUSES, Conversation, Message


def message_to_dict(message: Message, *, report: dict | None = None) -> dict:
    """`report`: the state of the viewer's latest report on this answer
    (chat.reports.report_to_dict), read by chat.selectors for the pages
    that load messages; None when they never reported it. A broadcast
    goes to no one viewer and says None; the page keeps what the loaded
    conversation told it, and hears of a decision over its own socket."""
    if message.role == Message.Role.ASSISTANT:
        # While it streams the browser renders the text it receives; the
        # sanitized HTML comes with the final state.
        html = "" if message.status in ACTIVE_STATUSES else render_markdown(message.content)
    else:
        html = linebreaks(escape(message.content))
    verdict = message.moderation or {}
    return {
        "id": message.pk,
        "conversation": message.conversation_id,
        "parent": message.parent_id,
        "role": message.role,
        "content": message.content,
        "html": html,
        "status": message.status,
        "error": message.error,
        "flagged": bool(verdict.get("flagged")),
        "report": report,
        "finish_reason": message.finish_reason,
        "model": message.model_name,
        "prompt_tokens": message.prompt_tokens,
        "completion_tokens": message.completion_tokens,
        "ttft_ms": message.ttft_ms,
        "tokens_per_second": message.tokens_per_second,
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }


def conversation_to_dict(conversation: Conversation) -> dict:
    return {
        "id": conversation.pk,
        "title": conversation.title,
        "system_prompt": conversation.system_prompt,
        "temperature": conversation.temperature,
        "top_p": conversation.top_p,
        "max_new_tokens": conversation.max_new_tokens,
        "model_version": conversation.model_version_id,
        "current_leaf": conversation.current_leaf_id,
        "updated_at": conversation.updated_at.isoformat(),
    }
