from django import forms

from moderation.categories import CATEGORY_CHOICES
from moderation.models import ReviewDecision, ReviewItem

NOTE_MAX_CHARS = 2000
BULK_MAX_ITEMS = 500


class ReviewDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=ReviewDecision.Decision.choices, widget=forms.RadioSelect)
    note = forms.CharField(required=False, max_length=NOTE_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3}))


class ItemIdsField(forms.Field):
    """Repeated `ids` values, as whole numbers."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"required": "Check at least one item.", "invalid": "Item ids are whole numbers."}

    def to_python(self, value) -> list[int]:
        if not value:
            return []
        try:
            return list(dict.fromkeys(int(v) for v in value))
        except (TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class ReviewBulkDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=ReviewDecision.Decision.choices)
    note = forms.CharField(required=False, max_length=NOTE_MAX_CHARS)
    ids = ItemIdsField()

    def clean_ids(self):
        ids = self.cleaned_data["ids"]
        if len(ids) > BULK_MAX_ITEMS:
            raise forms.ValidationError(f"Decide at most {BULK_MAX_ITEMS} items at once.")
        return ids


class ReviewFilterForm(forms.Form):
    """The queue's filters. No status means the open items; an empty or
    invalid value of any other filter leaves it out."""

    ANY = [("", "Any")]

    status = forms.ChoiceField(choices=[*ReviewItem.Status.choices, ("all", "All")], required=False)
    category = forms.ChoiceField(choices=ANY + CATEGORY_CHOICES, required=False)
    layer = forms.ChoiceField(choices=ANY, required=False)
    direction = forms.ChoiceField(choices=ANY + ReviewItem.Direction.choices, required=False)
    origin = forms.ChoiceField(choices=ANY + ReviewItem.Origin.choices, required=False)

    def __init__(self, *args, layers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["layer"].choices = self.ANY + [(layer, layer) for layer in layers]
        for name, field in self.fields.items():
            field.widget.attrs["data-testid"] = f"filter-{name}"

    def filters(self) -> dict[str, str | None]:
        """Keyword arguments for selectors.review_item_list."""
        self.is_valid()
        values = {name: self.cleaned_data.get(name) or None for name in self.fields}
        status = values["status"] or ReviewItem.Status.OPEN
        values["status"] = None if status == "all" else status
        return values

    def query(self) -> dict[str, str]:
        """The chosen filters as query parameters, for links that keep them."""
        self.is_valid()
        return {name: value for name in self.fields if (value := self.cleaned_data.get(name))}
