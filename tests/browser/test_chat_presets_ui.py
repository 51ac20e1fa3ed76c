"""Settings that follow the user (issue 17): defaults every new chat starts
from (ChatGPT's custom instructions, Open WebUI's default parameters) and
named presets picked for one chat, in a real browser against the live
stack; on a phone the settings panel with its preset controls fits the
screen, and a preset's name is text, never markup."""

import re

import pytest
from playwright.sync_api import expect

from chat.models import ChatDefaults, Conversation, SettingsPreset
from chat.params import PRESET_NAME_MAX_CHARS

from .conftest import log_in
from .xss_payloads import HIT, PAYLOADS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"
PHONE = {"width": 390, "height": 844}
_WIDTHS = "() => [document.documentElement.scrollWidth, innerWidth]"


def _send(page, text):
    """Sends `text` from a new chat and returns the conversation it starts."""
    before = set(Conversation.objects.values_list("pk", flat=True))
    page.get_by_test_id("composer").fill(text)
    page.get_by_test_id("composer").press("Enter")
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    (conversation,) = Conversation.objects.exclude(pk__in=before)
    return conversation


def _fill(page, *, system_prompt, temperature, max_new_tokens):
    page.get_by_test_id("system-prompt").fill(system_prompt)
    page.get_by_test_id("temperature").fill(temperature)
    page.get_by_test_id("max-new-tokens").fill(max_new_tokens)


def test_defaults_start_every_new_chat_and_a_saved_preset_applies_to_another(page, make_user):
    make_user(username="alice", password=PASSWORD)
    log_in(page, "alice", PASSWORD)

    # My defaults, saved from the settings panel of a new chat.
    page.get_by_test_id("settings-toggle").click()
    _fill(page, system_prompt="Answer like a pirate.", temperature="0.3", max_new_tokens="40")
    page.get_by_test_id("settings-save-defaults").click()
    expect(page.get_by_test_id("settings-status")).to_have_text(re.compile("defaults", re.I))
    defaults = ChatDefaults.objects.get(user__username="alice")
    assert (defaults.system_prompt, defaults.temperature, defaults.max_new_tokens) == ("Answer like a pirate.", 0.3, 40)

    # A new page's new chat shows them, and the chat it starts has them.
    page.goto("/")
    page.get_by_test_id("settings-toggle").click()
    expect(page.get_by_test_id("system-prompt")).to_have_value("Answer like a pirate.")
    expect(page.get_by_test_id("temperature")).to_have_value("0.3")
    expect(page.get_by_test_id("max-new-tokens")).to_have_value("40")
    page.keyboard.press("Escape")
    first = _send(page, "Hello there")
    assert (first.system_prompt, first.temperature, first.max_new_tokens) == ("Answer like a pirate.", 0.3, 40)

    # Settings of this chat, kept as a preset: the chat's own stay its own.
    page.get_by_test_id("settings-toggle").click()
    _fill(page, system_prompt="Be terse.", temperature="1.2", max_new_tokens="25")
    page.get_by_test_id("preset-save-as").click()
    page.get_by_test_id("preset-name").fill("Terse")
    page.get_by_test_id("preset-name-save").click()
    expect(page.get_by_test_id("settings-status")).to_have_text(re.compile("Terse"))
    preset = SettingsPreset.objects.get(owner__username="alice", name="Terse")
    assert (preset.system_prompt, preset.temperature, preset.max_new_tokens) == ("Be terse.", 1.2, 25)
    page.get_by_test_id("settings-cancel").click()
    first.refresh_from_db()
    assert first.system_prompt == "Answer like a pirate."

    # Another chat starts from the defaults; picking the preset and saving applies it to that chat alone.
    page.get_by_test_id("new-chat").click()
    second = _send(page, "Another question")
    assert second.system_prompt == "Answer like a pirate."
    page.get_by_test_id("settings-toggle").click()
    page.get_by_test_id("preset-picker").select_option(label="Terse")
    expect(page.get_by_test_id("system-prompt")).to_have_value("Be terse.")
    expect(page.get_by_test_id("temperature")).to_have_value("1.2")
    page.get_by_test_id("settings-save").click()
    page.wait_for_function(
        f"fetch('/api/conversations/{second.pk}/')"
        ".then(r => r.json()).then(d => d.conversation.system_prompt === 'Be terse.')"
    )
    second.refresh_from_db()
    assert (second.temperature, second.max_new_tokens) == (1.2, 25)

    # "Reset to my defaults" fills the panel with them again.
    page.get_by_test_id("settings-toggle").click()
    page.get_by_test_id("settings-reset-defaults").click()
    expect(page.get_by_test_id("system-prompt")).to_have_value("Answer like a pirate.")
    expect(page.get_by_test_id("max-new-tokens")).to_have_value("40")

    # Managing presets: rename, then delete.
    page.get_by_test_id("preset-picker").select_option(label="Terse")
    page.get_by_test_id("preset-rename").click()
    page.get_by_test_id("preset-name").fill("Short answers")
    page.get_by_test_id("preset-name-save").click()
    expect(page.get_by_test_id("preset-picker").locator("option", has_text="Short answers")).to_have_count(1)
    assert SettingsPreset.objects.get(pk=preset.pk).name == "Short answers"
    # ... storing other settings in it ...
    page.get_by_test_id("temperature").fill("0.9")
    page.get_by_test_id("preset-update").click()
    expect(page.get_by_test_id("settings-status")).to_have_text(re.compile("now holds these settings"))
    assert SettingsPreset.objects.get(pk=preset.pk).temperature == 0.9
    # ... and deleting it.
    page.get_by_test_id("preset-delete").click()
    page.get_by_test_id("preset-delete-confirm").click()
    expect(page.get_by_test_id("preset-picker").locator("option", has_text="Short answers")).to_have_count(0)
    assert not SettingsPreset.objects.filter(owner__username="alice").exists()

    # Forgetting my defaults: new chats start from the site's settings again.
    page.get_by_test_id("settings-forget-defaults").click()
    expect(page.get_by_test_id("settings-forget-defaults")).to_be_hidden()
    assert not ChatDefaults.objects.filter(user__username="alice").exists()
    page.get_by_test_id("settings-cancel").click()
    page.get_by_test_id("new-chat").click()
    page.get_by_test_id("settings-toggle").click()
    expect(page.get_by_test_id("system-prompt")).to_have_value("")
    expect(page.get_by_test_id("settings-forget-defaults")).to_be_hidden()
    assert not page.errors, page.errors


def test_a_preset_name_taken_twice_is_refused_with_a_clear_message(page, make_user):
    user = make_user(username="bob", password=PASSWORD)
    SettingsPreset.objects.create(owner=user, name="Coder", temperature=0.2, top_p=0.9, max_new_tokens=100)
    log_in(page, "bob", PASSWORD)
    page.get_by_test_id("settings-toggle").click()
    page.get_by_test_id("preset-save-as").click()
    page.get_by_test_id("preset-name").fill("coder")
    page.get_by_test_id("preset-name-save").click()
    expect(page.locator("#settings-error")).to_have_text(re.compile("already have a preset"))
    assert SettingsPreset.objects.filter(owner=user).count() == 1


def test_on_a_phone_the_settings_panel_with_its_presets_fits_the_screen(page, make_user):
    user = make_user(username="carol", password=PASSWORD)
    SettingsPreset.objects.create(
        owner=user, name="A preset with a rather long name for a phone", temperature=0.5, top_p=0.9, max_new_tokens=64
    )
    page.set_viewport_size(PHONE)
    log_in(page, "carol", PASSWORD)
    page.get_by_test_id("settings-toggle").click()
    page.get_by_test_id("preset-picker").select_option(index=1)
    page.get_by_test_id("preset-rename").click()
    for testid in ("preset-picker", "preset-name", "preset-name-save", "settings-save-defaults", "settings-save"):
        control = page.get_by_test_id(testid)
        control.scroll_into_view_if_needed()
        expect(control).to_be_visible()
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], testid
    scroll_width, inner_width = page.evaluate(_WIDTHS)
    assert scroll_width <= inner_width, f"{scroll_width} px wide on a {inner_width} px screen"


def test_preset_names_are_shown_as_text(page, make_user):
    user = make_user(username="dave", password=PASSWORD)
    names = [p for p in PAYLOADS if len(p) <= PRESET_NAME_MAX_CHARS][:12]
    for name in names:
        SettingsPreset.objects.create(owner=user, name=name, temperature=0.5, top_p=0.9, max_new_tokens=64)
    hits = []
    page.expose_function(HIT, lambda marker: hits.append(marker))
    log_in(page, "dave", PASSWORD)
    page.get_by_test_id("settings-toggle").click()
    options = page.get_by_test_id("preset-picker").locator("option")
    expect(options).to_have_count(len(names) + 1)
    assert sorted(options.all_inner_texts()[1:]) == sorted(names)
    for index in range(1, len(names) + 1):
        page.get_by_test_id("preset-picker").select_option(index=index)
        page.get_by_test_id("preset-delete").click()
        expect(page.locator("#preset-confirm-text")).to_contain_text(
            options.nth(index).inner_text(), use_inner_text=True
        )
    assert not hits and not page.dialogs and not page.errors, (hits, page.dialogs, page.errors)
