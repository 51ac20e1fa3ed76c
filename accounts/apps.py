from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from . import signals

        user_login_failed.connect(signals.on_login_failed, dispatch_uid="accounts.throttle.failed")
        user_logged_in.connect(signals.on_logged_in, dispatch_uid="accounts.throttle.logged_in")
