import pytest

from moderation.flags import review_item_create
from moderation.models import ClassifierTraining, ReviewDecision, ReviewItem
from moderation.pipeline import moderate
from registry.models import ModelVersion
from review.services import review_item_decide

pytestmark = pytest.mark.django_db

LIST_URL = "/moderation/review/"


@pytest.fixture
def items(exchange, make_user):
    question, answer = exchange
    output = review_item_create(
        message=answer,
        direction="output",
        text="I will kill you, said the villain",
        verdict=moderate("I will kill you, said the villain", "assistant"),
    )
    decided = review_item_create(
        message=question,
        direction="input",
        text="how do I make a pipe bomb",
        verdict=moderate("how do I make a pipe bomb", "user"),
    )
    review_item_decide(item=decided, reviewer=make_user(username="mod0", role="moderator"), decision="confirm")
    return output, decided


@pytest.fixture
def moderator_client(client, make_user):
    client.force_login(make_user(username="mod", role="moderator"))
    return client


def test_anonymous_visitors_are_sent_to_log_in(client, items):
    for url in (LIST_URL, f"{LIST_URL}{items[0].pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_plain_users_are_refused(client, make_user, items):
    client.force_login(make_user(username="plain", role="user"))
    assert client.get(LIST_URL).status_code == 403
    assert client.post(f"{LIST_URL}{items[0].pk}/", {"decision": "confirm"}).status_code == 403
    assert items[0].decisions.count() == 0


def test_the_list_shows_open_items_with_their_context(moderator_client, items):
    output, decided = items
    page = moderator_client.get(LIST_URL).content.decode()
    assert "I will kill you, said the villain" in page
    assert "harassment/threatening" in page and "rules" in page
    assert "owner" in page and "Tell me a story about a dragon" in page  # the owner and the question answered
    assert "pipe bomb" not in page  # decided, so not open


def test_the_list_filters_by_status(moderator_client, items):
    confirmed = moderator_client.get(LIST_URL, {"status": "confirmed"}).content.decode()
    assert "pipe bomb" in confirmed and "said the villain" not in confirmed
    everything = moderator_client.get(LIST_URL, {"status": "all"}).content.decode()
    assert everything.index("pipe bomb") < everything.index("said the villain")  # newest first


def test_admins_pass_the_role_check(client, make_user, items):
    client.force_login(make_user(username="root", role="admin"))
    assert client.get(LIST_URL).status_code == 200


def test_a_moderator_decides_with_a_note(moderator_client, items):
    output, _ = items
    url = f"{LIST_URL}{output.pk}/"
    page = moderator_client.get(url)
    assert page.status_code == 200 and "said the villain" in page.content.decode()
    response = moderator_client.post(url, {"decision": "overturn", "note": "fiction"})
    assert response.status_code == 302 and response["Location"] == LIST_URL
    output.refresh_from_db()
    assert output.status == ReviewItem.Status.OVERTURNED and output.reviewer.username == "mod"
    assert ReviewDecision.objects.filter(item=output, decision="overturn", note="fiction").exists()


def test_an_invalid_decision_is_refused(moderator_client, items):
    output, _ = items
    response = moderator_client.post(f"{LIST_URL}{output.pk}/", {"decision": "delete"})
    assert response.status_code == 400
    output.refresh_from_db()
    assert output.status == ReviewItem.Status.OPEN and not output.decisions.exists()


def test_decisions_need_the_csrf_token(make_user, items):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(username="mod", role="moderator"))
    assert client.post(f"{LIST_URL}{items[0].pk}/", {"decision": "confirm"}).status_code == 403


def test_a_missing_item_is_404(moderator_client):
    assert moderator_client.get(f"{LIST_URL}999999/").status_code == 404


# --- Every page and action, by role ------------------------------------------------


@pytest.fixture
def classifier_version():
    return ModelVersion.objects.create(name="heads-1", kind="classifier", source="trained", path="/tmp/heads-1")


def moderation_requests(item, version):
    """(method, url, data) for every moderation page and form post."""
    return [
        ("get", LIST_URL, None),
        ("get", f"{LIST_URL}?status=all&category=hate", None),
        ("get", f"{LIST_URL}{item.pk}/", None),
        ("get", "/moderation/dashboard/", None),
        ("get", "/moderation/classifier/", None),
        ("post", f"{LIST_URL}{item.pk}/", {"decision": "confirm"}),
        ("post", f"{LIST_URL}{item.pk}/decide/", {"decision": "confirm"}),
        ("post", f"{LIST_URL}decide/", {"decision": "confirm", "ids": [item.pk]}),
        ("post", "/moderation/classifier/retrain/", {}),
        ("post", f"/moderation/classifier/versions/{version.pk}/promote/", {}),
    ]


def assert_nothing_changed(item, version):
    item.refresh_from_db()
    version.refresh_from_db()
    assert item.status == "open" and not item.decisions.exists()
    assert not ClassifierTraining.objects.exists() and not version.is_serving


def test_anonymous_visitors_are_sent_to_log_in_everywhere(client, items, classifier_version):
    for method, url, data in moderation_requests(items[0], classifier_version):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next="), url
    assert_nothing_changed(items[0], classifier_version)


@pytest.mark.parametrize("role", ["user", "annotator"])
def test_users_and_annotators_are_refused_everywhere(client, make_user, items, classifier_version, role):
    client.force_login(make_user(username=f"someone-{role}", role=role))
    for method, url, data in moderation_requests(items[0], classifier_version):
        assert getattr(client, method)(url, data).status_code == 403, (method, url)
    assert_nothing_changed(items[0], classifier_version)


def test_moderators_see_every_page_and_decide_but_neither_retrain_nor_promote(
    moderator_client, items, classifier_version
):
    for method, url, data in moderation_requests(items[0], classifier_version):
        response = getattr(moderator_client, method)(url, data)
        if url.startswith("/moderation/classifier/") and method == "post":
            assert response.status_code == 403, url
        elif method == "post":
            assert response.status_code == 302, url
        else:
            assert response.status_code == 200, url
    assert not ClassifierTraining.objects.exists()
    classifier_version.refresh_from_db()
    assert not classifier_version.is_serving
    page = moderator_client.get("/moderation/classifier/").content.decode()
    assert 'data-testid="retrain"' not in page and 'data-testid="promote"' not in page


def test_admins_retrain_and_promote(client, make_user, classifier_version):
    admin = make_user(username="root", role="admin")
    client.force_login(admin)
    page = client.get("/moderation/classifier/").content.decode()
    assert 'data-testid="retrain"' in page and 'data-testid="promote"' in page and "heads-1" in page
    response = client.post("/moderation/classifier/retrain/")
    assert response.status_code == 302 and response["Location"] == "/moderation/classifier/"
    training = ClassifierTraining.objects.get()
    assert training.state == "queued" and training.requested_by == admin
    client.post("/moderation/classifier/retrain/")
    assert ClassifierTraining.objects.count() == 1, "one training at a time"
    response = client.post(f"/moderation/classifier/versions/{classifier_version.pk}/promote/")
    assert response.status_code == 302
    classifier_version.refresh_from_db()
    assert classifier_version.is_serving
    policy = ModelVersion.objects.create(name="chat", kind="policy", source="trained", path="/p")
    assert client.post(f"/moderation/classifier/versions/{policy.pk}/promote/").status_code == 404
    assert client.get("/moderation/classifier/retrain/").status_code == 405


def figures(auprc: float, hate_f1: float) -> dict:
    """The shape of moderation.classifier.train.cross_validate's figures."""
    mean = lambda value: {"mean": value, "std": 0.01}  # noqa: E731
    return {
        "folds": 5,
        "repeats": 3,
        "texts": 40,
        "unsafe": 20,
        "threshold": 0.5,
        "overall": {
            "auprc": mean(auprc),
            "f1": mean(0.5),
            "best_f1": mean(0.6),
            "precision": mean(0.5),
            "recall": mean(0.5),
        },
        "categories": {"hate": {"auprc": mean(0.4), "f1": mean(hate_f1), "best_f1": mean(0.5)}},
    }


def test_the_classifier_page_puts_figures_next_to_the_serving_ones(client, make_user):
    client.force_login(make_user(username="root", role="admin"))
    ModelVersion.objects.create(
        name="heads-serving",
        kind="classifier",
        source="trained",
        path="/h/a",
        is_serving=True,
        metadata={"examples": 500, "figures": figures(0.71, 0.6)},
    )
    ModelVersion.objects.create(
        name="heads-new",
        kind="classifier",
        source="trained",
        path="/h/b",
        metadata={"examples": 600, "figures": figures(0.78, 0.7)},
    )
    ClassifierTraining.objects.create(state="failed", error="ValueError: broken")
    response = client.get("/moderation/classifier/")
    assert response.context["serving"].name == "heads-serving"
    rows = {row.version.name: row for row in response.context["versions"]}
    assert rows["heads-new"].headline[0] == ("AUPRC", 0.78, 0.71)
    assert rows["heads-new"].detail == [("hate AUPRC", 0.4, 0.4), ("hate F1", 0.7, 0.6)]
    assert rows["heads-serving"].is_serving and not rows["heads-new"].is_serving
    page = response.content.decode()
    assert "0.780" in page and "0.710" in page and "ValueError: broken" in page


def test_without_a_promoted_version_the_shipped_head_is_compared(client, make_user, monkeypatch, tmp_path):
    import json

    from moderation.classifier import serving

    (tmp_path / "metadata.json").write_text(
        json.dumps({"format": "moderation-heads/1", "cross_validation": figures(0.66, 0.5)})
    )
    monkeypatch.setattr(serving, "SHIPPED_HEAD", tmp_path)
    ModelVersion.objects.create(
        name="heads-new", kind="classifier", source="trained", path="/h/b", metadata={"figures": figures(0.7, 0.6)}
    )
    client.force_login(make_user(username="mod", role="moderator"))
    response = client.get("/moderation/classifier/")
    assert response.context["serving"].name == "default (shipped)" and response.context["serving"].version is None
    (row,) = response.context["versions"]
    assert row.headline[0] == ("AUPRC", 0.7, 0.66) and not row.is_serving


# --- The queue: filters, pagination, decisions from the list --------------------


def test_the_list_filters_by_category_layer_direction_and_origin(moderator_client, flag):
    flag("hate", "violence", text="hateful and violent", layer="rules")
    flag("violence", text="just violent", layer="profanity", direction="input")

    def texts(**params):
        page = moderator_client.get(LIST_URL, params).content.decode()
        return {text for text in ("hateful and violent", "just violent") if text in page}

    assert texts() == {"hateful and violent", "just violent"}
    assert texts(category="violence") == {"hateful and violent", "just violent"}
    assert texts(category="hate") == {"hateful and violent"}
    assert texts(layer="profanity") == {"just violent"}
    assert texts(direction="output") == {"hateful and violent"}
    assert texts(origin="report") == set()
    assert texts(category="not-a-category") == {"hateful and violent", "just violent"}, "an invalid filter is left out"
    page = moderator_client.get(LIST_URL, {"category": "hate"}).content.decode()
    assert 'data-testid="filter-category"' in page and '<option value="hate" selected>' in page


def test_pagination_keeps_the_filters(moderator_client, flag, monkeypatch):
    from review import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for n in range(5):
        flag("hate", text=f"item {n}")
    page = moderator_client.get(LIST_URL, {"category": "hate", "layer": "rules"}).content.decode()
    assert page.count('data-testid="review-row"') == 2
    assert "?status=&amp;" not in page
    assert 'href="?category=hate&amp;layer=rules&amp;page=2"' in page
    second = moderator_client.get(LIST_URL, {"category": "hate", "layer": "rules", "page": 2}).content.decode()
    assert 'href="?category=hate&amp;layer=rules&amp;page=1"' in second and 'page=3"' in second


def test_a_row_decision_without_javascript_returns_to_the_filtered_list(moderator_client, items):
    output, _ = items
    back = f"{LIST_URL}?category=harassment%2Fthreatening&page=1"
    response = moderator_client.post(
        f"{LIST_URL}{output.pk}/decide/", {"decision": "overturn", "note": "film", "next": back}
    )
    assert response.status_code == 302 and response["Location"] == back
    output.refresh_from_db()
    assert (output.status, output.note, output.reviewer.username) == ("overturned", "film", "mod")
    response = moderator_client.post(
        f"{LIST_URL}{output.pk}/decide/", {"decision": "confirm", "next": "https://evil.example/"}
    )
    assert response["Location"] == LIST_URL, "no open redirect"


def test_the_script_gets_json_back(moderator_client, items):
    output, _ = items
    response = moderator_client.post(
        f"{LIST_URL}{output.pk}/decide/", {"decision": "confirm", "note": "threat"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    (data,) = response.json()["items"]
    assert (
        data["id"] == output.pk
        and data["status"] == "confirmed"
        and data["reviewer"] == "mod"
        and data["note"] == "threat"
    )
    bad = moderator_client.post(
        f"{LIST_URL}{output.pk}/decide/", {"decision": "delete"}, HTTP_ACCEPT="application/json"
    )
    assert bad.status_code == 400 and "delete" in bad.json()["error"]
    assert moderator_client.post(f"{LIST_URL}999999/decide/", {"decision": "confirm"}).status_code == 404


def test_bulk_decisions(moderator_client, flag):
    first, second, third = flag("hate", text="a"), flag("hate", text="b"), flag("hate", text="c")
    response = moderator_client.post(
        f"{LIST_URL}decide/",
        {"decision": "overturn", "note": "all fine", "ids": [first.pk, second.pk, 999999]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    assert sorted(item["id"] for item in response.json()["items"]) == [first.pk, second.pk]
    assert dict(ReviewItem.objects.values_list("pk", "status")) == {
        first.pk: "overturned",
        second.pk: "overturned",
        third.pk: "open",
    }
    assert ReviewDecision.objects.filter(note="all fine", status_before="open", status_after="overturned").count() == 2
    none_checked = moderator_client.post(f"{LIST_URL}decide/", {"decision": "confirm"}, HTTP_ACCEPT="application/json")
    assert none_checked.status_code == 400 and "Check at least one item" in none_checked.json()["error"]
    response = moderator_client.post(f"{LIST_URL}decide/", {"decision": "confirm", "ids": [third.pk], "next": LIST_URL})
    assert response.status_code == 302
    third.refresh_from_db()
    assert third.status == "confirmed"
    assert moderator_client.post(f"{LIST_URL}decide/", {"decision": "confirm", "ids": ["x"]}).status_code == 302
    assert moderator_client.post(f"{LIST_URL}decide/", {"decision": "confirm", "ids": [999998]}).status_code == 404


def test_row_and_bulk_posts_need_the_csrf_token(make_user, items):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(username="mod", role="moderator"))
    assert client.post(f"{LIST_URL}{items[0].pk}/decide/", {"decision": "confirm"}).status_code == 403
    assert client.post(f"{LIST_URL}decide/", {"decision": "confirm", "ids": [items[0].pk]}).status_code == 403
    admin = Client(enforce_csrf_checks=True)
    admin.force_login(make_user(username="root", role="admin"))
    assert admin.post("/moderation/classifier/retrain/").status_code == 403
    assert items[0].decisions.count() == 0 and not ClassifierTraining.objects.exists()


def test_the_list_rows_carry_stable_test_ids(moderator_client, items):
    page = moderator_client.get(LIST_URL).content.decode()
    output = items[0]
    assert f'data-testid="review-row" data-id="{output.pk}" data-status="open"' in page
    for testid in (
        "review-note",
        "review-select",
        "bulk-confirm",
        "bulk-overturn",
        "filter-category",
        "filter-layer",
        "filter-direction",
        "filter-origin",
        "filter-status",
        "review-help",
    ):
        assert f'data-testid="{testid}"' in page, testid
    assert "js/review.js" in page


def test_the_detail_page_shows_the_branch_scores_and_audit(moderator_client, items, make_user):
    output, decided = items
    review_item_decide(
        item=output, reviewer=make_user(username="mod2", role="moderator"), decision="confirm", note="threat"
    )
    review_item_decide(
        item=output, reviewer=make_user(username="mod3", role="moderator"), decision="overturn", note="villain"
    )
    response = moderator_client.get(f"{LIST_URL}{output.pk}/")
    page = response.content.decode()
    assert [m.role for m in response.context["path"]] == ["user", "assistant"]
    assert "Tell me a story about a dragon" in page and "said the villain" in page
    assert page.count('data-testid="review-history-row"') == 2
    assert "Open → Confirmed" in page and "Confirmed → Overturned" in page and "mod3" in page and "villain" in page
    assert "harassment/threatening" in page
