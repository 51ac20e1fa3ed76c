"""Small synthetic chat exports in the shapes ChatGPT and Open WebUI write
(chat.imports reads them): each with a branch, a turn chat leaves out and a
part that is not text."""

import io
import json
import zipfile

T0 = 1_717_000_000.0  # 2024-05-29, in seconds as both apps write times


def _chatgpt_node(key, parent, children, role=None, parts=None, *, at=None, content_type="text", **metadata):
    message = None
    if role is not None:
        message = {
            "id": key,
            "author": {"role": role, "name": None, "metadata": {}},
            "create_time": at,
            "update_time": None,
            "content": {"content_type": content_type, "parts": parts},
            "status": "finished_successfully",
            "end_turn": True,
            "weight": 1.0,
            "metadata": metadata,
            "recipient": "all",
        }
    return {"id": key, "message": message, "parent": parent, "children": children}


def chatgpt_tides(title="Tides explained", *, first_question="How do tides work?"):
    """A conversation whose question was answered twice (a regeneration:
    two branches). The first answer was followed up; the second came after
    code the model ran and its output (a tool turn), and a question with a
    picture followed it, which is where the user left off (current_node).
    ChatGPT's hidden system turn comes first."""
    nodes = [
        _chatgpt_node("root", None, ["sys"]),
        _chatgpt_node(
            "sys", "root", ["u1"], "system", [""], is_visually_hidden_from_conversation=True, content_type="text"
        ),
        _chatgpt_node("u1", "sys", ["a1", "code"], "user", [first_question], at=T0 + 1),
        _chatgpt_node("a1", "u1", ["u2"], "assistant", ["The moon pulls the sea."], at=T0 + 2, model_slug="gpt-4o"),
        _chatgpt_node("u2", "a1", ["a2"], "user", ["And waves?"], at=T0 + 3),
        _chatgpt_node("a2", "u2", [], "assistant", ["Wind makes waves."], at=T0 + 4, model_slug="gpt-4o"),
        _chatgpt_node("code", "u1", ["tool"], "assistant", None, at=T0 + 10, content_type="code"),
        _chatgpt_node("tool", "code", ["a3"], "tool", None, at=T0 + 11, content_type="execution_output"),
        _chatgpt_node("a3", "tool", ["u3"], "assistant", ["Gravity of the moon and the sun."], at=T0 + 12),
        _chatgpt_node(
            "u3",
            "a3",
            ["a4"],
            "user",
            [
                {"content_type": "image_asset_pointer", "asset_pointer": "file-service://file-abc", "size_bytes": 1},
                "What about this picture?",
            ],
            at=T0 + 13,
            content_type="multimodal_text",
        ),
        _chatgpt_node("a4", "u3", [], "assistant", ["That is a spring tide."], at=T0 + 14),
    ]
    nodes[6]["message"]["content"] = {"content_type": "code", "language": "python", "text": "print(1)"}
    nodes[7]["message"]["content"] = {"content_type": "execution_output", "text": "1"}
    return {
        "title": title,
        "create_time": T0,
        "update_time": T0 + 14,
        "mapping": {node["id"]: node for node in nodes},
        "moderation_results": [],
        "current_node": "a4",
        "conversation_id": "6656d1c0-0000-0000-0000-000000000001",
        "id": "6656d1c0-0000-0000-0000-000000000001",
    }


def chatgpt_search():
    """An answer split by a browsing tool call: one answer once imported."""
    nodes = [
        _chatgpt_node("root", None, ["u1"]),
        _chatgpt_node("u1", "root", ["a1"], "user", ["Who won the match?"], at=T0 + 100),
        _chatgpt_node("a1", "u1", ["t1"], "assistant", ["Let me look."], at=T0 + 101),
        _chatgpt_node("t1", "a1", ["a2"], "tool", ["search results"], at=T0 + 102),
        _chatgpt_node("a2", "t1", [], "assistant", ["The home team won."], at=T0 + 103),
    ]
    return {
        "title": "Match",
        "create_time": T0 + 100,
        "update_time": T0 + 103,
        "mapping": {node["id"]: node for node in nodes},
        "current_node": "a2",
    }


def chatgpt_export(*conversations) -> bytes:
    return json.dumps(list(conversations or [chatgpt_tides(), chatgpt_search()])).encode()


def chatgpt_zip(conversations_json: bytes) -> bytes:
    """The zip ChatGPT mails: conversations.json beside the chat.html
    viewer and uploaded files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("chat.html", "<html></html>")
        archive.writestr("conversations.json", conversations_json)
        archive.writestr("file-abc.png", b"\x89PNG not really")
    return buffer.getvalue()


def open_webui_paris():
    """An Open WebUI chat as "Export Chats" writes it (a ChatResponse): the
    first question answered twice (regenerated), the follow-up under the
    second answer with an image attached, where the user left off."""
    messages = {
        "m1": {
            "id": "m1",
            "parentId": None,
            "childrenIds": ["m2", "m3"],
            "role": "user",
            "content": "Plan a day in Paris",
            "timestamp": int(T0) + 200,
            "models": ["llama3.1:8b"],
        },
        "m2": {
            "id": "m2",
            "parentId": "m1",
            "childrenIds": [],
            "role": "assistant",
            "content": "Louvre, then the Seine.",
            "model": "llama3.1:8b",
            "modelName": "Llama 3.1",
            "timestamp": int(T0) + 201,
            "done": True,
        },
        "m3": {
            "id": "m3",
            "parentId": "m1",
            "childrenIds": ["m4"],
            "role": "assistant",
            "content": "Eiffel Tower, then Montmartre.",
            "model": "llama3.1:8b",
            "timestamp": int(T0) + 210,
            "done": True,
        },
        "m4": {
            "id": "m4",
            "parentId": "m3",
            "childrenIds": ["m5"],
            "role": "user",
            "content": "Make it cheaper",
            "files": [{"type": "image", "url": "data:image/png;base64,AAAA"}],
            "timestamp": int(T0) + 220,
        },
        "m5": {
            "id": "m5",
            "parentId": "m4",
            "childrenIds": [],
            "role": "assistant",
            "content": "Walk everywhere and picnic.",
            "model": "llama3.1:8b",
            "timestamp": int(T0) + 221,
            "done": True,
        },
    }
    return {
        "id": "0b6c1c9e-0000-0000-0000-000000000002",
        "user_id": "8f1e-user",
        "title": "Paris trip",
        "chat": {
            "id": "",
            "title": "Paris trip",
            "models": ["llama3.1:8b"],
            "params": {},
            "history": {"messages": messages, "currentId": "m5"},
            "messages": [messages[key] for key in ("m1", "m3", "m4", "m5")],
            "tags": [],
            "timestamp": int(T0 * 1000) + 200_000,
            "files": [],
        },
        "updated_at": int(T0) + 221,
        "created_at": int(T0) + 200,
        "share_id": None,
        "archived": False,
        "pinned": False,
        "meta": {"tags": []},
        "folder_id": None,
    }


def open_webui_export(*chats) -> bytes:
    return json.dumps(list(chats or [open_webui_paris()])).encode()
