from allauth.account import forms as allauth_forms
from django import forms
from django.contrib.auth import password_validation

# Django's validators each explain themselves in a sentence; the sign-up page
# says the same in a few words on one line. Validators not named here keep
# their own sentence.
_SHORT_RULES = {
    "MinimumLengthValidator": lambda validator: f"at least {validator.min_length} characters",
    "UserAttributeSimilarityValidator": lambda validator: "not like your username or email",
    "CommonPasswordValidator": lambda validator: "not a common password",
    "NumericPasswordValidator": lambda validator: "not only digits",
}


def password_rules_hint() -> str:
    """AUTH_PASSWORD_VALIDATORS as one short line ("At least 8 characters,
    not a common password, ..."), the length first, read from the configured
    validators so the hint cannot drift from what is enforced."""
    order = list(_SHORT_RULES)
    validators = sorted(
        password_validation.get_default_password_validators(),
        key=lambda validator: (
            order.index(type(validator).__name__) if type(validator).__name__ in order else len(order)
        ),
    )
    rules = []
    for validator in validators:
        short = _SHORT_RULES.get(type(validator).__name__)
        rules.append(short(validator) if short else validator.get_help_text().rstrip("."))
    hint = ", ".join(rules)
    return hint[:1].upper() + hint[1:] + "." if hint else ""


class LoginForm(allauth_forms.LoginForm):
    """allauth's sign-in form, its account field posted as `username` as the
    login page always has (password managers, scripts and bookmarks that
    fill it keep working); it takes an account name or an email address."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Username or email"
        self.fields["login"].widget.attrs.update(autocomplete="username", placeholder="")
        self.fields["password"].help_text = ""
        self.fields["password"].widget.attrs.pop("placeholder", None)

    def add_prefix(self, field_name):
        return "username" if field_name == "login" else super().add_prefix(field_name)


class SignupForm(allauth_forms.SignupForm):
    """allauth's sign-up form, kinder on a second try.

    When the form comes back with an error that is not about the passwords
    (a username already taken, an invalid email), the two password fields
    come back filled, as Google's and GitHub's sign-ups never make anyone
    type a good password again over a taken username. When a password is the
    problem (too weak, the two differ) both come back empty, as everywhere:
    they have to be typed again anyway. The page that carries them is sent
    with Cache-Control: no-store (accounts.views.SignupView), so no cache
    keeps it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in (("username", "Username"), ("email", "Email"), ("password2", "Password confirmation")):
            self.fields[name].label = label
        for field in self.fields.values():
            field.widget.attrs.pop("placeholder", None)
        self.fields["password1"].help_text = password_rules_hint()
        self.fields["password2"].help_text = ""

    def full_clean(self):
        super().full_clean()
        keep = self.is_bound and not (self.has_error("password1") or self.has_error("password2"))
        for name in ("password1", "password2"):
            self.fields[name].widget.render_value = keep


class PasswordConfirmForm(forms.Form):
    """The account's password, asked again before something cannot be undone.
    An account made through single sign-on has no password here: it types
    its username instead (in the same field), as GitHub asks."""

    password = forms.CharField(
        label="Your password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.has_usable_password():
            self.fields["password"] = forms.CharField(
                label=f"Type your username, {user.get_username()}, to confirm",
                widget=forms.TextInput(attrs={"autocomplete": "off"}),
            )

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.has_usable_password():
            if password != self.user.get_username():
                raise forms.ValidationError("That is not your username.")
        elif not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password
