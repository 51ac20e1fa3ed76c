from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """The moderators' pages: the review queue and its decisions, the
    dashboard and the classifier's trainings and versions. No models of its
    own: it reads and decides moderation's review items."""

    name = "review"
