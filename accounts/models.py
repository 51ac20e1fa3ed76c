from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    USER = "user", "User"
    ANNOTATOR = "annotator", "Annotator"
    MODERATOR = "moderator", "Moderator"
    ADMIN = "admin", "Admin"


class Theme(models.TextChoices):
    SYSTEM = "system", "System"
    LIGHT = "light", "Light"
    DARK = "dark", "Dark"


class User(AbstractUser):
    """A person with one role. Admins may do everything the other roles may;
    an unapproved account can sign in but sees only the waiting page."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)
    is_approved = models.BooleanField(default=True)
    # The user's consent: prompts they send in chat (once moderation accepts
    # them) and answers they rate thumbs-down join the labeling prompt pool;
    # answers they rate up or down make the judged-answer (KTO) datasets.
    shares_chat_data = models.BooleanField(default=False)
    # An admin lets this user into the arena (admins are always let in).
    arena_enabled = models.BooleanField(default=False)
    # Tokens a day this user may use in chat; None: the site's default
    # (USAGE_DAILY_TOKEN_QUOTA), 0: unlimited (usage/services.py).
    daily_token_quota = models.PositiveIntegerField(null=True, blank=True)
    # An IANA zone name the user chose for the times pages show; empty: their
    # browser's (accounts.timezones).
    time_zone = models.CharField(max_length=64, blank=True, default="")
    # The colour theme the top bar's button last chose, so it follows the
    # user to every browser they sign in on (static/js/theme.js); empty
    # until they choose, and then each browser keeps its own.
    theme = models.CharField(max_length=8, choices=Theme.choices, blank=True, default="")

    def has_role(self, *roles: str) -> bool:
        if not (self.is_authenticated and self.is_active and self.is_approved):
            return False
        return self.role == Role.ADMIN or self.is_superuser or self.role in roles

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)
