import gzip
import hashlib
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from labeling.assignments import (
    candidate_add,
    ranking_submit,
    task_assign_next,
    task_create_demonstration,
    task_create_ranking,
)
from labeling.datasets import export_lines, snapshot_create, snapshot_rows
from labeling.imports import prompts_import
from labeling.models import (
    AnnotatorStats,
    Assignment,
    Candidate,
    CandidateGeneration,
    DatasetSnapshot,
    Demonstration,
    Guidelines,
    Prompt,
    PromptImport,
    Ranking,
    Task,
)
from labeling.selectors import annotator_progress, leaderboard
from registry.models import ModelVersion

from ..conftest import record_figures
from .conftest import hh_line

pytestmark = pytest.mark.django_db

ANNOTATOR_URLS = ["/labeling/", "/labeling/ranking/next/", "/labeling/demonstration/next/"]
ADMIN_URLS = [
    "/labeling/admin/prompts/",
    "/labeling/admin/prompts/import/",
    "/labeling/admin/snapshots/",
    "/labeling/admin/annotators/",
    "/labeling/admin/guidelines/",
    "/labeling/admin/flagged/",
]


@pytest.fixture
def annotator_client(client, annotators):
    annotator = annotators(1)[0]
    client.force_login(annotator)
    client.user = annotator
    return client


@pytest.fixture
def admin_client(client, make_user):
    admin = make_user(username="boss", role="admin")
    client.force_login(admin)
    client.user = admin
    return client


class TestPermissions:
    def test_anonymous_visitors_are_sent_to_log_in(self, client):
        for url in [*ANNOTATOR_URLS, *ADMIN_URLS, "/labeling/assignments/1/"]:
            response = client.get(url)
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next="), url
        response = client.post("/labeling/preview/", {"text": "hi"})
        assert response.status_code == 302

    def test_plain_users_are_refused(self, client, user):
        client.force_login(user)
        for url in [*ANNOTATOR_URLS, *ADMIN_URLS]:
            assert client.get(url).status_code == 403, url
        assert client.post("/labeling/preview/", {"text": "hi"}).status_code == 403

    def test_annotators_label_but_reach_no_admin_page(self, annotator_client):
        assert annotator_client.get("/labeling/").status_code == 200
        for url in ADMIN_URLS:
            assert annotator_client.get(url).status_code == 403, url
        assert (
            annotator_client.post("/labeling/admin/snapshots/create/", {"name": "x", "kind": "sft"}).status_code == 403
        )
        assert annotator_client.post("/labeling/admin/generations/", {"count": 1}).status_code == 403

    def test_annotators_cannot_open_the_moderation_queue(self, annotator_client):
        assert annotator_client.get("/moderation/review/").status_code == 403
        assert annotator_client.get("/moderation/dashboard/").status_code == 403

    def test_moderators_label_too_and_admins_see_everything(self, client, make_user):
        client.force_login(make_user(username="mod", role="moderator"))
        assert client.get("/labeling/").status_code == 200
        assert client.get(ADMIN_URLS[0]).status_code == 403
        client.force_login(make_user(username="root", role="admin"))
        for url in [*ANNOTATOR_URLS[:1], *ADMIN_URLS]:
            assert client.get(url).status_code == 200, url

    def test_the_nav_links_follow_the_role(self, client, make_user, annotators):
        client.force_login(make_user(username="plain"))
        page = client.get("/").content.decode()
        assert 'class="topnav"' in page and 'data-testid="nav-labeling"' not in page
        client.force_login(annotators(1)[0])
        page = client.get("/labeling/").content.decode()
        assert 'data-testid="nav-labeling"' in page and 'data-testid="nav-datasets"' not in page
        client.force_login(make_user(username="root", role="admin"))
        page = client.get("/labeling/").content.decode()
        assert 'data-testid="nav-datasets"' in page

    def test_someone_elses_assignment_is_not_found(self, client, annotators, make_ranking_task):
        first, second = annotators(2)
        make_ranking_task(k=3)
        assignment = task_assign_next(annotator=first)
        client.force_login(second)
        assert client.get(f"/labeling/assignments/{assignment.pk}/").status_code == 404
        groups = json.dumps([[c.candidate_id] for c in assignment.task.task_candidates.all()])
        response = client.post(f"/labeling/assignments/{assignment.pk}/ranking/", {"groups": groups})
        assert response.status_code == 404
        assert not Ranking.objects.exists()


class TestRankingPages:
    def test_next_leases_a_task_and_the_page_shows_it(self, annotator_client, make_prompt, make_ranking_task):
        prompt = make_prompt("What is the capital of France?")
        task, candidates = make_ranking_task(k=4, prompt=prompt)
        response = annotator_client.get("/labeling/ranking/next/")
        assignment = Assignment.objects.get(annotator=annotator_client.user)
        assert response.status_code == 302 and response["Location"] == f"/labeling/assignments/{assignment.pk}/"
        page = annotator_client.get(response["Location"])
        html = page.content.decode()
        assert page.status_code == 200
        assert html.count('data-testid="lab-candidate"') == 4
        assert "What is the capital of France?" in html
        assert 'data-testid="lab-lease"' in html and 'data-testid="lab-keys"' in html
        assert all(c.text in html for c in candidates)
        # The order on screen is the assignment's own, and stays on reload.
        shown = [c.pk for c in page.context["candidates"]]
        assert sorted(shown) == sorted(c.pk for c in candidates)
        assert [c.pk for c in annotator_client.get(response["Location"]).context["candidates"]] == shown
        # Asking again gives the same lease, not a second one.
        assert annotator_client.get("/labeling/ranking/next/")["Location"] == response["Location"]
        assert Assignment.objects.filter(annotator=annotator_client.user).count() == 1

    def test_long_answers_start_folded_and_markdown_is_rendered(self, annotator_client, make_prompt):
        prompt = make_prompt()
        long, short = (
            candidate_add(prompt=prompt, text="word " * 200, origin=Candidate.Origin.MODEL),
            candidate_add(prompt=prompt, text="**short** <b>x</b>", origin=Candidate.Origin.MODEL),
        )
        task_create_ranking(prompt=prompt, candidates=[long, short], required_annotations=1)
        html = annotator_client.get(annotator_client.get("/labeling/ranking/next/")["Location"]).content.decode()
        assert html.count("lab-long lab-collapsed") == 1 and "Show all (e)" in html
        assert "<strong>short</strong> &lt;b&gt;x&lt;/b&gt;" in html

    def test_a_ranking_with_ties_flags_and_a_better_answer_is_stored(self, annotator_client, make_ranking_task):
        task, (a, b, c) = make_ranking_task(k=3)
        assignment = task_assign_next(annotator=annotator_client.user)
        response = annotator_client.post(
            f"/labeling/assignments/{assignment.pk}/ranking/",
            {
                "groups": json.dumps([[c.pk], [a.pk, b.pk]]),
                "flags": json.dumps({str(a.pk): ["harmful", "spam"]}),
                "none_acceptable": "on",
                "better_answer": "A **much** better answer.",
            },
        )
        assert response.status_code == 302 and response["Location"] == "/labeling/ranking/next/"
        ranking = Ranking.objects.get(assignment=assignment)
        assert ranking.groups == [[c.pk], sorted([a.pk, b.pk])]
        assert ranking.flags == {str(a.pk): ["harmful", "spam"]} and ranking.none_acceptable
        assert Demonstration.objects.get(assignment=assignment).content == "A **much** better answer."
        assignment.refresh_from_db()
        assert assignment.state == Assignment.State.SUBMITTED
        # Nothing left for this annotator: the next page sends them home.
        follow = annotator_client.get(response["Location"])
        assert follow["Location"] == "/labeling/"

    def test_a_ranking_that_leaves_out_a_candidate_is_refused(self, annotator_client, make_ranking_task):
        task, (a, b, c) = make_ranking_task(k=3)
        assignment = task_assign_next(annotator=annotator_client.user)
        url = f"/labeling/assignments/{assignment.pk}/ranking/"
        response = annotator_client.post(url, {"groups": json.dumps([[a.pk], [b.pk]])}, follow=True)
        assert "every candidate of the task exactly once" in response.content.decode()
        response = annotator_client.post(url, {"groups": "not json"})
        assert response["Location"] == f"/labeling/assignments/{assignment.pk}/"
        assert not Ranking.objects.exists()

    def test_skipping_needs_a_reason_and_frees_the_task(self, annotator_client, make_ranking_task):
        make_ranking_task(k=2)
        assignment = task_assign_next(annotator=annotator_client.user)
        url = f"/labeling/assignments/{assignment.pk}/skip/"
        annotator_client.post(url, {"reason": "   "})
        assignment.refresh_from_db()
        assert assignment.state == Assignment.State.LEASED
        response = annotator_client.post(url, {"reason": "Needs a lawyer"})
        assert response["Location"] == "/labeling/ranking/next/"
        assignment.refresh_from_db()
        assert (assignment.state, assignment.skip_reason) == (Assignment.State.SKIPPED, "Needs a lawyer")

    def test_an_expired_lease_taken_by_someone_else_refuses_the_late_work(self, client, annotators, make_ranking_task):
        late, other = annotators(2)
        task, candidates = make_ranking_task(k=2, required=1)
        assignment = task_assign_next(annotator=late)
        Assignment.objects.filter(pk=assignment.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        assert task_assign_next(annotator=other).task == task  # the place went back to the pool
        client.force_login(late)
        response = client.post(
            f"/labeling/assignments/{assignment.pk}/ranking/",
            {"groups": json.dumps([[c.pk] for c in candidates])},
            follow=True,
        )
        assert "someone else has taken it" in response.content.decode()
        assert not Ranking.objects.exists()

    def test_an_expired_lease_nobody_took_still_takes_the_work(self, annotator_client, make_ranking_task):
        task, candidates = make_ranking_task(k=2, required=1)
        assignment = task_assign_next(annotator=annotator_client.user)
        Assignment.objects.filter(pk=assignment.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        page = annotator_client.get(f"/labeling/assignments/{assignment.pk}/")
        assert page.context["lease"]["seconds_left"] == 0
        annotator_client.post(
            f"/labeling/assignments/{assignment.pk}/ranking/", {"groups": json.dumps([[c.pk] for c in candidates])}
        )
        assert Ranking.objects.filter(assignment=assignment).exists()


class TestDemonstrationPages:
    def test_the_page_shows_context_and_guidelines_and_takes_the_answer(
        self, annotator_client, admin_client, make_user
    ):
        messages = [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a prime."},
            {"role": "assistant", "content": "7."},
            {"role": "user", "content": "Another one?"},
        ]
        prompt = Prompt.objects.create(
            messages=messages, source=Prompt.Source.IMPORT, content_hash=hashlib.sha256(b"p").hexdigest()
        )
        task_create_demonstration(prompt=prompt, required_annotations=1)
        Guidelines.objects.create(kind="demonstration", text="Always **cite** sources.")
        annotator = make_user(username="writer", role="annotator")
        admin_client.force_login(annotator)
        client = admin_client
        page = client.get(client.get("/labeling/demonstration/next/")["Location"])
        html = page.content.decode()
        assert html.count('data-testid="lab-turn"') == 4 and "Another one?" in html and "Be brief." in html
        assert "Always <strong>cite</strong> sources." in html
        assignment = Assignment.objects.get(annotator=annotator)
        response = client.post(f"/labeling/assignments/{assignment.pk}/demonstration/", {"content": "11 is prime."})
        assert response["Location"] == "/labeling/demonstration/next/"
        demonstration = Demonstration.objects.get(assignment=assignment)
        assert demonstration.content == "11 is prime." and demonstration.author == annotator
        assert Candidate.objects.filter(prompt=prompt, origin=Candidate.Origin.DEMONSTRATION).count() == 1

    def test_form_line_ends_are_stored_as_unix_ones(self, annotator_client, make_prompt):
        task_create_demonstration(prompt=make_prompt(), required_annotations=1)
        assignment = task_assign_next(annotator=annotator_client.user, kind="demonstration")
        annotator_client.post(f"/labeling/assignments/{assignment.pk}/demonstration/", {"content": "a\r\n\r\nb\rc"})
        assert Demonstration.objects.get().content == "a\n\nb\nc"

    def test_an_empty_answer_is_refused(self, annotator_client, make_prompt):
        task_create_demonstration(prompt=make_prompt(), required_annotations=1)
        assignment = task_assign_next(annotator=annotator_client.user, kind="demonstration")
        annotator_client.post(f"/labeling/assignments/{assignment.pk}/demonstration/", {"content": "  \n "})
        assert not Demonstration.objects.exists()

    def test_the_preview_is_sanitized_markdown(self, annotator_client):
        response = annotator_client.post(
            "/labeling/preview/", {"text": "# Hi\n\n**bold** <script>alert(1)</script> [x](javascript:alert(1))"}
        )
        html = response.json()["html"]
        assert "<h1>Hi</h1>" in html and "<strong>bold</strong>" in html
        assert "<script" not in html and "&lt;script&gt;" in html  # shown as text, never run
        assert 'href="javascript' not in html
        assert annotator_client.get("/labeling/preview/").status_code == 405


class TestHomePage:
    def test_progress_counts_today_and_the_streak(self, annotators, make_ranking_task):
        annotator = annotators(1)[0]
        now = timezone.now()
        for days_ago in (0, 1, 2, 4):
            task, _ = make_ranking_task(k=2, required=1)
            Assignment.objects.create(
                task=task,
                annotator=annotator,
                state=Assignment.State.SUBMITTED,
                lease_expires_at=now,
                finished_at=now - timedelta(days=days_ago),
            )
        progress = annotator_progress(annotator=annotator)
        assert progress == {"done_today": 1, "total": 4, "streak": 3}
        Assignment.objects.filter(finished_at__date=now.date()).delete()
        # Today is not over: yesterday's streak still stands.
        assert annotator_progress(annotator=annotator)["streak"] == 2

    def test_the_leaderboard_rewards_agreement_over_volume(self, annotators, make_ranking_task):
        careful, sloppy, newcomer = annotators(3)
        now = timezone.now()
        for person, count in ((careful, 5), (sloppy, 20), (newcomer, 3)):
            for _ in range(count):
                task, _ = make_ranking_task(k=2, required=1)
                Assignment.objects.create(
                    task=task, annotator=person, state=Assignment.State.SUBMITTED, lease_expires_at=now, finished_at=now
                )
        AnnotatorStats.objects.create(annotator=careful, agreement=0.95, weight=0.9, num_rankings=5)
        AnnotatorStats.objects.create(annotator=sloppy, agreement=0.52, weight=0.05, num_rankings=20)
        board = leaderboard()
        assert [entry["username"] for entry in board] == [careful.username, newcomer.username, sloppy.username]
        # 5 x 0.9, 3 x the prior weight 0.5, 20 x 0.05
        assert [entry["points"] for entry in board] == [4.5, 1.5, 1.0]

    def test_the_home_page_shows_open_tasks_and_progress(
        self, annotator_client, annotators, make_ranking_task, make_prompt
    ):
        make_ranking_task(k=2)
        make_ranking_task(k=3)
        make_ranking_task(k=3)
        task_assign_next(annotator=annotators(1)[0])  # one task has a place taken, the others none
        html = annotator_client.get("/labeling/").content.decode()
        assert 'data-testid="lab-open-ranking">3<' in html
        assert 'data-testid="lab-done-today">0<' in html and 'data-testid="lab-leaderboard"' in html


def test_annotators_add_prompts_to_the_pool(annotator_client):
    annotator_client.post("/labeling/prompts/", {"text": "How do vaccines work?"})
    prompt = Prompt.objects.get()
    assert (prompt.source, prompt.author, prompt.messages) == (
        Prompt.Source.ANNOTATOR,
        annotator_client.user,
        [{"role": "user", "content": "How do vaccines work?"}],
    )
    response = annotator_client.post("/labeling/prompts/", {"text": "how do VACCINES work? "}, follow=True)
    assert "already in the pool" in response.content.decode() and Prompt.objects.count() == 1


class TestPromptImportUpload:
    def _upload(self, client, content: bytes, fmt: str = "jsonl", name: str = "prompts.jsonl"):
        return client.post(
            "/labeling/admin/prompts/import/", {"file": SimpleUploadedFile(name, content), "format": fmt}
        )

    def test_a_jsonl_file_is_imported(self, admin_client):
        lines = [json.dumps({"prompt": "What is 2+2?"}), json.dumps({"messages": [{"role": "user", "content": "Hi"}]})]
        response = self._upload(admin_client, ("\n".join(lines) + "\n").encode())
        assert response.status_code == 302
        assert Prompt.objects.count() == 2
        record = PromptImport.objects.get()
        assert record.created_by == admin_client.user and record.file_name == "prompts.jsonl"

    def test_a_gzipped_hh_file_brings_ranked_tasks(self, admin_client):
        data = gzip.compress((hh_line([("user", "q1")], "good", "bad") + "\n").encode())
        response = self._upload(admin_client, data, fmt="hh", name="hh.jsonl.gz")
        assert response.status_code == 302
        assert Task.objects.filter(kind="ranking", required_annotations=0).count() == 1

    def test_a_bad_line_is_named_and_nothing_is_imported(self, admin_client):
        content = (json.dumps({"prompt": "fine"}) + "\n" + '{"prompt": "broken\n').encode()
        response = self._upload(admin_client, content)
        assert response.status_code == 400
        assert "prompts.jsonl, line 2: invalid JSON" in response.content.decode()
        assert not Prompt.objects.exists() and not PromptImport.objects.exists()

    @pytest.mark.parametrize(
        "content, message",
        [
            (b'{"prompt": "a"}\n\xff\xfe{"prompt": "b"}\n', "Line 2 is not UTF-8 text."),
            (b'{"prompt": "a"}\n{"prompt": "b\x00"}\n', "Line 2 holds a NUL byte"),
            (b"\n\n", "The file is empty."),
            (b"\x1f\x8b\x08garbage", "cannot be unpacked"),
        ],
    )
    def test_files_that_are_not_prompt_text_are_refused(self, admin_client, content, message):
        response = self._upload(admin_client, content)
        assert response.status_code == 400 and message in response.content.decode()
        assert not Prompt.objects.exists()

    def test_the_size_limit_holds_also_after_gunzip(self, admin_client, settings):
        settings.LABELING_IMPORT_MAX_MB = 1
        big = (json.dumps({"prompt": "x" * 1000}) + "\n").encode() * 1100
        response = self._upload(admin_client, big)
        assert response.status_code == 400 and "larger than 1 MB" in response.content.decode()
        response = self._upload(admin_client, gzip.compress(big), name="big.jsonl.gz")
        assert response.status_code == 400 and "unpacks to more than 1 MB" in response.content.decode()
        assert not Prompt.objects.exists()


class TestPoolAndGenerationPages:
    def test_the_pool_lists_sources_and_counts(self, admin_client, make_prompt, make_ranking_task):
        make_ranking_task(k=3, prompt=make_prompt("Ranked one"))
        make_prompt("Written by someone", source=Prompt.Source.ANNOTATOR)
        page = admin_client.get("/labeling/admin/prompts/")
        sources = {row["source"]: row for row in page.context["sources"]}
        assert (sources["import"]["prompts"], sources["import"]["ranked"]) == (1, 1)
        assert (sources["annotator"]["prompts"], sources["annotator"]["ranked"]) == (1, 0)
        html = page.content.decode()
        assert "Ranked one" in html and "Written by someone" in html
        only = admin_client.get("/labeling/admin/prompts/?source=annotator").content.decode()
        assert "Written by someone" in only and "Ranked one" not in only

    def test_generation_is_requested_for_checked_or_unranked_prompts(
        self, admin_client, make_prompt, make_ranking_task
    ):
        version = ModelVersion.objects.create(name="tiny", kind="policy", source="imported", path="/nowhere")
        ranked = make_prompt("already ranked")
        make_ranking_task(k=2, prompt=ranked)
        fresh = [make_prompt(f"fresh {i}") for i in range(3)]
        form = {"model_versions": [version.pk], "k": 4, "max_new_tokens": 32, "required_annotations": 2}
        admin_client.post("/labeling/admin/generations/", {**form, "count": 2})
        requested = list(CandidateGeneration.objects.order_by("id"))
        assert [g.prompt for g in requested] == fresh[:2]
        assert all((g.k, g.required_annotations, g.max_new_tokens, g.state) == (4, 2, 32, "queued") for g in requested)
        assert list(requested[0].model_versions.all()) == [version]
        # Queued prompts are not chosen twice.
        admin_client.post("/labeling/admin/generations/", {**form, "count": 5})
        assert CandidateGeneration.objects.filter(prompt=fresh[2]).count() == 1
        assert CandidateGeneration.objects.count() == 3
        admin_client.post("/labeling/admin/generations/", {**form, "prompts": [ranked.pk]})
        assert CandidateGeneration.objects.filter(prompt=ranked).count() == 1
        response = admin_client.post("/labeling/admin/generations/", {**form, "k": 10, "count": 1}, follow=True)
        assert "Ensure this value is less than or equal to 9" in response.content.decode()

    def test_demonstration_tasks_are_made_once_per_prompt(self, admin_client, make_prompt):
        prompts = [make_prompt() for _ in range(2)]
        form = {"prompts": [p.pk for p in prompts], "required_annotations": 1}
        admin_client.post("/labeling/admin/demonstration-tasks/", form)
        admin_client.post("/labeling/admin/demonstration-tasks/", form)
        assert Task.objects.filter(kind="demonstration").count() == 2
        assert set(Task.objects.values_list("required_annotations", flat=True)) == {1}

    def test_admins_edit_the_guidelines(self, admin_client):
        page = admin_client.get("/labeling/admin/guidelines/?kind=ranking")
        assert "Order the answers best first" in page.content.decode()
        admin_client.post("/labeling/admin/guidelines/", {"kind": "ranking", "text": "Prefer *short* answers."})
        assert Guidelines.objects.get(kind="ranking").text == "Prefer *short* answers."
        assert admin_client.get("/labeling/admin/guidelines/?kind=nope").status_code == 404


class TestSnapshotPages:
    def test_a_snapshot_is_made_from_filters_and_downloaded_in_each_format(self, admin_client):
        prompts_import(
            lines=[hh_line([("user", "q1")], "good", "bad"), hh_line([("user", "q2")], "yes", "no")],
            fmt="hh",
            file_name="hh.jsonl",
        )
        response = admin_client.post(
            "/labeling/admin/snapshots/create/",
            {
                "name": "prefs",
                "kind": "preference",
                "sources": ["import"],
                "created_from": timezone.now().date().isoformat(),
            },
        )
        assert response.status_code == 302
        snapshot = DatasetSnapshot.objects.get()
        assert snapshot.filters["sources"] == ["import"] and snapshot.item_count == 2
        listing = admin_client.get("/labeling/admin/snapshots/").content.decode()
        assert snapshot.content_hash in listing
        assert f"/labeling/admin/snapshots/{snapshot.pk}/preference.jsonl" in listing
        assert f"/labeling/admin/snapshots/{snapshot.pk}/sft-messages.jsonl" not in listing
        download = admin_client.get(f"/labeling/admin/snapshots/{snapshot.pk}/preference.jsonl")
        assert (
            download.streaming and download["Content-Disposition"] == 'attachment; filename="prefs-v1-preference.jsonl"'
        )
        body = b"".join(download.streaming_content).decode()
        expected = "".join(export_lines(kind="preference", rows=snapshot_rows(snapshot=snapshot), fmt="preference"))
        assert body == expected and len(body.splitlines()) == 2
        assert json.loads(body.splitlines()[0])["chosen"] == [{"role": "assistant", "content": "good"}]
        assert admin_client.get(f"/labeling/admin/snapshots/{snapshot.pk}/sft-messages.jsonl").status_code == 404

    def test_bad_filters_and_empty_selections_are_explained(self, admin_client):
        response = admin_client.post(
            "/labeling/admin/snapshots/create/", {"name": "x", "kind": "sft", "min_agreement": "0.5"}
        )
        assert response.status_code == 400 and "Agreement filters preference datasets only" in response.content.decode()
        response = admin_client.post("/labeling/admin/snapshots/create/", {"name": "x", "kind": "sft"})
        assert response.status_code == 400 and "No items match these filters." in response.content.decode()
        assert not DatasetSnapshot.objects.exists()

    def test_a_tampered_file_is_not_downloaded(self, admin_client, data_dir):
        prompts_import(lines=[hh_line([("user", "q1")], "good", "bad")], fmt="hh", file_name="hh.jsonl")
        snapshot = snapshot_create(name="prefs", kind="preference")
        path = data_dir / snapshot.path
        path.chmod(0o644)
        path.write_text("{}\n")
        response = admin_client.get(f"/labeling/admin/snapshots/{snapshot.pk}/oasst.jsonl", follow=True)
        assert "no longer has its recorded hash" in response.content.decode()


def test_admins_see_what_annotators_flagged(admin_client, annotators, make_ranking_task):
    first, second = annotators(2)
    flagged, (a, b) = make_ranking_task(k=2, required=2)
    for person in (first, second):
        ranking_submit(
            assignment=task_assign_next(annotator=person),
            groups=[[a.pk], [b.pk]],
            flags={str(b.pk): ["harmful"]},
            none_acceptable=True,
        )
    clean, (c, d) = make_ranking_task(k=2, required=1)
    ranking_submit(assignment=task_assign_next(annotator=first), groups=[[c.pk], [d.pk]])
    page = admin_client.get("/labeling/admin/flagged/")
    assert [item["task"] for item in page.context["items"]] == [flagged]
    html = page.content.decode()
    assert f'data-task="{flagged.pk}"' in html and '<span class="tag">harmful</span>' in html
    assert 'data-testid="lab-none-acceptable"' in html


def test_admins_see_annotators_with_low_agreement(admin_client, annotators, make_ranking_task, settings):
    settings.LABELING_LOW_AGREEMENT_MIN_RANKINGS = 1
    good, bad = annotators(2)
    AnnotatorStats.objects.create(annotator=good, agreement=0.9, weight=0.8, num_rankings=10)
    AnnotatorStats.objects.create(annotator=bad, agreement=0.45, weight=0.05, num_rankings=10)
    page = admin_client.get("/labeling/admin/annotators/")
    assert [entry["annotator"] for entry in page.context["low"]] == [bad]
    assert f'data-username="{bad.username}"' in page.content.decode()


HH_FILE = Path(__file__).resolve().parents[3] / "shared" / "data" / "preferences_hh_harmless_train.jsonl.gz"


@pytest.mark.skipif(not HH_FILE.exists(), reason="the shared HH-RLHF sample is not here")
def test_the_hh_sample_uploads_and_downloads_through_the_admin_pages(admin_client):
    """The shared HH-RLHF file through the pages: its prompts, a preference
    snapshot of exactly its pairs, and the download; the throughput of each
    step is written to bench/results (no assertion on time)."""
    started = time.perf_counter()
    response = admin_client.post(
        "/labeling/admin/prompts/import/",
        {"file": SimpleUploadedFile(HH_FILE.name, HH_FILE.read_bytes()), "format": "hh"},
    )
    uploaded = time.perf_counter() - started
    assert response.status_code == 302
    record = PromptImport.objects.get()
    assert record.counts["lines"] == 1389 and record.counts["tasks_created"] > 1300
    started = time.perf_counter()
    admin_client.post(
        "/labeling/admin/snapshots/create/", {"name": "hh-harmless", "kind": "preference", "import_id": record.pk}
    )
    frozen = time.perf_counter() - started
    snapshot = DatasetSnapshot.objects.get()
    assert snapshot.item_count == record.counts["tasks_created"]
    started = time.perf_counter()
    download = admin_client.get(f"/labeling/admin/snapshots/{snapshot.pk}/preference.jsonl")
    pairs = b"".join(download.streaming_content).decode().splitlines()
    downloaded = time.perf_counter() - started
    assert len(pairs) == snapshot.item_count  # one pair per HH line
    assert {"prompt", "chosen", "rejected", "margin", "group_id"} <= set(json.loads(pairs[0]))
    figures = {
        "file": HH_FILE.name,
        "lines": record.counts["lines"],
        "items": record.counts["items"],
        "upload_import_seconds": round(uploaded, 3),
        "upload_items_per_second": round(record.counts["items"] / uploaded, 1),
        "snapshot_seconds": round(frozen, 3),
        "snapshot_items_per_second": round(snapshot.item_count / frozen, 1),
        "download_seconds": round(downloaded, 3),
        "download_pairs_per_second": round(len(pairs) / downloaded, 1),
        "note": "Django test client on a shared 2-core machine, PostgreSQL; noisy.",
    }
    record_figures("labeling_upload_hh", figures)


def test_the_prompt_item_page_marks_the_cut_off_candidates(admin_client):
    messages = [{"role": "user", "content": "Name a planet."}]
    prompt = Prompt.objects.create(messages=messages, source=Prompt.Source.IMPORT, content_hash="item-cut")
    cut = candidate_add(prompt=prompt, text="Jupiter, which", origin=Candidate.Origin.MODEL, finish_reason="length")
    whole = candidate_add(prompt=prompt, text="Jupiter.", origin=Candidate.Origin.MODEL, finish_reason="stop")

    page = admin_client.get(f"/labeling/admin/prompts/{prompt.pk}/").content.decode()

    rows = {pk: page.split(f'data-id="{pk}"', 1)[1].split("</tr>", 1)[0] for pk in (cut.pk, whole.pk)}
    assert "Cut off at the length limit" in rows[cut.pk]
    assert "Cut off" not in rows[whole.pk]
