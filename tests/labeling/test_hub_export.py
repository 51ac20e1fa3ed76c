"""Snapshots as Hugging Face datasets: the folder `datasets.load_dataset`
reads (rows equal to the JSONL export's, in TRL's formats, which a TRL
trainer trains on), its card, byte-identical rebuilds, the push's code path
up to huggingface_hub, the command and the Datasets page's zip download.

The real upload to the Hub is not exercised: no network here (the real
client is, up to where offline mode stops its request)."""

import io
import json
import math
import zipfile
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from core.errors import UserError
from labeling.assignments import demonstration_submit, ranking_submit, task_assign_next, task_create_demonstration
from labeling.datasets import snapshot_create, snapshot_export
from labeling.hub_export import dataset_folder_write, dataset_push, folder_name
from labeling.models import DatasetSnapshot, Prompt
from labeling.text import messages_hash
from registry.models import ModelVersion

from ..helpers.chat_feedback import rated_answer

pytestmark = pytest.mark.django_db


def _jsonl(snapshot, fmt) -> list[dict]:
    stream = io.StringIO()
    snapshot_export(snapshot=snapshot, fmt=fmt, output=stream)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _load(folder: Path, cache: Path):
    from datasets import load_dataset

    return load_dataset(str(folder), cache_dir=str(cache))


def _front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n", 2)[1])


@pytest.fixture
def prefs(annotators, make_ranking_task) -> DatasetSnapshot:
    """Two K=4 tasks ranked [[a], [b, c], [d]] by three annotators: five
    pairs each."""
    people = annotators(3)
    for _ in range(2):
        task, (a, b, c, d) = make_ranking_task(k=4, required=3)
        for annotator in people:
            ranking_submit(assignment=task_assign_next(annotator=annotator), groups=[[a.pk], [b.pk, c.pk], [d.pk]])
    return snapshot_create(name="prefs", kind="preference", filters={"min_agreement": 0.5})


@pytest.fixture
def demos(annotators, demonstrations_judged) -> DatasetSnapshot:
    writer, other = annotators(2)
    for index, author in enumerate([writer, other, writer]):
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"Capital {index}?"}]
        prompt = Prompt.objects.create(
            messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages)
        )
        task_create_demonstration(prompt=prompt, required_annotations=1)
        demonstration_submit(assignment=task_assign_next(annotator=author), content=f"Paris, {index}. ☃")
    return snapshot_create(name="demos", kind="sft")


@pytest.fixture
def judged(make_user) -> DatasetSnapshot:
    """Four rated chat answers of one version, two up and two down."""
    sharer = make_user(username="sharer", shares_chat_data=True)
    version = ModelVersion.objects.create(name="policy-7", source="imported", path="/nowhere")
    for index in range(4):
        rated_answer(sharer, f"Question {index}?", f"Answer {index}.", up=index % 2 == 0, model_version=version)
    return snapshot_create(name="judged", kind="feedback")


class TestTheFolder:
    def test_a_preference_folder_loads_as_the_jsonl_export_with_its_card(self, prefs, tmp_path):
        out = tmp_path / "prefs"
        written = dataset_folder_write(snapshot=prefs, fmt="preference", out=out)
        assert written["rows"] == 10 and written["shards"] == 1
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
            "README.md",
            "data/train-00000-of-00001.parquet",
        ]
        dataset = _load(out, tmp_path / "cache")
        assert list(dataset) == ["train"]
        assert dataset["train"].column_names == ["prompt", "chosen", "rejected", "margin", "group_id"]
        assert [dict(row) for row in dataset["train"]] == _jsonl(prefs, "preference")

        card = (out / "README.md").read_text(encoding="utf-8")
        meta = _front_matter(card)
        assert meta["license"] == "other"
        assert meta["configs"] == [
            {"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}
        ]
        info = meta["dataset_info"]
        assert info["splits"] == [{"name": "train", "num_bytes": info["dataset_size"], "num_examples": 10}]
        assert info["download_size"] == written["bytes"]
        assert [feature["name"] for feature in info["features"]] == dataset["train"].column_names
        assert meta["size_categories"] == ["n<1K"] and "trl" in meta["tags"]
        assert prefs.content_hash in card and "`prefs@1`" in card and "| Items | 2 |" in card
        assert "min_agreement: 0.5" in card
        assert "Krippendorff's alpha (ordinal)" in card
        assert "Rankings: 6 by 3 annotators" in card and "weighted Borda count" in card
        assert "no licence was chosen" in card

    @pytest.mark.parametrize("fmt", ["sft-messages", "sft-prompt-completion"])
    def test_sft_folders_load_as_their_jsonl_exports(self, demos, tmp_path, fmt):
        out = tmp_path / fmt
        dataset_folder_write(snapshot=demos, fmt=fmt, out=out)
        rows = [dict(row) for row in _load(out, tmp_path / "cache")["train"]]
        assert rows == _jsonl(demos, fmt) and len(rows) == 3
        card = (out / "README.md").read_text(encoding="utf-8")
        assert "3 written for demonstration tasks, by 2 annotators" in card and demos.content_hash in card

    def test_judged_chat_answers_load_in_the_unpaired_format(self, judged, tmp_path):
        out = tmp_path / "judged"
        dataset_folder_write(snapshot=judged, fmt="unpaired", out=out)
        train = _load(out, tmp_path / "cache")["train"]
        assert train.features["label"].dtype == "bool"
        assert [dict(row) for row in train] == _jsonl(judged, "unpaired")
        assert [row["label"] for row in train] == [True, False, True, False]
        card = (out / "README.md").read_text(encoding="utf-8")
        assert "4 chat answers their users rated, 2 thumbs up (`label` true) and 2 thumbs down" in card
        assert "from 4 policy-7" in card and "| Rows | 4 judged answers in the train split |" in card

    def test_the_licence_comes_from_the_setting(self, demos, tmp_path, settings):
        settings.DATASET_LICENSE = "cc-by-4.0"
        dataset_folder_write(snapshot=demos, fmt="sft-messages", out=tmp_path / "out")
        card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
        assert _front_matter(card)["license"] == "cc-by-4.0" and "no licence was chosen" not in card

    def test_the_same_snapshot_gives_byte_identical_shards_in_order(self, prefs, tmp_path):
        first, second = tmp_path / "first", tmp_path / "second"
        dataset_folder_write(snapshot=prefs, fmt="preference", out=first, max_shard_bytes=1000)
        written = dataset_folder_write(snapshot=prefs, fmt="preference", out=second, max_shard_bytes=1000)
        shards = sorted((second / "data").iterdir())
        assert written["shards"] == len(shards) > 1
        assert shards[-1].name == f"train-{len(shards) - 1:05d}-of-{len(shards):05d}.parquet"
        for path in [*shards, second / "README.md"]:
            assert path.read_bytes() == (first / path.relative_to(second)).read_bytes(), path.name
        assert [dict(row) for row in _load(second, tmp_path / "cache")["train"]] == _jsonl(prefs, "preference")

    def test_refusals_leave_nothing_behind(self, prefs, demos, data_dir, tmp_path):
        with pytest.raises(ValueError, match="no fixed columns"):
            dataset_folder_write(snapshot=prefs, fmt="oasst", out=tmp_path / "trees")
        with pytest.raises(ValueError, match="cannot be exported as preference"):
            dataset_folder_write(snapshot=demos, fmt="preference", out=tmp_path / "pairs")
        out = tmp_path / "out"
        dataset_folder_write(snapshot=prefs, fmt="preference", out=out)
        with pytest.raises(UserError, match="already exists"):
            dataset_folder_write(snapshot=prefs, fmt="preference", out=out)
        path = data_dir / prefs.path
        path.chmod(0o644)
        path.write_bytes(path.read_bytes().replace(b"Answer", b"answer"))
        with pytest.raises(UserError, match="no longer has its recorded hash"):
            dataset_folder_write(snapshot=prefs, fmt="preference", out=out, replace=True)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out"]
        assert (out / "README.md").is_file()


@pytest.mark.parametrize(
    ("snapshot_fixture", "fmt", "trainer_name", "batch_size"),
    [
        ("prefs", "preference", "DPO", 4),
        ("demos", "sft-prompt-completion", "SFT", 3),
        ("judged", "unpaired", "KTO", 4),
    ],
)
def test_a_trl_trainer_takes_a_step_on_the_loaded_dataset(
    request, snapshot_fixture, fmt, trainer_name, batch_size, tmp_path, tiny_model_dir
):
    """What `load_dataset` reads back is what TRL's trainers take, as they are."""
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dataset_folder_write(snapshot=request.getfixturevalue(snapshot_fixture), fmt=fmt, out=tmp_path / "dataset")
    train = _load(tmp_path / "dataset", tmp_path / "cache")["train"]
    args = getattr(trl, f"{trainer_name}Config")(
        output_dir=str(tmp_path / "trainer"),
        max_steps=1,
        per_device_train_batch_size=batch_size,
        max_length=128,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        logging_steps=1,
    )
    trainer = getattr(trl, f"{trainer_name}Trainer")(
        model=AutoModelForCausalLM.from_pretrained(tiny_model_dir),
        args=args,
        train_dataset=train,
        processing_class=AutoTokenizer.from_pretrained(tiny_model_dir),
    )
    result = trainer.train()
    assert result.global_step == 1 and math.isfinite(result.training_loss)


class HubRecorder:
    """Stands in for huggingface_hub's HfApi: records the calls."""

    def __init__(self, fail: Exception | None = None):
        self.calls = []
        self.fail = fail

    def create_repo(self, repo_id, **options):
        self.calls.append(("create_repo", repo_id, options))

    def upload_folder(self, **options):
        self.calls.append(("upload_folder", options))
        if self.fail:
            raise self.fail
        return type("CommitInfo", (), {"commit_url": f"https://huggingface.co/datasets/{options['repo_id']}/commit/1"})


class TestPush:
    def test_without_a_token_the_push_is_refused(self, prefs, tmp_path, settings):
        settings.DATASET_HUB_TOKEN = ""
        api = HubRecorder()
        with pytest.raises(UserError, match="set DATASET_HUB_TOKEN"):
            dataset_push(snapshot=prefs, fmt="preference", folder=tmp_path, repo_id="lab/prefs", api=api)
        assert api.calls == []

    def test_with_a_token_the_folder_goes_to_upload_folder(self, prefs, tmp_path, settings):
        settings.DATASET_HUB_TOKEN = "hf_secret"
        out = tmp_path / "prefs"
        dataset_folder_write(snapshot=prefs, fmt="preference", out=out)
        api = HubRecorder()
        url = dataset_push(snapshot=prefs, fmt="preference", folder=out, repo_id="lab/prefs", api=api)
        assert url == "https://huggingface.co/datasets/lab/prefs/commit/1"
        assert api.calls == [
            (
                "create_repo",
                "lab/prefs",
                {"token": "hf_secret", "repo_type": "dataset", "private": True, "exist_ok": True},
            ),
            (
                "upload_folder",
                {
                    "repo_id": "lab/prefs",
                    "repo_type": "dataset",
                    "folder_path": str(out),
                    "commit_message": f"prefs@1 as preference (sha256 {prefs.content_hash})",
                    "token": "hf_secret",
                    "delete_patterns": ["data/*"],
                },
            ),
        ]

    def test_bad_repository_ids_and_failed_uploads_are_clear_errors(self, prefs, tmp_path):
        with pytest.raises(UserError, match="not a Hub repository id"):
            dataset_push(
                snapshot=prefs, fmt="preference", folder=tmp_path, repo_id="a/b/c", token="t", api=HubRecorder()
            )
        api = HubRecorder(fail=ConnectionError("no network"))
        with pytest.raises(UserError, match="The push to lab/prefs failed: no network"):
            dataset_push(snapshot=prefs, fmt="preference", folder=tmp_path, repo_id="lab/prefs", token="t", api=api)

    def test_the_real_client_unable_to_reach_the_hub_is_a_clear_error(self, prefs, tmp_path, monkeypatch):
        """huggingface_hub's own HfApi, offline: its request stops before
        the network, and the push says so rather than raising its error."""
        from huggingface_hub import constants

        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
        with pytest.raises(UserError, match="The push to lab/prefs failed: .*offline mode is enabled"):
            dataset_push(snapshot=prefs, fmt="preference", folder=tmp_path, repo_id="lab/prefs", token="hf_x")


class TestCommand:
    def test_it_writes_under_exports_and_refuses_to_write_over_it(self, prefs, data_dir, tmp_path, capsys):
        call_command("export_snapshot_dataset", "prefs", format="preference")
        folder = data_dir / "exports" / folder_name(snapshot=prefs, fmt="preference")
        assert folder.name == "prefs-v1-preference"
        out = capsys.readouterr().out
        assert f"Wrote {folder}: 10 preference rows of prefs@1 in 1 Parquet shard(s)" in out
        assert prefs.content_hash in out
        assert len(_load(folder, tmp_path / "cache")["train"]) == 10
        with pytest.raises(CommandError, match="already exists"):
            call_command("export_snapshot_dataset", "prefs@1", format="preference")
        call_command("export_snapshot_dataset", "prefs@1", format="preference", replace=True)
        assert sorted(p.name for p in folder.parent.iterdir()) == ["prefs-v1-preference"]

    def test_push_without_a_token_says_what_to_set(self, prefs, tmp_path, settings):
        settings.DATASET_HUB_TOKEN = ""
        with pytest.raises(CommandError, match="set DATASET_HUB_TOKEN"):
            call_command("export_snapshot_dataset", "prefs", format="preference", out=str(tmp_path / "x"), push="a/b")
        assert (tmp_path / "x" / "README.md").is_file()

    def test_unknown_snapshots_and_formats_are_clear_errors(self, prefs):
        with pytest.raises(CommandError, match="No snapshot is named 'nope'"):
            call_command("export_snapshot_dataset", "nope", format="preference")
        with pytest.raises(CommandError, match="cannot be exported as sft-messages"):
            call_command("export_snapshot_dataset", "prefs", format="sft-messages")


class TestDownload:
    @pytest.fixture
    def admin_client(self, client, make_user):
        client.force_login(make_user(username="boss", role="admin"))
        return client

    def test_the_page_offers_it_and_the_zip_is_the_folder(self, prefs, admin_client, data_dir, tmp_path):
        page = admin_client.get("/labeling/admin/snapshots/").content.decode()
        url = f"/labeling/admin/snapshots/{prefs.pk}/preference-hf.zip"
        assert f'href="{url}"' in page and "Hugging Face dataset (preference)" in page
        assert "oasst-hf.zip" not in page

        response = admin_client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/zip"
        assert response["Content-Disposition"] == 'attachment; filename="prefs-v1-preference.zip"'
        with pytest.warns(Warning, match="asynchronous iterators"):  # it streams under ASGI
            body = b"".join(response)
        assert list((data_dir / "exports").iterdir()) == []  # the scratch folder went

        archive = zipfile.ZipFile(io.BytesIO(body))
        assert archive.testzip() is None
        archive.extractall(tmp_path / "unzipped")
        folder = tmp_path / "unzipped" / "prefs-v1-preference"
        dataset_folder_write(snapshot=prefs, fmt="preference", out=tmp_path / "direct")
        for path in (tmp_path / "direct").rglob("*.parquet"):
            assert (folder / path.relative_to(tmp_path / "direct")).read_bytes() == path.read_bytes()
        assert [dict(row) for row in _load(folder, tmp_path / "cache")["train"]] == _jsonl(prefs, "preference")

    def test_others_are_refused_and_what_cannot_be_zipped_says_why(self, prefs, admin_client, make_user, settings):
        url = f"/labeling/admin/snapshots/{prefs.pk}/preference-hf.zip"
        admin = admin_client
        assert admin.get(f"/labeling/admin/snapshots/{prefs.pk}/oasst-hf.zip").status_code == 404
        settings.DATASET_DOWNLOAD_MAX_MB = 0
        response = admin.get(url, follow=True)
        assert response.redirect_chain[-1][0] == "/labeling/admin/snapshots/"
        assert "too large to zip in a page request" in response.content.decode()
        assert "manage.py export_snapshot_dataset prefs@1 --format preference" in response.content.decode()
        admin.force_login(make_user(username="annie", role="annotator"))
        assert admin.get(url).status_code == 403
