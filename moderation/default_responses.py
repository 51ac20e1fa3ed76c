"""Built-in template responses, used until an admin writes a
`TemplateResponse` for the category and language. Short and polite: the
person gets a reason, not a lecture."""

from . import categories as c

GENERIC = "I can't help with that request. If you think this is a mistake, please rephrase it and try again."

_SELF_HARM = (
    "It sounds like you may be going through a really hard time, and I'm sorry. I can't help with this, "
    "but you don't have to face it alone: please reach out to someone you trust or to a local crisis line "
    "(in the US, call or text 988; elsewhere, findahelpline.com lists free, confidential services). "
    "If you are in immediate danger, call your local emergency number."
)

DEFAULT_RESPONSES: dict[str, str] = {
    c.SEXUAL: "I can't help with sexually explicit content. I'm happy to help with something else.",
    c.SEXUAL_MINORS: "I can't help with that. Content that sexualises minors is never allowed.",
    c.HATE: (
        "I can't help with content that demeans people for who they are. "
        "I'm happy to talk about the topic respectfully."
    ),
    c.HATE_THREATENING: "I can't help with content that threatens people for who they are.",
    c.HARASSMENT: "I'd like to keep this conversation respectful. I'm happy to help if you rephrase your message.",
    c.HARASSMENT_THREATENING: (
        "I can't help with threats against anyone. If someone is in danger, please contact local emergency services."
    ),
    c.SELF_HARM: _SELF_HARM,
    c.SELF_HARM_INTENT: _SELF_HARM,
    c.SELF_HARM_INSTRUCTIONS: _SELF_HARM,
    c.VIOLENCE: "I can't help with content that promotes violence. I'm happy to help with something else.",
    c.VIOLENCE_GRAPHIC: "I can't provide graphic descriptions of violence. I'm happy to help with something else.",
    c.ILLICIT: "I can't help with illegal activities. I'm happy to help with something else.",
    c.ILLICIT_VIOLENT: "I can't help with weapons or plans that could hurt people.",
}
