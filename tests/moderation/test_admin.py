import pytest

from moderation.flags import review_item_create
from moderation.models import ModerationRule, ReviewItem, TemplateResponse
from moderation.pipeline import moderate
from review.services import review_item_decide

pytestmark = pytest.mark.django_db


def test_the_admin_pages_render(client, make_user, exchange):
    admin = make_user(username="root", role="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    ModerationRule.objects.create(category="hate", kind="words", pattern="zorblax\nquux")
    TemplateResponse.objects.create(category="hate", language="en", text="No.")
    item = review_item_create(
        message=exchange[1],
        direction="output",
        text="I will kill you",
        verdict=moderate("I will kill you", "assistant"),
    )
    review_item_decide(item=item, reviewer=admin, decision="confirm", note="clear threat")
    for url in (
        "/admin/moderation/moderationrule/",
        "/admin/moderation/moderationrule/add/",
        "/admin/moderation/templateresponse/",
        "/admin/moderation/reviewitem/",
        f"/admin/moderation/reviewitem/{item.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    assert "clear threat" in client.get(f"/admin/moderation/reviewitem/{item.pk}/change/").content.decode()
    assert ReviewItem.objects.count() == 1
