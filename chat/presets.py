"""The generation settings that follow a user from chat to chat: their
defaults, which every new chat of theirs starts from, and the presets they
saved under a name to pick for a chat. Values come validated from
chat.params (clean_generation_settings, clean_preset_name)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import Http404

from accounts.access import can_chat
from core.errors import UserError

from .models import ChatDefaults, SettingsPreset
from .params import GENERATION_SETTINGS, PRESETS_PER_USER_MAX


def site_defaults() -> dict:
    """What a user who saved no defaults starts from."""
    return {"system_prompt": "", **settings.GENERATION_DEFAULTS}


def settings_of(row) -> dict:
    return {key: getattr(row, key) for key in GENERATION_SETTINGS}


def chat_defaults_saved(*, user) -> dict | None:
    """The defaults the user saved; None for none."""
    row = ChatDefaults.objects.filter(user=user).first()
    return settings_of(row) if row else None


def chat_defaults_values(*, user) -> dict:
    """The settings a new chat of `user` starts from: theirs, else the site's."""
    return chat_defaults_saved(user=user) or site_defaults()


def chat_defaults_update(*, user, values: dict) -> ChatDefaults:
    """Stores `values` (clean_generation_settings) as the user's defaults
    for the chats they start from now on; chats already started keep theirs."""
    row, _ = ChatDefaults.objects.update_or_create(user=user, defaults=values)
    return row


def chat_defaults_clear(*, user) -> None:
    """Forgets the user's defaults: new chats start from the site's again."""
    ChatDefaults.objects.filter(user=user).delete()


def preset_list(*, user) -> list[SettingsPreset]:
    return list(SettingsPreset.objects.filter(owner=user))


def preset_access_by_id(user, preset_id) -> SettingsPreset:
    """Another user's preset looks exactly like one that does not exist."""
    if not can_chat(user):
        raise Http404("No such preset.")
    try:
        return SettingsPreset.objects.get(pk=int(preset_id), owner=user)
    except (SettingsPreset.DoesNotExist, TypeError, ValueError, OverflowError):  # OverflowError: int(Infinity)
        raise Http404("No such preset.") from None


def _name_taken(name: str) -> UserError:
    return UserError("preset_name_taken", f'You already have a preset named "{name}"; choose another name.')


def _name_check(*, owner, name: str, exclude_pk: int | None = None) -> None:
    if SettingsPreset.objects.filter(owner=owner, name__iexact=name).exclude(pk=exclude_pk).exists():
        raise _name_taken(name)


def _save(preset: SettingsPreset, name: str) -> SettingsPreset:
    """Saves, turning the unique name constraint a parallel save hit into
    the same message as the check before it."""
    try:
        with transaction.atomic():
            preset.save()
    except IntegrityError:
        raise _name_taken(name) from None
    return preset


@transaction.atomic
def preset_create(*, owner, name: str, values: dict) -> SettingsPreset:
    """Saves `values` (clean_generation_settings) as a new preset named
    `name` (clean_preset_name), within PRESETS_PER_USER_MAX. The owner's
    row is locked first, so two saves at once cannot both take the last
    place."""
    list(get_user_model().objects.select_for_update(no_key=True).filter(pk=owner.pk).values_list("pk", flat=True))
    if SettingsPreset.objects.filter(owner=owner).count() >= PRESETS_PER_USER_MAX:
        raise UserError(
            "too_many_presets", f"You have {PRESETS_PER_USER_MAX} presets, the most there can be; delete one first."
        )
    _name_check(owner=owner, name=name)
    return _save(SettingsPreset(owner=owner, name=name, **values), name)


def preset_update(*, preset: SettingsPreset, name: str | None = None, values: dict | None = None) -> SettingsPreset:
    """Renames the preset (`name`), or overwrites its settings (`values`),
    or both."""
    if name is not None:
        _name_check(owner=preset.owner_id, name=name, exclude_pk=preset.pk)
        preset.name = name
    for key, value in (values or {}).items():
        setattr(preset, key, value)
    return _save(preset, preset.name)


def preset_delete(*, preset: SettingsPreset) -> None:
    preset.delete()


def chat_settings_delete_all(*, user) -> None:
    """Deletes the user's defaults and every preset (deleting the account
    keeps its row, so nothing cascades)."""
    chat_defaults_clear(user=user)
    SettingsPreset.objects.filter(owner=user).delete()


def preset_to_dict(preset: SettingsPreset) -> dict:
    return {"id": preset.pk, "name": preset.name, **settings_of(preset)}
