"""The OpenAI moderation taxonomy, so verdicts, rules, template responses and
later training data all speak the same category names."""

SEXUAL = "sexual"
SEXUAL_MINORS = "sexual/minors"
HATE = "hate"
HATE_THREATENING = "hate/threatening"
HARASSMENT = "harassment"
HARASSMENT_THREATENING = "harassment/threatening"
SELF_HARM = "self-harm"
SELF_HARM_INTENT = "self-harm/intent"
SELF_HARM_INSTRUCTIONS = "self-harm/instructions"
VIOLENCE = "violence"
VIOLENCE_GRAPHIC = "violence/graphic"
ILLICIT = "illicit"
ILLICIT_VIOLENT = "illicit/violent"

CATEGORIES: tuple[str, ...] = (
    SEXUAL,
    SEXUAL_MINORS,
    HATE,
    HATE_THREATENING,
    HARASSMENT,
    HARASSMENT_THREATENING,
    SELF_HARM,
    SELF_HARM_INTENT,
    SELF_HARM_INSTRUCTIONS,
    VIOLENCE,
    VIOLENCE_GRAPHIC,
    ILLICIT,
    ILLICIT_VIOLENT,
)

# For model fields: the stored value is the API name itself.
CATEGORY_CHOICES = [(category, category) for category in CATEGORIES]
