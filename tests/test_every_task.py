"""Every task file (found by globbing tasks/): load → encode → collate on a small fixture in its official
format, and `stats` on the same files. A new task needs a fixture here, and nothing else."""
import json

import pytest
import torch
from conftest import shared

import xstilts
from tasks import get_task, task_names
from tasks.lib import batching, reading

NLI = [("A man plays.", "A person plays.", "entailment"), ("A dog runs.", "A cat sleeps.", "contradiction"),
       ("Kids eat.", "Kids eat lunch.", "neutral")]
SQUAD = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "Paris is the capital of France.",
         "qas": [{"id": "q1", "question": "What is the capital?", "answers": [{"text": "Paris", "answer_start": 0}]},
                 {"id": "q2", "question": "Where is it?", "answers": [], "is_impossible": True,
                  "plausible_answers": [{"text": "France", "answer_start": 24}]}]}]}]}


def glue(header, rows):
    return "\t".join(header) + "\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows)


def jsonl(rows):
    return "".join(json.dumps(r) + "\n" for r in rows)


CSQA = jsonl([{"id": str(i), "question": "Where are books?", "choices": {"label": list("ABCDE"), "text": [
    "library", "sea", "sky", "fire", "void"]}, "answerKey": "A"} for i in range(3)])
HSWAG = jsonl([{"ctx": "A man opens a door. He", "ctx_a": "A man opens a door.", "ctx_b": "he",
                "endings": ["walks in.", "flies.", "x", "y"], "label": 0}] * 3)
COSMOS = 'id,context,question,answer0,answer1,answer2,answer3,label\n' + "".join(
    f'{i},"Line one,\nline two ""quoted"".",Why?,a,b,c,d,{i % 4}\n' for i in range(3))
ANLI = jsonl([{"uid": str(i), "context": a, "hypothesis": b, "label": y[0]} for i, (a, b, y) in enumerate(NLI)])
FIXTURES = {
    "mnli": {f"mnli/{f}": glue(["index", "sentence1", "sentence2", "gold_label"], [(i, *r) for i, r in enumerate(NLI)])
             for f in ("train.tsv", "dev_matched.tsv")},
    "snli": {f"snli/snli_1.0_{s}.jsonl": jsonl([{"gold_label": y, "sentence1": a, "sentence2": b} for a, b, y in NLI])
             for s in ("train", "dev")},
    "anli": {f"anli/anli_v1.0/R{r}/{s}.jsonl": ANLI for r in (1, 2, 3) for s in ("train", "dev")},
    "qqp": {f"qqp/{s}.tsv": glue(["id", "qid1", "qid2", "question1", "question2", "is_duplicate"],
                                 [(1, 1, 2, "How?", "How so?", 1), (2, 3, 4, "Why?", "When?", 0)])
            for s in ("train", "dev")},
    "sst2": {f"sst2/{s}.tsv": glue(["sentence", "label"], [("great film", 1), ("dull", 0)]) for s in ("train", "dev")},
    "squad_v1": {f"squad_v1/{f}": json.dumps(SQUAD) for f in ("train-v1.1.json", "dev-v1.1.json")},
    "squad_v2": {f"squad_v2/{f}": json.dumps(SQUAD) for f in ("train-v2.0.json", "dev-v2.0.json")},
    "commonsenseqa": {f"commonsenseqa/{s}_rand_split.jsonl": CSQA for s in ("train", "dev")},
    "hellaswag": {f"hellaswag/hellaswag_{s}.jsonl": HSWAG for s in ("train", "val")},
    "cosmosqa": {f"cosmosqa/{s}.csv": COSMOS for s in ("train", "valid")},
    "xnli": {"xnli/dev-en.tsv": "".join(f"{a}\t{b}\t{y}\n" for a, b, y in NLI),
             "xnli/test-de.tsv": "".join(f"{a}\t{b}\t{y}\n" for a, b, y in NLI)},
    "tatoeba": {"tatoeba/tatoeba.deu-eng.deu": "Hallo.\nDanke.\n", "tatoeba/tatoeba.deu-eng.eng": "Hello.\nThanks.\n"},
}
FIXTURES["ccg"] = {f"ccg/{s}.tsv": "Pierre Vinken will join .\tN/N N (S[dcl]\\NP)/(S[b]\\NP) S[b]\\NP .\n"
                   "He joined .\tNP S[dcl]\\NP .\n" for s in ("train", "dev")}
FIXTURES["pawsx"] = {f"pawsx/x-final/{lang}/{f}": glue(["id", "sentence1", "sentence2", "label"], [
    (1, 'Er sagte "ja".', 'Er sagte "ja".', 1), (2, "A B.", "B A.", 0)]) for lang in ("en", "de")
    for f in ("train.tsv", "dev_2k.tsv", "test_2k.tsv")}
CONLL = {"panx": "de:Hu\tB-LOC\nde:Xi’an\tI-LOC\n\nWEITERLEITUNG\tO\n", "udpos": "Das\tDET\nHaus\tNOUN\n\nJa\tINTJ\n"}
for _t, _text in CONLL.items():
    FIXTURES[_t] = {f"{_t}/{s}-{lang}.tsv": _text for s in ("train", "dev", "test") for lang in ("en", "de")}
FIXTURES["xquad"] = {**FIXTURES["squad_v1"], "xquad/xquad.de.json": json.dumps(SQUAD)}
FIXTURES["bucc"] = {f"bucc/de-en.{s}.{ext}": text for s in ("sample", "training") for ext, text in (
    ("de", "de-1\tDas Haus ist rot.\nde-2\tIch mag Tee.\n"), ("en", "en-1\tThe house is red.\nen-2\tI like tea.\n"),
    ("gold", "de-1\ten-1\nde-2\ten-2\n"))}
FIXTURES["mlqa"] = {**FIXTURES["squad_v1"], "mlqa/MLQA_V1/test/test-context-de-question-de.json": json.dumps(SQUAD)}
TYDI = json.loads(json.dumps(SQUAD))
TYDI["data"][0]["paragraphs"][0]["qas"] = [dict(TYDI["data"][0]["paragraphs"][0]["qas"][0], id="english-1")]
FIXTURES["tydiqa"] = {"tydiqa/tydiqa-goldp-v1.1-train.json": json.dumps(TYDI),
                      **{f"tydiqa/tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-{lang}.json": json.dumps(TYDI) for lang in ("en", "de", "ar")}}
FIXTURES["mlm"] = {f"mlm/{s}.txt": "Das ist ein Satz.\nC'est une phrase.\n这是一个句子。\n" for s in ("train", "dev")}
FIXTURES["anli_plus"] = {**FIXTURES["snli"], **FIXTURES["mnli"], **FIXTURES["anli"]}
SIQA = jsonl([{"context": "Tracy gave Kai a gift.", "question": "How would Kai feel?", "answerA": "happy",
               "answerB": "sad", "answerC": "bored", "correct": "ABC"[i % 3]} for i in range(4)])
FIXTURES["siqa"] = {f"siqa/socialIQa_v1.4_{s}.jsonl": SIQA for s in ("trn", "dev")}
COPA = jsonl([{"premise": "The man broke his toe.", "choice1": "He dropped a hammer on his foot.",
               "choice2": "He got a hole in his sock.", "question": "cause", "label": 0, "idx": i} for i in range(4)])
FIXTURES["copa"] = {f"copa/COPA/{s}.jsonl": COPA for s in ("train", "val")}
FIXTURES["xcopa"] = {**FIXTURES["copa"], **FIXTURES["siqa"], "xcopa/et/test.et.jsonl": COPA}
XQUAD_R = {"data": [{"title": "t", "paragraphs": [{
    "context": "Paris is big. It is the capital of France.", "sentences": ["Paris is big.", "It is the capital of France."],
    "sentence_breaks": [[0, 13], [14, 42]],
    "qas": [{"id": "q1", "question": "What is the capital?", "answers": [{"text": "the capital", "answer_start": 20}]},
            {"id": "q2", "question": "What is big?", "answers": [{"text": "Paris", "answer_start": 0}]}]}]}]}
FIXTURES["lareqa"] = {f"lareqa/xquad-r/{lang}.json": json.dumps(XQUAD_R) for lang in "ar de el en es hi ru th tr vi zh".split()}
MEWSLI = jsonl([{"context": {"text": "Merkel visited Paris. It rained.", "sentence_spans": [{"start": 0, "end": 21},
                                                                                        {"start": 22, "end": 32}]},
                 "mentions": [{"example_id": "m1", "entity_id": "", "mention_span": {"start": 0, "end": 6, "text": "Merkel"}},
                              {"example_id": "m2", "entity_id": "", "mention_span": {"start": 15, "end": 20, "text": "Paris"}}]}])
ENTITIES = [{"entity_id": q, "title": t, "description": d, "sentence_spans": [{"start": 0, "end": len(d)}]}
            for q, t, d in (("Q567", "Angela Merkel", "German politician"), ("Q90", "Paris", "capital of France"),
                            ("Q1", "Universe", "all of space and time"))]
PAIRS = jsonl([{"contextual_mention": {"context": {"text": f"{t} is here.", "sentence_spans": [{"start": 0, "end": len(t) + 9}]},
                                       "mention": {"example_id": f"w{i}", "entity_id": e["entity_id"],
                                                   "mention_span": {"start": 0, "end": len(t), "text": t}}},
                "entity": e} for i, (t, e) in enumerate(zip(("Merkel", "Paris", "Universe"), ENTITIES))])
FIXTURES["mewslix"] = {"mewslix/candidate_set_entities.jsonl": jsonl(ENTITIES),
                       "mewslix/wikinews_mentions/test-de.jsonl": MEWSLI,
                       "mewslix/wikinews_labels/test-de.json": json.dumps({"m1": ["Q567"], "m2": ["Q90"]}),
                       **{f"mewslix/wikipedia_pairs-{s}.jsonl": PAIRS for s in ("train", "dev")}}
FIXTURES["lareqa"].update(FIXTURES["squad_v1"])  # the dual encoder trains on SQuAD v1.1 pairs


TARGETS = ("xnli", "tatoeba", "pawsx", "panx", "udpos", "xquad", "bucc", "mlqa", "tydiqa", "xcopa", "lareqa", "mewslix")


def lang_split(name):
    """A target's test set in German (or its first language), an intermediate task's English dev set."""
    if name not in TARGETS:
        return "en", "dev"
    langs = get_task(name).LANGS
    return ("de" if "de" in langs else langs[0]), "test"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("fixtures")
    for files in FIXTURES.values():
        for rel, text in files.items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_text(text, encoding="utf-8")
    return d


@pytest.mark.parametrize("name", task_names())
def test_load_encode_collate(name, data, tok):
    assert name in FIXTURES, f"tasks/{name}.py has no fixture in tests/test_every_task.py"
    task = get_task(name)
    for attr in ("METRIC", "LANGS", "load"):
        assert hasattr(task, attr), f"tasks/{name}.py lacks {attr}"
    lang, split = lang_split(name)
    examples, skipped = task.load(data, split, lang)
    assert examples and not skipped, (name, skipped)
    if getattr(task, "RETRIEVAL", False):
        return
    features = task.encode(examples, tok, 64)
    ids, mask, labels = batching.collate(features, list(range(len(features))), tok.pad_id, torch.device("cpu"))
    rows = len(features) * (task.CHOICES or 1)
    assert ids.shape[0] == mask.shape[0] == rows and labels.shape[0] == len(features)
    assert (ids[:, 0] == tok.cls_id).all() and mask.sum(1).min() >= 3


@pytest.mark.parametrize("name", task_names())
def test_every_task_appears_in_stats(name, data, capsys):
    lang, split = lang_split(name)
    assert xstilts.main(["stats", "--task", name, "--split", split, "--lang", lang, "--data-dir", str(data),
                         "--model", str(shared("tokenizer", "xlm-roberta")), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["examples"] >= 1 and out["skipped"] == 0  # bucc: one example holds a whole corpus pair; tydiqa: 1


@pytest.mark.parametrize("name, rel, text, message", [
    ("mnli", "mnli/dev_matched.tsv", "index\tsentence1\tsentence2\tgold_label\n0\tA.\tB.\tperhaps\n",
     r"dev_matched.tsv:2 \(label 'perhaps' not in"),
    ("snli", "snli/snli_1.0_dev.jsonl", '{"gold_label": "neutral", "sentence1": "A."}\n', r"snli_1.0_dev.jsonl:1 \(no field 'sentence2'\)"),
    ("cosmosqa", "cosmosqa/valid.csv", "id,context,question,answer0,answer1,answer2,answer3,label\n1,c,q,a,b,c,d,7\n",
     r"valid.csv:2 \(label '7'"),
    ("ccg", "ccg/dev.tsv", "He joined .\tNP S[dcl]\\NP\n", r"dev.tsv:1 \(3 words but 2 supertags\)"),
    ("qqp", "qqp/dev.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n1\t1\t2\tHow?\n",
     r"dev.tsv:2 \(4 columns"),
])
def test_malformed_row_missing_field_and_unknown_label_name_file_and_line(tmp_path, name, rel, text, message):
    from util import UserError
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_text(text, encoding="utf-8")
    examples, skipped = get_task(name).load(tmp_path, "dev", "en")
    with pytest.raises(UserError, match=message):
        reading.check_skipped(examples, skipped, 0.01, f"{name} dev en")


def test_ccg_without_a_file_says_how_to_make_one(tmp_path):
    from util import UserError
    with pytest.raises(UserError, match="missing; make it from CCGbank"):
        get_task("ccg").load(tmp_path, "train")


def test_tagging_head_trains_on_ccg(data, tiny_dir, tmp_path):
    argv = ["intermediate", "--task", "ccg", "--model", str(tiny_dir), "--data-dir", str(data), "--runs-dir",
            str(tmp_path), "--name", "c", "--epochs", "3", "--batch-size", "2", "--dtype", "fp32", "--lr", "1e-2"]
    assert xstilts.main(argv) == 0
    assert 0 <= json.loads((tmp_path / "c" / "results.json").read_text())["ccg"]["en-dev"]["accuracy"] <= 100


def test_eval_bucc_tunes_on_dev_and_scores_test(data, tiny_dir, tmp_path):
    argv = ["eval", "--target", "bucc", "--init", str(tiny_dir), "--data-dir", str(data), "--runs-dir", str(tmp_path),
            "--langs", "de", "--layer", "1", "--dtype", "fp32", "--name", "b"]
    assert xstilts.main(argv) == 0
    res = json.loads((tmp_path / "b" / "results.json").read_text())["bucc"]["de"]
    assert set(res) == {"precision", "recall", "f1", "threshold"} and 0 <= res["f1"] <= 100
