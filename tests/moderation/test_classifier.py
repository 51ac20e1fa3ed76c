"""The classifier layer: MiniLM features, the trained heads, the shipped
head and which head serves."""

import json

import numpy as np
import pytest

from moderation import categories as c
from moderation.classifier import layer, serving
from moderation.classifier.embedder import get_embedder, model_dir
from moderation.classifier.features import FeatureSpec, window_features
from moderation.classifier.heads import HeadParams, Heads
from moderation.classifier.train import (
    BENIGN_LOOKALIKES,
    Dataset,
    builtin_rule_scores,
    cross_validate,
    overall_label,
    read_openai_jsonl,
    train_heads,
    with_train_only_texts,
)
from moderation.classifier.train import (
    main as train_main,
)
from moderation.pipeline import Verdict, moderate, moderate_many
from moderation.profanity import profanity_probabilities
from moderation.services import classifier_version_promote
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db

BENIGN = [
    "The weather is nice today, let's have a picnic in the park.",
    "Can you summarise the French Revolution in three sentences?",
    "What is a good recipe for banana bread?",
]
# (text, its category): harmful text that neither the rules nor the
# profanity layer flags, so the classifier decides.
HARMFUL = [
    # Slipped (0.25) while the only short training texts were the safe
    # lookalikes; the short unsafe texts (moderation/data/) restored it.
    ("She slowly took off her clothes and climbed into bed with him, moaning softly.", c.SEXUAL),
    ("Muslims are ruining this country and should go back where they came from", c.HATE),
]

# A tiny labelled set: two topics the embedding tells apart at once.
SYNTHETIC_UNSAFE = [
    "I hate those people, they are vermin and should be wiped out",
    "They are subhuman animals and deserve nothing",
    "Go back to your country, nobody wants your kind here",
    "People of that race are stupid and dangerous",
    "That group is a plague on society",
    "All of them are criminals and parasites",
]
SYNTHETIC_SAFE = [
    "The cake needs two cups of flour and three eggs",
    "Our hiking trip to the mountains was lovely",
    "Please send me the quarterly report by Friday",
    "The cat slept on the sofa all afternoon",
    "I am learning to play the piano this year",
    "The train to Paris leaves at nine",
]


@pytest.fixture(autouse=True)
def fresh_head():
    layer.invalidate()
    yield
    layer.invalidate()


def synthetic_set():
    texts = SYNTHETIC_UNSAFE + SYNTHETIC_SAFE
    labels = [{c.HATE: 1, c.SEXUAL: None} for _ in SYNTHETIC_UNSAFE]
    labels += [{c.HATE: 0, c.SEXUAL: 0} for _ in SYNTHETIC_SAFE]
    return texts, labels


@pytest.fixture(scope="module")
def synthetic_head(tmp_path_factory):
    texts, labels = synthetic_set()
    heads = train_heads(texts, labels, params=HeadParams(min_positives=3))
    return heads.save(tmp_path_factory.mktemp("synthetic-head"))


def test_every_category_is_scored_within_0_and_1():
    for scores in layer.score_many(BENIGN + [text for text, _ in HARMFUL], "user"):
        assert set(scores) == set(c.CATEGORIES)
        assert all(0.0 <= score <= 1.0 for score in scores.values())


@pytest.mark.parametrize("text,category", HARMFUL)
def test_harmful_text_scores_higher_than_benign_text_in_its_category(text, category):
    harmful, *benign = layer.score_many([text, *BENIGN], "user")
    assert harmful[category] >= 0.5
    assert all(harmful[category] > scores[category] + 0.3 for scores in benign)


def test_a_batch_scores_as_single_calls(settings):
    # float32, where padding a window changes nothing; bfloat16 rounds
    # padded and unpadded batches apart by up to about 0.01.
    settings.MODERATION_CLASSIFIER_DTYPE = "float32"
    texts = BENIGN + [text for text, _ in HARMFUL] + ["short", "a longer text " * 40]
    batched = layer.score_many(texts, "user")
    for text, scores in zip(texts, batched, strict=True):
        (single,) = layer.score_many([text], "user")
        assert single == pytest.approx(scores, abs=1e-4)
    assert layer.score_many([], "user") == []


def test_the_plain_forward_pass_equals_transformers():
    embedder = get_embedder(dtype="float32")
    windows, owner = embedder.windows(["Hello there", "a much longer text " * 60], 128, 96)
    assert owner[0] == 0 and owner.count(1) >= 2 and all(len(window) <= 128 for window in windows)
    plain = embedder.embed_windows(windows, (2, 4, 6))
    reference = embedder.embed_windows(windows, (2, 4, 6), reference=True)
    assert np.abs(plain - reference).max() < 1e-5


def test_concurrent_callers_share_forward_passes(monkeypatch):
    """Sixteen threads embedding at once: the first runs its pass alone, the
    fifteen that queued behind it share the next, and each gets exactly the
    rows it would have got alone."""
    import threading
    import time

    from moderation.classifier.embedder import Embedder

    embedder = get_embedder(dtype="float32")
    texts = [f"message number {i} " * (1 + i % 5) for i in range(16)]
    alone = [embedder.embed_windows(embedder.windows([t], 128, 96)[0], (6,)) for t in texts]
    passes = []
    original = Embedder._embed_windows

    def slow_pass(self, windows, layers, reference):
        passes.append(len(windows))
        time.sleep(0.3)  # long enough for every other thread to queue behind it
        return original(self, windows, layers, reference)

    monkeypatch.setattr(Embedder, "_embed_windows", slow_pass)
    together = [None] * len(texts)

    def embed(i):
        together[i] = embedder.embed_windows(embedder.windows([texts[i]], 128, 96)[0], (6,))

    threads = [threading.Thread(target=embed, args=(i,)) for i in range(len(texts))]
    threads[0].start()
    time.sleep(0.1)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join()
    assert passes == [1, 15]
    for mine, reference in zip(together, alone, strict=True):
        assert np.abs(mine - reference).max() < 1e-5


def test_a_failed_shared_pass_fails_every_caller_in_it(monkeypatch):
    from moderation.classifier.embedder import Embedder

    def broken(self, windows, layers, reference):
        raise RuntimeError("out of memory")

    embedder = get_embedder(dtype="float32")
    monkeypatch.setattr(Embedder, "_embed_windows", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        embedder.embed_windows(embedder.windows(["hi"], 128, 96)[0], (6,))
    monkeypatch.undo()
    assert embedder.embed_windows(embedder.windows(["hi"], 128, 96)[0], (6,)).shape == (1, embedder.hidden_size)


def test_the_model_comes_from_the_package_directory():
    assert (model_dir() / "model.safetensors").is_file()


def test_the_fast_profanity_probability_equals_the_package():
    from profanity_check import predict_prob

    texts = ["you are a fucking idiot", "have a lovely day", "shit happens"]
    assert profanity_probabilities(texts) == pytest.approx(predict_prob(texts), abs=1e-9)


def test_the_shipped_head_loads_and_says_how_it_was_made():
    heads = Heads.load(serving.SHIPPED_HEAD)
    assert sum(path.stat().st_size for path in serving.SHIPPED_HEAD.iterdir()) < 1_000_000
    assert heads.spec == FeatureSpec()
    assert {c.SEXUAL, c.HATE, c.VIOLENCE, c.HARASSMENT, c.SELF_HARM} <= set(heads.categories)
    figures = heads.metadata["cross_validation"]
    assert figures["folds"] == 5 and 0.5 < figures["overall"]["auprc"]["mean"] <= 1.0
    assert heads.metadata["training_data"]["texts"] > 500
    # Only weights: the texts it learnt from are not in the repository.
    metadata = (serving.SHIPPED_HEAD / "metadata.json").read_text()
    assert "prompt" not in json.loads(metadata)


def test_a_trained_head_round_trips_through_save_and_load(synthetic_head):
    texts, labels = synthetic_set()
    loaded = Heads.load(synthetic_head)
    scores = loaded.score(*_features(loaded, texts), len(texts))
    unsafe = [max(s.values()) for s in scores[: len(SYNTHETIC_UNSAFE)]]
    safe = [max(s.values()) for s in scores[len(SYNTHETIC_UNSAFE) :]]
    assert min(unsafe) > max(safe)
    # Hate has its own head; sexual has no positives and stays 0.
    assert loaded.categories == (c.HATE,) and all(s[c.SEXUAL] == 0.0 for s in scores)
    assert all(s[c.HATE] == max(s.values()) for s in scores)
    again = Heads.load(loaded.save(synthetic_head.parent / "copy"))
    assert again.score(*_features(again, texts), len(texts)) == scores


def _features(heads, texts):
    return window_features(heads.spec, texts, builtin_rule_scores(texts))


def test_without_enough_labels_for_a_category_the_overall_score_goes_to_the_most_labelled_one():
    texts, labels = synthetic_set()
    heads = train_heads(texts, labels)  # 6 hate positives, fewer than min_positives
    assert heads.categories == () and heads.fallback == c.HATE
    scores = heads.score(*_features(heads, texts[:1]), 1)[0]
    assert scores[c.HATE] > 0.5 and sum(scores.values()) == scores[c.HATE]


def test_cross_validation_reports_figures_and_out_of_fold_scores():
    texts, labels = synthetic_set()
    figures = cross_validate(texts, labels, folds=3, repeats=2)
    assert figures["texts"] == 12 and figures["unsafe"] == 6 and figures["seeds"] == [0, 1]
    assert 0.0 <= figures["overall"]["auprc"]["mean"] <= 1.0
    assert set(figures["overall"]) == {"auprc", "f1", "precision", "recall", "best_f1"}
    assert len(figures["oof"]) == 2 and all(set(scores) == set(c.CATEGORIES) for scores in figures["oof"][0])


def test_overall_label_is_unsafe_when_any_category_is():
    assert overall_label({c.HATE: 1, c.SEXUAL: None}) == 1
    assert overall_label({c.HATE: 0, c.SEXUAL: None}) == 0
    assert overall_label({c.HATE: None}) is None


def test_the_training_command_writes_a_loadable_head(tmp_path, capsys):
    texts, labels = synthetic_set()
    data = tmp_path / "data.jsonl"
    rows = [json.dumps({"prompt": text, "H": label[c.HATE]}) for text, label in zip(texts, labels, strict=True)]
    data.write_text("\n".join(rows) + "\n")
    assert train_main(["--data", str(data), "--out", str(tmp_path / "head"), "--folds", "3", "--repeats", "1"]) == 0
    assert "AUPRC" in capsys.readouterr().out
    heads = Heads.load(tmp_path / "head")
    assert heads.metadata["cross_validation"]["folds"] == 3
    assert heads.metadata["training_data"]["source"] == "data.jsonl"


def _register(name, path, *, serving):
    return ModelVersion.objects.create(
        name=name,
        kind=ModelVersion.Kind.CLASSIFIER,
        source=ModelVersion.Source.TRAINED,
        path=str(path),
        is_serving=serving,
    )


def test_the_shipped_head_serves_until_a_version_is_promoted(synthetic_head):
    assert serving.classifier_head_path() == serving.SHIPPED_HEAD
    _register("classifier-waiting", synthetic_head, serving=False)
    assert serving.classifier_head_path() == serving.SHIPPED_HEAD


def test_the_promoted_classifier_version_serves(synthetic_head, tmp_path):
    older = Heads.load(synthetic_head).save(tmp_path / "older")
    _register("classifier-older", older, serving=True)
    newer = _register("classifier-newer", synthetic_head, serving=False)
    ModelVersion.objects.create(
        name="chat", kind=ModelVersion.Kind.POLICY, source="trained", path=str(tmp_path), is_serving=True
    )
    assert serving.classifier_head_path() == older
    classifier_version_promote(version=newer)
    assert serving.classifier_head_path() == synthetic_head
    text = "The cat slept on the sofa all afternoon"
    shipped = Heads.load(serving.SHIPPED_HEAD).score(*_features(Heads.load(serving.SHIPPED_HEAD), [text]), 1)[0]
    assert layer.score_many([text], "user")[0] != pytest.approx(shipped)


def test_a_serving_version_whose_files_are_gone_falls_back_to_the_shipped_head(tmp_path):
    _register("classifier-gone", tmp_path / "missing", serving=True)
    assert serving.classifier_head_path() == serving.SHIPPED_HEAD


def test_a_promotion_reaches_a_process_within_the_refresh_time(settings, synthetic_head):
    settings.MODERATION_CLASSIFIER_REFRESH_SECONDS = 3600
    assert layer.serving_heads().metadata["training_data"]["texts"] > 500
    _register("classifier-new", synthetic_head, serving=True)
    assert layer.serving_heads().metadata["training_data"]["texts"] > 500  # not checked yet
    settings.MODERATION_CLASSIFIER_REFRESH_SECONDS = 0
    assert layer.serving_heads().metadata["training_data"]["texts"] == 12


@pytest.mark.parametrize("text,category", HARMFUL)
def test_the_default_pipeline_flags_with_the_classifier(settings, text, category):
    settings.MODERATION_LAYERS = ["rules", "profanity", "classifier"]
    verdict = moderate(text, "user")
    assert isinstance(verdict, Verdict)
    assert verdict.flagged and verdict.layer == "classifier" and verdict.top_category() == category
    assert set(verdict.categories) == set(c.CATEGORIES) == set(verdict.category_scores)
    assert verdict.score == max(verdict.category_scores.values())
    data = json.loads(json.dumps(verdict.as_dict()))
    assert set(data) == {"flagged", "score", "categories", "category_scores", "layer"}


# About 150 tokens of harmless prose: more than the first window holds.
BENIGN_PARAGRAPH = (
    "Our community garden has had a wonderful season. The tomatoes ripened early thanks to the warm spring, "
    "and the volunteers built new raised beds along the fence for herbs and salad greens. On Saturday mornings "
    "families come to water the plants, children learn how compost turns kitchen scraps into rich soil, and "
    "neighbours trade seeds and recipes for soups and jams. The local library lent us books about bees, so this "
    "year we planted lavender, borage and sunflowers to welcome pollinators. Next month we will hold a harvest "
    "picnic with music, a pie contest and a workshop on saving seeds for the winter. Everyone is welcome to join, "
    "whether you have grown vegetables for decades or have never held a trowel."
)


# (text, its category): harmful passages of 80 to 120 tokens, most of a
# window, so that behind the paragraph the last window is mostly theirs.
HARMFUL_PASSAGES = [
    (
        "She slowly took off her clothes and climbed into bed with him, moaning softly. He kissed her neck and "
        "ran his hands over her naked body while she pulled him closer and wrapped her legs around his hips. They "
        "had sex slowly at first, then harder, her breath quickening until she cried out, and afterwards they lay "
        "tangled in the sheets, sweaty and spent, already wanting each other again.",
        c.SEXUAL,
    ),
    (
        "Muslims are ruining this country and should go back where they came from. They refuse to fit in, they "
        "breed like rats and they bring crime to every town they move into. Their religion is a disease and "
        "every one of them is a danger to decent people. We should ban them at the border, throw out the ones "
        "already here and never let their kind near our children again. Every mosque is a nest of terrorists and "
        "every Muslim family next door is one more threat to us. People who welcome them are traitors, and the "
        "rest of us should make sure they know they are not wanted here.",
        c.HATE,
    ),
]


@pytest.mark.parametrize("text,category", HARMFUL_PASSAGES)
def test_harmful_text_behind_a_benign_paragraph_is_still_flagged(settings, text, category):
    settings.MODERATION_LAYERS = ["rules", "profanity", "classifier"]
    padded = f"{BENIGN_PARAGRAPH}\n\n{text}"
    assert len(get_embedder().tokenizer(BENIGN_PARAGRAPH)["input_ids"]) > FeatureSpec().max_tokens
    assert not moderate(BENIGN_PARAGRAPH, "user").flagged
    heads = Heads.load(serving.SHIPPED_HEAD)
    features, owner = window_features(heads.spec, [padded], builtin_rule_scores([padded]), first_only=True)
    assert heads.score(features, owner, 1)[0][category] < 0.5  # the first window alone would pass it
    assert layer.score_many([padded], "user")[0][category] >= 0.5
    verdict = moderate(padded, "user")
    assert verdict.flagged and verdict.layer == "classifier" and verdict.top_category() == category


@pytest.mark.parametrize("text,category", HARMFUL)
def test_a_head_with_fine_windows_flags_one_harmful_sentence_behind_a_benign_paragraph(
    settings, tmp_path, text, category
):
    # In a 128-token window a short sentence is averaged away by the benign
    # ones around it; a head whose feature spec asks for 32-token windows
    # (same weights) finds it, at the cost measured in the README.
    settings.MODERATION_LAYERS = ["rules", "profanity", "classifier"]
    padded = f"{BENIGN_PARAGRAPH}\n\n{text}"
    assert layer.score_many([padded], "user")[0][category] < 0.5
    fine = Heads.load(serving.SHIPPED_HEAD).save(tmp_path / "fine")
    metadata = json.loads((fine / "metadata.json").read_text())
    metadata["feature_spec"]["fine_tokens"] = 32
    (fine / "metadata.json").write_text(json.dumps(metadata))
    _register("classifier-fine", fine, serving=True)
    layer.invalidate()
    assert layer.serving_heads().spec.fine_tokens == 32
    assert layer.score_many([padded], "user")[0][category] >= 0.5
    verdict = moderate(padded, "user")
    assert verdict.flagged and verdict.layer == "classifier" and verdict.top_category() == category


def test_a_head_saved_before_fine_windows_existed_reads_128_token_windows(tmp_path):
    path = Heads.load(serving.SHIPPED_HEAD).save(tmp_path / "old")
    metadata = json.loads((path / "metadata.json").read_text())
    del metadata["feature_spec"]["fine_tokens"], metadata["feature_spec"]["fine_stride"]
    metadata["feature_spec"]["windows"] = "first"
    (path / "metadata.json").write_text(json.dumps(metadata))
    assert Heads.load(path).spec == FeatureSpec() and FeatureSpec().fine_tokens == 0


def test_the_default_pipeline_passes_benign_text_and_batches(settings):
    settings.MODERATION_LAYERS = ["rules", "profanity", "classifier"]
    verdicts = moderate_many(BENIGN + ["I will kill you"], "user")
    assert [v.flagged for v in verdicts] == [False, False, False, True]
    assert [v.layer for v in verdicts] == [None, None, None, "rules"]


def test_the_overall_score_averages_the_kernel_and_the_linear_head():
    texts, labels = synthetic_set()
    both = train_heads(texts, labels)
    kernel_only = train_heads(texts, labels, params=HeadParams(linear_weight=0.0))
    features, _ = _features(both, texts)
    assert both.linear_coef.shape == (features.shape[1],) and len(kernel_only.linear_coef) == 0
    linear = 1 / (1 + np.exp(-(features @ both.linear_coef + both.linear_intercept)))
    expected = 0.5 * kernel_only.unsafe_probability(features) + 0.5 * linear
    assert np.allclose(both.unsafe_probability(features), expected, atol=1e-5)


def test_a_head_saved_without_the_linear_part_loads_and_scores_as_before(tmp_path):
    texts, labels = synthetic_set()
    kernel_only = train_heads(texts, labels, params=HeadParams(linear_weight=0.0))
    path = kernel_only.save(tmp_path / "old")
    # A head from before the linear part: no array, no intercept, no parameters for it.
    from safetensors.numpy import load_file, save_file

    arrays = load_file(path / "heads.safetensors")
    del arrays["linear_coef"]
    save_file(arrays, path / "heads.safetensors")
    meta = json.loads((path / "metadata.json").read_text())
    del meta["linear_intercept"], meta["params"]["linear_c"], meta["params"]["linear_weight"]
    (path / "metadata.json").write_text(json.dumps(meta))
    loaded = Heads.load(path)
    features, owner = _features(loaded, texts)
    assert loaded.score(features, owner, len(texts)) == kernel_only.score(features, owner, len(texts))


def test_train_only_texts_are_trained_on_and_never_scored():
    texts, labels = synthetic_set()
    extra = ["I cut myself a slice of bread", "Kill the lights please"]
    figures = cross_validate(
        texts + extra,
        labels + [{c.HATE: 0, c.SEXUAL: None}] * 2,
        folds=3,
        repeats=1,
        dataset=Dataset(
            texts + extra, labels + [{c.HATE: 0, c.SEXUAL: None}] * 2, train_only=[False] * 12 + [True] * 2
        ),
    )
    assert figures["texts"] == 12 and figures["unsafe"] == 6
    assert all(scores is not None for scores in figures["oof"][0][:12])
    assert figures["oof"][0][12:] == [None, None]


def test_the_train_only_texts_are_the_safe_lookalikes_then_the_short_unsafe_texts():
    texts, labels, train_only = with_train_only_texts(["a"], [{c.HATE: 1}])
    assert texts[0] == "a" and train_only[0] is False and all(train_only[1:])
    benign = len(read_openai_jsonl(BENIGN_LOOKALIKES)[0])
    assert benign > 50 and len(texts) - 1 - benign > 50
    assert all(overall_label(label) == 0 for label in labels[1 : 1 + benign])
    assert all(overall_label(label) == 1 for label in labels[1 + benign :])
    # Every category the heads learn gets short positives, and none is
    # claimed about minors (sexual/minors stays unknown).
    unsafe = labels[1 + benign :]
    for category in (c.SEXUAL, c.HATE, c.HARASSMENT, c.SELF_HARM, c.VIOLENCE):
        assert sum(label[category] == 1 for label in unsafe) >= 8, category
    assert all(label[c.SEXUAL_MINORS] is None for label in unsafe)
    assert all(len(text.split()) < 16 for text in texts[1:])


def test_the_classifier_reuses_the_cheaper_layers_scores(settings, monkeypatch):
    """In the pipeline the classifier takes the rules and profanity scores
    the layers before it gave, and does not compute them again."""
    settings.MODERATION_LAYERS = ["rules", "profanity", "classifier"]
    alone = layer.score_many(BENIGN, "user")

    def computed_again(*args, **kwargs):
        raise AssertionError("computed twice")

    monkeypatch.setattr("moderation.classifier.layer.rules.score_many", computed_again)
    monkeypatch.setattr("moderation.classifier.features.profanity_probabilities", computed_again)
    verdicts = moderate_many(BENIGN, "user")
    assert [v.score for v in verdicts] == pytest.approx([max(s.values()) for s in alone], abs=1e-6)
