"""The feedback page's filters, read from the query string: a model
version, a reason, a rating and a date range. A value that does not parse
is an error shown on the page, never silently dropped."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from chat.models import FEEDBACK_REASONS, Feedback
from registry.models import ModelVersion

# Every reason either thumb offers, once ("Other" is on both).
REASONS = list(dict.fromkeys(reason for reasons in FEEDBACK_REASONS.values() for reason in reasons))


class FeedbackFilterForm(forms.Form):
    version = forms.ModelChoiceField(
        queryset=ModelVersion.objects.order_by("name"),
        required=False,
        empty_label="Any version",
        to_field_name="name",
        error_messages={"invalid_choice": "No model version has that name."},
    )
    rating = forms.TypedChoiceField(
        choices=[("", "Up or down"), *Feedback.Rating.choices],
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "The rating is 1 (thumbs up) or -1 (thumbs down)."},
    )
    reason = forms.ChoiceField(
        choices=[("", "Any reason"), *((reason, reason) for reason in REASONS)],
        required=False,
        error_messages={"invalid_choice": "%(value)s is not one of the reasons users pick from."},
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"]
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"]
    )

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The range's first day comes after its last.")
        return cleaned

    def filters(self) -> dict:
        """The keyword arguments of feedback_selectors.feedback_list. The
        days are the reader's (the time zone accounts.middleware activated):
        "until" takes in the whole of its day."""
        data = self.cleaned_data
        return {
            "version": data["version"],
            "rating": data["rating"],
            "reason": data["reason"] or None,
            "since": _day_start(data["since"]) if data["since"] else None,
            "before": _day_start(data["until"] + timedelta(days=1)) if data["until"] else None,
        }

    def query(self) -> dict:
        """The filters as they were sent, for the pager's links."""
        return {name: value for name, value in self.data.items() if name in self.fields and value}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
