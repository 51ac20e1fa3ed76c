"""The top bar's navigation, built from the same access helpers the views
check, so a link shows exactly when its page would let the user in (one
source of truth instead of role conditions restated in base.html). It lives
in the project layer because it asks several apps."""

from dataclasses import dataclass

from django.urls import reverse

from accounts.access import can_chat, can_use_arena
from accounts.models import Role
from jobs.access import can_train
from labeling.views import LABELING_ROLES


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    testid: str = ""


@dataclass(frozen=True)
class NavMenu:
    """Links grouped under one button, so an admin's bar fits one line."""

    label: str
    links: list[NavLink]
    is_menu: bool = True  # what the template tells a menu from a link by


def _link(label: str, url_name: str, testid: str = "") -> NavLink:
    return NavLink(label, reverse(url_name), testid)


def _nav_items(user) -> list:
    items = [_link("Chat", "chat:home"), _link("API keys", "api-keys")]
    if can_use_arena(user):
        items.append(_link("Arena", "arena:home", "nav-arena"))
    if user.has_role(*LABELING_ROLES):
        items.append(_link("Label", "labeling:home", "nav-labeling"))
    if user.has_role(Role.MODERATOR):
        items.append(_link("Review", "review:review-list"))
    items.append(_link("Settings", "accounts:settings"))

    if can_train(user):
        # Kept on the bar itself: the one page a trainer comes back to.
        items.append(_link("Training", "jobs:list"))
    data = []
    if user.is_admin:
        data.append(_link("Datasets", "labeling:admin-prompts", "nav-datasets"))
    if can_train(user):
        data.append(_link("Models", "versions:list"))
    if user.is_admin:
        data += [_link("Leaderboard", "arena:leaderboard"), _link("Trial", "arena:trial")]
    if len(data) == 1:
        items += data  # a menu of one link would only hide it
    elif data:
        items.append(NavMenu("Data", data))
    if user.is_admin:
        items.append(
            NavMenu(
                "Admin",
                [
                    _link("Users", "accounts:users"),
                    _link("Usage", "usage:dashboard"),
                    _link("Feedback", "feedback:list", "nav-feedback"),
                    _link("Django admin", "admin:index"),
                ],
            )
        )
    return items


def navigation(request) -> dict:
    """`nav_items`: the links and menus of the top bar; none for a visitor
    or an account still waiting for approval."""
    user = request.user
    return {"nav_items": _nav_items(user) if can_chat(user) else []}
