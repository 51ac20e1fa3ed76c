from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from django.contrib.auth.models import Group
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

        from . import signals, sockets
        from .models import User

        user_logged_in.connect(signals.on_logged_in, dispatch_uid="accounts.throttle.logged_in")

        post_save.connect(sockets.on_user_saved, sender=User, dispatch_uid="accounts.sockets.user_saved")
        post_delete.connect(sockets.on_user_deleted, sender=User, dispatch_uid="accounts.sockets.user_deleted")
        user_logged_out.connect(sockets.on_logged_out, dispatch_uid="accounts.sockets.logged_out")
        for relation in (User.groups.through, User.user_permissions.through):
            m2m_changed.connect(
                sockets.on_user_relation_removed,
                sender=relation,
                dispatch_uid=f"accounts.sockets.{relation._meta.model_name}",
            )
        m2m_changed.connect(
            sockets.on_group_permissions_removed,
            sender=Group.permissions.through,
            dispatch_uid="accounts.sockets.group_permissions",
        )
        pre_delete.connect(sockets.on_group_deleted, sender=Group, dispatch_uid="accounts.sockets.group_deleted")
