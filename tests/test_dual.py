"""XTREME-R's retrieval recipes (issue 11 items 5b, 6): the dual-encoder head against HF's pooler and a
hand-computed in-batch softmax, the Mewsli-X query/candidate strings character by character, LAReQA's training
pairs and sentence breaks, a dual encoder that learns to match (loss from chance to ~0) and is evaluated
through its head, and the plan that trains it before its eval (--retrieval-tune dual) or not (none)."""
import json
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from conftest import TINY, hf_checkpoint

import xstilts
from chain.config import Config
from chain.plan import chain
from model.load import load_model, save_model
from tasks import get_task, lareqa, mewslix
from tasks.lib import heads


def test_dual_vectors_are_hf_pooler_output_normalised_and_survive_save(tmp_path, pair_batch):
    ref = hf_checkpoint(tmp_path / "m", mlm=False)  # XLMRobertaModel: a checkpoint with a pooler
    model = load_model(tmp_path / "m").eval()
    head = heads.make_head(get_task("lareqa"), model.config.hidden_size, model)
    ids, mask = pair_batch
    with torch.no_grad():
        want = F.normalize(ref(input_ids=ids, attention_mask=mask).pooler_output, dim=-1)
        torch.testing.assert_close(head.vectors(model(ids, mask)), want, atol=1e-5, rtol=1e-4)
    save_model(model, tmp_path / "again")  # the pooler rides along: the chain's next stage starts from it
    again = heads.make_head(get_task("lareqa"), model.config.hidden_size, load_model(tmp_path / "again"))
    assert torch.equal(again.dense.weight, head.dense.weight) and torch.equal(again.dense.bias, head.dense.bias)


def test_dual_loss_is_in_batch_softmax_over_the_candidates_with_scale_100():
    head = heads.Dual(4)
    v = F.normalize(torch.randn(3, 2, 4), dim=-1)
    cos = v[:, 0] @ v[:, 1].T
    logits = 100 * cos  # question i against every candidate j; the right one is j = i
    want = -sum(logits[i, i] - torch.logsumexp(logits[i], 0) for i in range(3)) / 3
    torch.testing.assert_close(head.loss(v), want)
    assert head.scale.ndim == 1  # a 1-D parameter: in the no-decay group, as the reference's weight_decay 0


def test_mewslix_query_and_candidate_equal_the_reference_strings():
    text = "Rain fell. The court {in Paris} heard\nSmith  today, and {Smith} left. Then it ended."
    end = text.index("left.") + 5
    ctx = {"text": text, "sentence_spans": [{"start": 0, "end": 10}, {"start": 11, "end": end},
                                            {"start": end + 1, "end": len(text)}]}
    s = text.index("Smith")
    q = mewslix.query(ctx, {"start": s, "end": s + 5, "text": "Smith"})
    # left "The court {in Paris} heard\n", braces escaped, newline → space; "} " + "  today": three spaces, and
    # the reference's one replace("  ", " ") leaves two
    assert q == "Smith: The court (in Paris) heard { Smith }  today, and (Smith) left."
    entity = {"entity_id": "Q1", "title": "Not used", "description": "First line.\nSecond  one. Third.",
              "sentence_spans": [{"start": 0, "end": 11}, {"start": 12, "end": 24}]}
    assert mewslix.candidate(entity) == "First line. Second one."  # sentences by span, no title, third not spanned
    with pytest.raises(StopIteration):  # a mention across a sentence break: the reference refuses it too
        mewslix.query(ctx, {"start": 5, "end": 15, "text": text[5:15]})


def test_mewslix_rows_use_the_reference_texts(tmp_path):
    from test_every_task import FIXTURES
    for rel, body in FIXTURES["mewslix"].items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(body, encoding="utf-8")
    (ex,), skipped = mewslix.load(tmp_path, "test", "de")
    assert not skipped and ex["queries"] == [("m1", "Merkel: { Merkel } visited Paris."),
                                             ("m2", "Paris: Merkel visited { Paris } .")]
    assert ex["entities"][0] == ("Q567", "German politician")
    pairs, _ = mewslix.load(tmp_path, "train", "en")
    assert pairs[1] == {"q": "Paris: { Paris } is here.", "c": "capital of France"}


def test_sentence_breaks_keep_titles_initials_and_quotes_together():
    t = ' Mr. Smith went to Washington. He met Dr. J. Doe there! "Why?" she asked. In 1990 it ended. 5 p.m. came'
    assert [t[a:b] for a, b in lareqa.sentence_breaks(t)] == [
        "Mr. Smith went to Washington.", "He met Dr. J. Doe there!", '"Why?" she asked.', "In 1990 it ended.",
        "5 p.m. came"]


def squad(n):
    """n paragraphs, one question each, told apart by a name only: what a tiny dual encoder can learn to match."""
    names = ["Anna", "Boris", "Chen", "Dmitri", "Emma", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kemal", "Lena"]
    paras = [{"context": f"{x} sings. Birds fly.", "qas": [{"id": f"q{i}", "question": f"{x}?", "answers": [
        {"text": x, "answer_start": 0}]}]} for i, x in enumerate(names[:n])]
    paras.append({"context": "A b. C d.", "qas": [{"id": "gap", "question": "?", "answers": [
        {"text": " C", "answer_start": 4}]}]})  # starts in the gap between two sentences: dropped, as the reference
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": paras}]}


def test_lareqa_training_pairs_are_question_and_sentence_plus_paragraph(tmp_path, capsys):
    (tmp_path / "squad_v1").mkdir()
    (tmp_path / "squad_v1" / "train-v1.1.json").write_text(json.dumps(squad(2)))
    pairs, skipped = lareqa.load(tmp_path, "train", "en")
    assert not skipped and len(pairs) == 2 and "dropped 1 of 3 questions" in capsys.readouterr().out
    assert pairs[0] == {"q": "Anna?", "c": "Anna sings.Anna sings. Birds fly."}  # no separator, as the reference


@pytest.mark.slow
def test_dual_encoder_learns_to_match_and_eval_uses_its_head(tmp_path):
    tiny_dir = tmp_path / "m"  # without dropout: at 32 wide, dropout noise × the scale of 100 drowns the signal
    hf_checkpoint(tiny_dir, dict(TINY, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
    data = tmp_path / "data"
    (data / "squad_v1").mkdir(parents=True)
    for f in ("train-v1.1.json", "dev-v1.1.json"):
        (data / "squad_v1" / f).write_text(json.dumps(squad(12)))
    from test_every_task import FIXTURES
    for rel, body in FIXTURES["lareqa"].items():
        if rel.startswith("lareqa/"):
            (data / rel).parent.mkdir(parents=True, exist_ok=True)
            (data / rel).write_text(body, encoding="utf-8")
    argv = ["target", "--task", "lareqa", "--init", str(tiny_dir), "--data-dir", str(data), "--runs-dir",
            str(tmp_path), "--name", "d", "--epochs", "40", "--lr", "1e-4", "--dtype", "fp32", "--log-every", "20",
            "--eval-every", "1000", "--batch-size", "4", "--micro-batch", "4"]
    assert xstilts.main(argv) == 0
    losses = [json.loads(line)["loss"] for line in (tmp_path / "d" / "metrics.jsonl").read_text().splitlines()]
    assert losses[0] > 1.0 and losses[-1] < 0.1, losses  # ln 4 ≈ 1.39 is chance over a softmax of 4
    dev = json.loads((tmp_path / "d" / "results.json").read_text())["lareqa"]["en-dev"]["map@20"]
    assert dev > 75  # mAP@20 of each question over the 12 dev candidates: the untrained encoder scores ~45
    assert (tmp_path / "d" / "head.safetensors").exists()
    argv = ["eval", "--target", "lareqa", "--init", str(tmp_path / "d"), "--data-dir", str(data), "--runs-dir",
            str(tmp_path), "--name", "e", "--langs", "de", "--dtype", "fp32"]
    seen = []
    real = lareqa.vectors
    lareqa.vectors = lambda *a, **k: seen.append(a[5]) or real(*a, **k)
    try:
        assert xstilts.main(argv) == 0
    finally:
        lareqa.vectors = real
    assert isinstance(seen[0], heads.Dual)  # the trained head made the vectors
    assert 0 <= json.loads((tmp_path / "e" / "results.json").read_text())["lareqa"]["de"]["map@20"] <= 100


def stage_of(stages, kind, task):
    return next(s for s in stages if s.kind == kind and s.task == task)


@pytest.mark.parametrize("tune", ["dual", "none"])
def test_xtreme_r_plan_trains_the_dual_encoders_first_unless_none(tune, tmp_path):
    cfg = replace(Config(), runs_dir=str(tmp_path), retrieval_tune=tune)
    stages, evals = chain(lambda kind, task: cfg, "model", "mnli", ["lareqa", "mewslix", "tatoeba", "xquad"],
                          suite="xtreme-r")
    top = stage_of(stages, "intermediate", "mnli")
    if tune == "dual":
        for t in ("lareqa", "mewslix"):
            assert evals[t].start is stage_of(stages, "target", t) and evals[t].start.start is top
    else:
        assert evals["lareqa"].start is stage_of(stages, "target", "xquad") and evals["mewslix"].start is top
        assert not [s for s in stages if s.kind == "target" and s.task in ("lareqa", "mewslix")]
    assert evals["tatoeba"].start is stage_of(stages, "target", "xquad")  # SQuAD-tuned either way
