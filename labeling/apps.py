from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"

    def ready(self):
        """Labeling listens to chat (chat.signals), which knows nothing of
        the pool: an accepted message may become a prompt, a thumbs-down
        answer a candidate (labeling.from_chat), an imported chat's
        accepted prompts may join it (labeling.from_import)."""
        from chat.signals import answer_disliked, chat_import_moderated, user_message_accepted

        from .from_chat import chat_prompt_share, disliked_answer_share
        from .from_import import imported_prompts_share

        user_message_accepted.connect(chat_prompt_share, dispatch_uid="labeling.chat_prompt_share")
        answer_disliked.connect(disliked_answer_share, dispatch_uid="labeling.disliked_answer_share")
        chat_import_moderated.connect(imported_prompts_share, dispatch_uid="labeling.imported_prompts_share")
