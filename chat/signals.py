"""What chat announces, for the apps above it to act on: chat does not know
who listens (labeling connects its receivers in LabelingConfig.ready()).
Sent with send(), not send_robust(): receivers run in the sender's thread
and transaction, and an error in one is the sender's error, as if chat had
called it."""

from django.dispatch import Signal

# A user's message passed input moderation and its answers are queued.
# Sent by the worker (chat.worker.user_message_moderate) with `message`.
user_message_accepted = Signal()

# A user gave an answer a thumbs-down (chat.services.feedback_submit, again
# on each resubmission). Sent with `feedback`, a chat.models.Feedback.
answer_disliked = Signal()

# A user's chat import is stored and input moderation has judged its turns
# (chat.imports_service.chat_import_run). Sent with `chat_import`, a
# chat.models.ChatImport; a receiver returns how many of its prompts it
# shared, which the imports page shows.
chat_import_moderated = Signal()
