"""tasks/lib/metrics.py against the references: seqeval's default-mode chunk F1 on thousands of random tag
sequences (IOB2 NER tags and bare UPOS tags), and hand-computed SQuAD / MLQA cases in six languages."""
import random

import torch

import pytest

from tasks.lib import metrics

NER = "O B-LOC I-LOC B-PER I-PER B-ORG I-ORG".split()
UPOS = "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()


@pytest.mark.parametrize("tags", [NER, UPOS, UPOS + ["O", "E-X", "S-Y", "I-Z"]], ids=["iob2", "upos", "mixed"])
def test_chunk_f1_equals_seqeval_default_mode(tags):
    import warnings

    from seqeval.metrics import f1_score
    rng = random.Random(len(tags))
    for _ in range(2000):
        gold = [[rng.choice(tags) for _ in range(rng.randint(1, 15))] for _ in range(rng.randint(1, 6))]
        pred = [[t if rng.random() < 0.6 else rng.choice(tags) for t in s] for s in gold]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # seqeval warns that UPOS tags "seem not to be NE tags"
            want = 100 * f1_score(gold, pred)
        assert metrics.chunk_f1(gold, pred) == pytest.approx(want, abs=1e-9), (gold, pred)


def test_upos_runs_merge_into_chunks_as_xtreme_scores_them():
    # NOUN NOUN is one chunk "OUN": predicting NOUN VERB gets neither chunk right, though 1 of 2 tokens is
    assert metrics.chunks(["NOUN", "NOUN"]) == [("OUN", 0, 1)]
    assert metrics.chunk_f1([["NOUN", "NOUN"]], [["NOUN", "VERB"]]) == 0.0
    assert metrics.chunk_f1([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]]) == 100.0


@pytest.mark.parametrize("lang, pred, gold, em, f1", [
    ("en", "the Eiffel Tower.", "Eiffel Tower", 1, 1),
    ("de", "der Staat Bayern", "Bayern", 0, 2 / 3),  # "der" dropped: {staat, bayern} vs {bayern}
    ("es", "los perros grandes", "perros", 0, 2 / 3),
    ("ar", "الكتاب الجديد", "كتاب جديد", 1, 1),  # every "ال" is removed, as MLQA's script does
    ("vi", "cái nhà của tôi", "nhà tôi", 1, 1),
    ("zh", "北京市。", "北京", 0, 0.8),  # per character: {北, 京, 市} vs {北, 京}: P 2/3, R 1
    ("zh", "「上海」", "上海", 1, 1),  # CJK punctuation is Unicode category P: dropped
])
def test_mlqa_normalisation_hand_computed(lang, pred, gold, em, f1):
    result = metrics.mlqa({"q": pred}, {"q": [gold, "something else"]}, lang)
    assert result["exact_match"] == pytest.approx(100 * em) and result["f1"] == pytest.approx(100 * f1)


@pytest.mark.parametrize("pred, gold, em, f1", [
    ("The Eiffel Tower!", "Eiffel Tower", 1, 1),
    ("der Staat", "Staat", 0, 2 / 3),  # SQuAD drops English articles only
    ("«Bayern»", "Bayern", 0, 0),  # « » are not ASCII punctuation: SQuAD keeps them
    ("北京市", "北京", 0, 0),  # no CJK split under SQuAD rules: one token each
])
def test_squad_normalisation_hand_computed(pred, gold, em, f1):
    result = metrics.squad({"q": pred}, {"q": [gold]})
    assert result["exact_match"] == pytest.approx(100 * em) and result["f1"] == pytest.approx(100 * f1)


def test_squad_f1_when_both_sides_normalise_to_empty():
    """"a" and "The" both normalise to nothing (articles dropped): EM 1 in both scripts; F1 0 by v1.1's rule
    (no common token: XQuAD, TyDiQA), 1 by v2.0's (both empty agree: SQuAD v2)."""
    assert metrics.squad({"q": "a"}, {"q": ["The"]}) == {"exact_match": 100.0, "f1": 0.0}
    assert metrics.squad({"q": "a"}, {"q": ["The"]}, v2=True) == {"exact_match": 100.0, "f1": 100.0}
    assert metrics.squad({"q": ""}, {"q": ["Paris"]}, v2=True)["f1"] == metrics.squad({"q": ""}, {"q": ["Paris"]})["f1"] == 0


def test_span_scoring_uses_mlqa_rules_for_mlqa_test_sets(tok):
    from tasks import mlqa
    from tasks import get_task
    from tasks.lib import qa, scoring
    context = "北京是中国的首都。"
    examples = [dict(id="q", question="首都?", context=context, answers=[(0, "北京")], impossible=False, lang="zh",
                     align=False)]  # as mlqa.load sets it for zh: jiant's pieces, not get_final_text's whole word
    features = mlqa.encode(examples, tok, 64)
    logits = []
    for f in features:  # point at the span "北京是" : one extra character
        lg = torch.zeros(len(f["ids"]), 2)
        start = next(k for k, (s, e) in enumerate(f["offsets"]) if s <= 0 < e) + f["first"]
        end = next(k for k, (s, e) in enumerate(f["offsets"]) if s < 3 <= e) + f["first"]
        lg[start, 0], lg[end, 1] = 10.0, 10.0
        logits.append(lg)
    predicted = qa.decode(context, features, logits, align=False)
    result = scoring.score(get_task("mlqa"), examples, features, logits)
    assert predicted.startswith("北京") and result == metrics.mlqa({0: predicted}, {0: ["北京"]}, "zh")
    assert 0 < result["f1"] < 100  # per-character F1: partial credit that SQuAD's whitespace rule would not give
