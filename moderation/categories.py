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

# The label keys of OpenAI's public moderation evaluation set (the seed data
# the classifier is trained on), by the category each one marks.
OPENAI_LABELS = {
    "S": SEXUAL,
    "H": HATE,
    "V": VIOLENCE,
    "HR": HARASSMENT,
    "SH": SELF_HARM,
    "S3": SEXUAL_MINORS,
    "H2": HATE_THREATENING,
    "V2": VIOLENCE_GRAPHIC,
}
