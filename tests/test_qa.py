"""Intermediate tasks on the real files in ../shared/data: parsing counts, gold answer spans (HF squad.py's
whole-word labels, or the tokenizer's offsets), n-best decoding (HF/jiant's, or offsets) with hand-worked
answers on real XQuAD contexts, and the official SQuAD v1/v2 scoring."""
import pytest
import torch
from conftest import shared

from tasks import commonsenseqa, cosmosqa, squad_v1, squad_v2
from tasks.lib import metrics, qa


@pytest.fixture(params=["reference", "offsets"])
def route(request):
    return request.param


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    for task, src, name in (("commonsenseqa", ("commonsenseqa", "dev_rand_split.jsonl"), "dev_rand_split.jsonl"),
                            ("cosmosqa", ("cosmosqa", "valid.csv"), "valid.csv"),
                            ("squad_v2", ("squad_v2", "dev-v2.0.head-Normans.json"), "dev-v2.0.json")):
        (d / task).mkdir()
        (d / task / name).symlink_to(shared(*src))  # read in place, never copied
    return d


def test_real_files_parse_completely(data):
    ex, skipped = commonsenseqa.load(data, "dev")
    assert len(ex) == 1221 and not skipped and all(len(e["choices"]) == 5 for e in ex)
    ex, skipped = cosmosqa.load(data, "dev")  # quoted multi-line CSV fields
    assert len(ex) == 2985 and not skipped and all(len(e["choices"]) == 4 for e in ex)
    ex, skipped = squad_v2.load(data, "dev")
    assert len(ex) == 208 and sum(e["impossible"] for e in ex) == 112 and not skipped
    ex, skipped = squad_v1.read(shared("xquad", "xquad.en.json"))
    assert len(ex) == 1190 and not skipped


def gold_window(tok, e, answer, route):
    features = qa.windows(tok, e["question"], e["context"], answer, 384, route)
    f = next(f for f in features if f["label"] != (0, 0))
    s, t = (x - f["first"] for x in f["label"])
    return features, e["context"][f["offsets"][s][0]:f["offsets"][t][1]]


@pytest.mark.parametrize("source", [("squad_v2", "dev-v2.0.head-Normans.json"), ("xquad", "xquad.en.json")])
def test_gold_spans_map_back_to_the_answer_text(tok, source, route):
    """Exact for every answer whose ends fall on token boundaries. The exceptions: offsets — an answer that
    starts or ends inside a token ("118" of "(118)", "2014" of "2014,"): the span covers it and ends at those
    tokens' edges; reference — HF's whole words, narrowed only where the answer's own pieces match ("24" of
    "24-yard" stays "24-yard"). Counted: offsets 0 of 293 SQuAD v2 answers, 37 of 1190 XQuAD-en; reference 2, 74."""
    examples, _ = squad_v1.read(shared(*source))
    exceptions = 0
    for e in examples:
        for start, text in e["answers"]:
            _, got = gold_window(tok, e, (start, text), route)
            if got != text:
                exceptions += 1
                assert text in got and len(got) - len(text) <= 12, (text, got)
    assert exceptions == {("offsets", "squad_v2"): 0, ("offsets", "xquad"): 37,
                          ("reference", "squad_v2"): 2, ("reference", "xquad"): 74}[route, source[0]]


def label_text(tok, e, route):
    f = next(f for f in qa.windows(tok, e["question"], e["context"], e["answers"][0], 384, route) if f["label"] != (0, 0))
    s, t = (x - f["first"] for x in f["label"])
    return e["context"][f["offsets"][s][0]:f["offsets"][t][1]]


@pytest.mark.parametrize("lang, qid, reference, offsets", [
    ("en", "56beca913aeaaa14008c946d", "24-yard", "24-"),  # hyphen: "▁24" ≠ the word's "▁24-": whole word
    ("en", "570d3468b3d812140066d546", "October 2016).", "October 2016)"),  # punctuation stays with its word
    ("ar", "56e77cee00c9c71400d771a8", "بـــغورو،", "غورو"),  # affix: the prefix بـــ and the comma are one word
    ("en", "56f8720eaef2371900626092", "John C. Messenger", "John C. Messenger"),  # pieces match: 's trimmed
])
def test_training_labels_move_to_whole_words(tok, lang, qid, reference, offsets):
    """HF squad.py: the answer's words, then _improve_answer_span's narrowest sub-span whose pieces equal
    the answer's own ("John C. Messenger" of "Messenger's"); --qa-decode offsets: tokens overlapping it."""
    e = next(e for e in squad_v1.read(shared("xquad", f"xquad.{lang}.json"))[0] if e["id"] == qid)
    for route, want in (("reference", reference), ("offsets", offsets)):
        assert label_text(tok, e, route) == want, route


def test_training_drops_an_answer_not_found_in_whole_words(tmp_path, capsys):
    """HF squad.py drops a training example whose answer, whitespace collapsed, is not in its words: XQuAD-es
    "hasta el 30\xa0%" (a no-break space: one word "30\xa0%" for squad.py, two for Python's split)."""
    (tmp_path / "squad_v1").mkdir()
    (tmp_path / "squad_v1" / "train-v1.1.json").symlink_to(shared("xquad", "xquad.es.json"))
    examples, _ = squad_v1.load(tmp_path, "train")
    assert len(examples) == 1189 and "572920d73f37b31900478056" not in {e["id"] for e in examples}
    assert "dropped 1 of 1190 examples" in capsys.readouterr().out
    assert len(squad_v1.load(tmp_path, "train", route="offsets")[0]) == 1190
    from types import SimpleNamespace
    from tasks import get_task
    from tasks.lib.reading import load_split
    for route, n in (("reference", 1189), ("offsets", 1190)):  # load_split passes --qa-decode down: no global
        cfg = SimpleNamespace(data_dir=tmp_path, max_bad_rows=0.0, qa_decode=route)
        assert len(load_split(cfg, get_task("squad_v1"), "train")) == n, route


def fake_logits(features, v2_null=False):
    """+10 at the gold start/end of each window that holds the answer; the <s> pair wins when v2_null."""
    out = []
    for f in features:
        lg = torch.zeros(len(f["ids"]), 2)
        if f["label"] != (0, 0):
            lg[f["label"][0], 0] = lg[f["label"][1], 1] = 10.0
        if v2_null:
            lg[0] = 30.0
        out.append(lg)
    return out


def test_decoding_gold_spans_on_squad_v2(tok, data, route):
    """Gold spans decode to their first answer exactly, on both routes (the v2 null option included)."""
    examples, _ = squad_v2.load(data, "dev")
    predictions = {}
    for e in examples:
        answer = None if e["impossible"] else e["answers"][0]
        features = qa.windows(tok, e["question"], e["context"], answer, 384, route)
        predictions[e["id"]] = qa.decode(e["context"], features, fake_logits(features, e["impossible"]), route, v2=True)
    result = metrics.squad(predictions, {e["id"]: [t for _, t in e["answers"]] for e in examples}, v2=True)
    assert result == {"exact_match": 100.0, "f1": 100.0}
    assert all(p == next((t for _, t in e["answers"]), "") for e, p in zip(examples, predictions.values()))


def logits_at(features, marks, base=-10.0):
    """Fixed logits: `base` everywhere, then {(window, kind, context token): value}; kind 0 start, 1 end."""
    out = [torch.full((len(f["ids"]), 2), base) for f in features]
    for (w, kind, p), v in marks.items():
        out[w][features[w]["first"] + p - features[w]["start"], kind] = v
    return out


def token(features, context, text, nth=0):
    """The context token that starts `text` (its nth occurrence)."""
    at = -1
    for _ in range(nth + 1):
        at = context.index(text, at + 1)
    return next(features[0]["start"] + i for i, (s, e) in enumerate(features[0]["offsets"]) if s <= at < e)


@pytest.mark.parametrize("lang, first, last, reference, offsets", [
    # punctuation attached: pieces "▁NFL" "'" → "NFL'", not in BERT's "NFL ' s": the whole word
    ("en", "NFL's", "'s active", "NFL's", "NFL'"),
    # hyphenated word: the piece "▁5-" → "5-", not in "5 - time": the whole word
    ("en", "5-time", "5-time", "5-time", "5-"),
    # the piece "1⁄2" is NFKC's ½: not in "6½" → the whole word
    ("en", "½ sacks", "½ sacks", "6½", "½"),
    # affix: "▁ثلاثة" and the bare "▁" split off the start of أخطاء → "ثلاثة", found: just that; offsets take أ
    ("ar", "ثلاثة أخطاء", "أخطاء", "ثلاثة", "ثلاثة أ"),
])
def test_answer_text_hand_worked_on_real_xquad(tok, lang, first, last, reference, offsets):
    """One window; +10 at the span's start and end, -10 elsewhere: the span wins on both routes, and only
    its text differs — HF's get_final_text (reference) or the context's characters (offsets)."""
    c = squad_v1.read(shared("xquad", f"xquad.{lang}.json"))[0][0]["context"]
    fs = qa.windows(tok, "q", c, None, 512)
    s, e = token(fs, c, first), token(fs, c, last)
    if first == "NFL's":
        e = s + 1  # "▁NFL" "'"
    if first == "ثلاثة أخطاء":
        e = s + 1  # "▁ثلاثة" "▁"
    lg = logits_at(fs, {(0, 0, s): 10.0, (0, 1, e): 10.0})
    for route, want in (("reference", reference), ("offsets", offsets)):
        assert qa.decode(c, fs, lg, route=route) == want, route


def test_window_edge_and_max_context_hand_worked(tok):
    """XQuAD-en's first context in 160-token features: windows hold context tokens [0, 155), [128, 283),
    [256, 291). HF keeps a start only in its max-context window: the largest min(left, right) context
    + 0.01 × window length, the first window on ties — token 128 ("who") belongs to window 0 (min(128, 26)
    against 0), token 150 ("starting") to window 1 (min(150, 4) against 22)."""
    c = squad_v1.read(shared("xquad", "xquad.en.json"))[0][0]["context"]
    fs = qa.windows(tok, "q", c, None, 160)
    assert [(f["start"], len(f["offsets"])) for f in fs] == [(0, 155), (128, 155), (256, 35)]
    who, sacks, kony, ealy = token(fs, c, "who had"), token(fs, c, "sacks in"), token(fs, c, "Kony"), token(fs, c, "Ealy")
    assert (who, kony, ealy) == (128, 123, 125)
    # window edge: "who had 5 sacks" scores 20 at window 1's first token, "Kony Ealy" 8 in window 0
    lg = logits_at(fs, {(1, 0, who): 10.0, (1, 1, sacks + 1): 10.0, (0, 0, kony): 4.0, (0, 1, ealy + 1): 4.0})
    expected = {"reference": "Kony Ealy", "offsets": "who had 5 sacks"}
    for route, want in expected.items():
        assert qa.decode(c, fs, lg, route=route) == want, route
    # max-context: "starting linebackers" scores 20 in window 0, "starting line" 12 in window 1
    st = token(fs, c, "starting")
    lg = logits_at(fs, {(0, 0, st): 10.0, (0, 1, st + 3): 10.0, (1, 0, st): 6.0, (1, 1, st + 1): 6.0})
    for route, want in {"reference": "starting line", "offsets": "starting linebackers"}.items():
        assert qa.decode(c, fs, lg, route=route) == want, route


def test_reference_n_best_ranks_all_positions_and_zh_skips_alignment(tok):
    """HF's top-20 starts are taken over every position before the filter: 20 question/special positions
    above the context leave no valid span ("empty", HF's nonce); offsets rank context tokens only. zh
    (align=False, jiant): the detokenized pieces; aligned, BERT splits every CJK character, so the
    whole whitespace word comes back."""
    c = squad_v1.read(shared("xquad", "xquad.en.json"))[0][0]["context"]
    fs = qa.windows(tok, "How many points did the Panthers defense surrender in the regular season?", c, None, 384)
    k = fs[0]["first"]
    assert k == 20  # <s>, 17 question tokens, </s></s>
    lg = torch.full((len(fs[0]["ids"]), 2), -10.0)
    lg[:20, 0] = 20.0  # <s>, the question and the separators
    lg[k + 20, 0], lg[k + 21, 1] = 5.0, 5.0  # a context span
    assert qa.decode(c, fs, [lg], route="reference") == "empty"
    assert qa.decode(c, fs, [lg], route="offsets") == c[fs[0]["offsets"][20][0]:fs[0]["offsets"][21][1]]
    zh = "他说，“北京是首都”。 Then"
    fz = qa.windows(tok, "q", zh, None, 64)
    s = token(fz, zh, "北京")
    lg = logits_at(fz, {(0, 0, s): 10.0, (0, 1, s): 10.0})
    assert fz[0]["vocab"][fz[0]["ids"][fz[0]["first"] + s]] == "北京"
    assert qa.decode(zh, fz, lg, align=False) == "北京"
    assert qa.decode(zh, fz, lg) == "他说，“北京是首都”。"


def test_long_context_becomes_several_windows_and_decodes_across_them(tok):
    context = " ".join(f"word{i}" for i in range(600)) + " The answer is Paris. " + "filler " * 50
    start = context.index("Paris")
    features = qa.windows(tok, "What is the answer?", context, (start, "Paris"), max_len=128)
    assert len(features) > 5 and sum(f["label"] != (0, 0) for f in features) >= 1
    assert all(len(f["ids"]) <= 128 for f in features)
    assert qa.decode(context, features, fake_logits(features)) == "Paris"


def test_official_squad_scoring_hand_checked():
    answers = {"a": ["the Normans", "Normans"], "b": [], "c": ["10th and 11th centuries"], "d": []}
    predictions = {"a": "Normans.", "b": "", "c": "in the 10th century", "d": "France"}
    # a: EM 1 (normalisation drops "the" and "."); b: no answer predicted for no answer: 1/1;
    # c: tokens {in, 10th, century} vs {10th, and, 11th, centuries}: 1 common → F1 = 2/(3+4); d: 0/0
    result = metrics.squad(predictions, answers, v2=True)
    assert result["exact_match"] == pytest.approx(50.0)
    assert result["f1"] == pytest.approx(100 * (1 + 1 + 2 / 7 + 0) / 4)
    assert metrics.squad_normalize("The  Eiffel-Tower!") == "eiffeltower"
    with pytest.raises(ValueError, match="no prediction for 1 questions"):
        metrics.squad({"a": "x"}, {"a": ["x"], "b": ["y"]})


@pytest.mark.parametrize("task, files, metric", [
    ("commonsenseqa", {"train_rand_split.jsonl": ("commonsenseqa", "dev_rand_split.jsonl"),
                       "dev_rand_split.jsonl": ("commonsenseqa", "dev_rand_split.jsonl")}, "accuracy"),
    ("cosmosqa", {"train.csv": ("cosmosqa", "valid.csv"), "valid.csv": ("cosmosqa", "valid.csv")}, "accuracy"),
    ("squad_v2", {"train-v2.0.json": ("squad_v2", "dev-v2.0.head-Normans.json"),
                  "dev-v2.0.json": ("squad_v2", "dev-v2.0.head-Normans.json")}, "f1"),
])
def test_each_head_trains_and_reports_its_metric(tmp_path, tiny_dir, task, files, metric):
    """load → encode → collate → train → select, for the choice and span heads (tiny model, real files)."""
    import json

    import xstilts
    (tmp_path / "data" / task).mkdir(parents=True)
    for name, src in files.items():
        (tmp_path / "data" / task / name).symlink_to(shared(*src))
    argv = ["intermediate", "--task", task, "--model", str(tiny_dir), "--data-dir", str(tmp_path / "data"),
            "--runs-dir", str(tmp_path), "--name", "r", "--max-train-examples", "24", "--eval-examples", "16",
            "--epochs", "1", "--batch-size", "8", "--max-len", "128", "--dtype", "fp32", "--lr", "1e-4"]
    assert xstilts.main(argv) == 0
    result = json.loads((tmp_path / "r" / "results.json").read_text())[task]["en-dev"]
    assert 0.0 <= result[metric] <= 100.0
    if task == "squad_v2":
        assert set(result) == {"exact_match", "f1"}


def test_all_no_answer_predictions_on_the_squad_v2_slice(data):
    """The official v2 rule: an empty prediction is right exactly on the 112 unanswerable questions of 208."""
    examples, _ = squad_v2.load(data, "dev")
    result = metrics.squad({e["id"]: "" for e in examples}, {e["id"]: [t for _, t in e["answers"]] for e in examples},
                           v2=True)
    assert result["exact_match"] == result["f1"] == pytest.approx(100 * 112 / 208)


def test_a_huge_qa_context_is_one_line_not_gigabytes(tok):
    from util import UserError
    from tasks.lib.qa import MAX_CONTEXT, windows
    with pytest.raises(UserError, match="characters \\(over 200,000"):
        windows(tok, "Who?", "word " * (MAX_CONTEXT // 5 + 1))


def test_qa_decode_reaches_labels_and_answers_in_training_and_eval(tmp_path, tiny_dir, monkeypatch):
    """--qa-decode travels as an argument (no module global): the windows' labels and the decoded answers of the
    loop's selection and of `eval` all follow the route given on the command line."""
    import xstilts
    from tasks.lib import qa
    from test_every_task import FIXTURES
    for rel, text in FIXTURES["xquad"].items():
        (tmp_path / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / rel).write_text(text, encoding="utf-8")
    import inspect
    seen = []

    def spy(name, real):
        def call(*a, **k):
            seen.append((name, inspect.signature(real).bind(*a, **k).arguments.get("route", "reference")))
            return real(*a, **k)
        monkeypatch.setattr(qa, name, call)
    spy("windows", qa.windows)
    spy("decode", qa.decode)
    common = ["--data-dir", str(tmp_path / "data"), "--runs-dir", str(tmp_path / "runs"), "--dtype", "fp32",
              "--qa-decode", "offsets", "--max-len", "64"]
    assert xstilts.main(["target", "--task", "xquad", "--init", str(tiny_dir), "--name", "t", "--max-steps", "1",
                         "--batch-size", "2", "--eval-examples", "2", *common]) == 0
    assert xstilts.main(["eval", "--target", "xquad", "--init", str(tmp_path / "runs" / "t"), "--langs", "de",
                         "--name", "e", *common]) == 0
    assert {kind for kind, _ in seen} == {"windows", "decode"} and {route for _, route in seen} == {"offsets"}, seen
