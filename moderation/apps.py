from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ModerationConfig(AppConfig):
    name = "moderation"

    def ready(self):
        from . import rules
        from .models import ModerationRule

        # Drops this process's compiled rules at once; other processes
        # notice the change through rules.active_rules' periodic check.
        def forget_rules(**kwargs):
            rules.invalidate()

        post_save.connect(forget_rules, sender=ModerationRule, dispatch_uid="moderation.rules.saved", weak=False)
        post_delete.connect(forget_rules, sender=ModerationRule, dispatch_uid="moderation.rules.deleted", weak=False)
