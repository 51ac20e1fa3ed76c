"""Conversation exports: the whole tree as JSON, the chosen branch as Markdown."""

from .models import Conversation
from .selectors import branch_path
from .serializers import conversation_to_dict


def conversation_export_json(conversation: Conversation) -> dict:
    data = conversation_to_dict(conversation)
    data["messages"] = [
        {
            "id": m.pk,
            "parent": m.parent_id,
            "role": m.role,
            "content": m.content,
            "status": m.status,
            "model": m.model_name,
            "created_at": m.created_at.isoformat(),
        }
        for m in conversation.messages.order_by("created_at", "id")
    ]
    return data


def conversation_export_markdown(conversation: Conversation) -> str:
    lines = [f"# {conversation.title}", ""]
    if conversation.system_prompt.strip():
        lines += ["**System:**", "", conversation.system_prompt, ""]
    for message in branch_path(conversation):
        lines += [f"**{message.role.capitalize()}:**", "", message.content, ""]
    return "\n".join(lines)
