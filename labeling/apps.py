from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"

    def ready(self):
        """Labeling listens to chat (chat.signals), which knows nothing of
        the pool: an accepted message may become a prompt, a thumbs-down
        answer a candidate (labeling.from_chat)."""
        from chat.signals import answer_disliked, user_message_accepted

        from .from_chat import chat_prompt_share, disliked_answer_share

        user_message_accepted.connect(chat_prompt_share, dispatch_uid="labeling.chat_prompt_share")
        answer_disliked.connect(disliked_answer_share, dispatch_uid="labeling.disliked_answer_share")
