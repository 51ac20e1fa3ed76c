from django import forms

from .models import ReviewDecision, ReviewItem


class ReviewDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=ReviewDecision.Decision.choices, widget=forms.RadioSelect)
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class ReviewFilterForm(forms.Form):
    """The list's filter; no status given means the open items."""

    status = forms.ChoiceField(choices=[*ReviewItem.Status.choices, ("all", "All")], required=False)

    def selected_status(self) -> str | None:
        status = (self.cleaned_data.get("status") if self.is_valid() else "") or ReviewItem.Status.OPEN
        return None if status == "all" else status
