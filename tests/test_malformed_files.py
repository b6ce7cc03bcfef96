"""Bad data files, one line or the right answer: every file every task reads (tests/test_every_task.py's
fixtures), mutated — invalid UTF-8, a BOM, CRLF, a NUL, wrong-shaped JSON, empty, header only, a 3 MB line — ends
in either a one-line UserError naming the file or the clean file's examples (modulo the mutated row), never
another exception (issue 10; the bad-inputs report's matrix). Then the single cases: UD-POS `\\tX`, XNLI-1.0's
stray tab and missing language, BUCC's BOM and unknown gold ids, Cosmos QA's quotes and long fields, and the
scorer's (`score`) shapes, types, encodings, partial folders and --langs."""
import json
import re

import pytest
from test_every_task import FIXTURES, data, lang_split  # noqa: F401 (data: the fixture files, per module)

from util import UserError
from tasks import get_task, task_names
from tasks.lib import batching, reading, submission

FILL = "lorem" * 600_000  # a 3 MB word: the readers must take it in stride (the tokenizer is not run here)
MUTATIONS = ["invalid-utf8", "bom", "crlf", "nul", "wrong-json", "empty", "header-only", "huge-line"]
HEADER = ("mnli/", "qqp/", "sst2/", "pawsx/", "cosmosqa/")  # files whose first line names the columns
OFFSETS = ("mewslix",)  # character offsets into the text: a longer text is other data, not a mutated row


def mutate(rel, data, how):
    """bytes → bytes; None where the mutation does not apply to this file."""
    if how in ("bom", "crlf", "empty"):
        return {"bom": b"\xef\xbb\xbf" + data, "crlf": data.replace(b"\n", b"\r\n"), "empty": b""}[how]
    if how == "header-only":
        return data.split(b"\n")[0] + b"\n" if rel.startswith(HEADER) else None
    if how == "wrong-json":
        if rel.endswith(".jsonl"):
            return b"[1, 2]\n" * 3
        return b'{"data": "abc"}' if rel.endswith(".json") else None
    lines = data.split(b"\n")
    i = max(j for j, line in enumerate(lines) if line.strip())  # the last row
    m = re.search(rb"[A-Za-z](?= [A-Za-z])", lines[i]) or re.search(rb".(?=\t)", lines[i])  # inside a text field
    at = m.end() if m else len(lines[i])
    insert = {"invalid-utf8": b"\xff", "nul": b"\x00", "huge-line": FILL.encode()}[how]
    lines[i] = lines[i][:at] + insert + lines[i][at:]
    return b"\n".join(lines)



def outcome(name, data, monkeypatch=None):
    """The examples a task loads (its malformed-row check passed), or the UserError it stops with; with
    monkeypatch, also the files it read (every reader goes through reading.read_lines)."""
    read, (lang, split) = set(), lang_split(name)
    if monkeypatch:
        real = reading.read_lines
        monkeypatch.setattr(reading, "read_lines", lambda path: (read.add(str(path)), real(path))[1])
    try:
        examples, skipped = get_task(name).load(data, split, lang)
        return reading.check_skipped(examples, skipped, 0.01, name), read
    except UserError as e:
        return e, read


@pytest.mark.parametrize("how", MUTATIONS)
@pytest.mark.parametrize("name", task_names())
def test_a_mutated_file_is_one_line_or_read_right(name, how, data, monkeypatch, capsys):  # capsys: the notes
    clean, read = outcome(name, data, monkeypatch)
    monkeypatch.undo()
    assert read and not isinstance(clean, Exception), (name, clean)
    for path in map(type(data), sorted(read)):
        rel = str(path.relative_to(data))
        original = path.read_bytes()
        new = mutate(rel, original, how)
        if new is None:
            continue
        path.write_bytes(new)
        try:
            got, _ = outcome(name, data)
        finally:
            path.write_bytes(original)
        if isinstance(got, UserError):
            msg = str(got)
            assert "\n" not in msg and str(path) in msg and len(msg) < 1000, (rel, how, msg[:1000])
            assert how in ("invalid-utf8", "nul", "wrong-json", "empty", "header-only", "huge-line"), (rel, how, msg)
            want = {"invalid-utf8": rf"{re.escape(str(path))}:\d+: not UTF-8", "empty": "the file is empty",
                    "header-only": "only a header line"}.get(how, "")
            assert re.search(want, msg), (rel, how, msg)
        else:
            assert how in ("bom", "crlf", "nul", "huge-line"), (rel, how, "accepted")
            drop = {"nul": "\\x00", "huge-line": FILL}.get(how, "")
            assert name in OFFSETS and drop or repr(got).replace(drop, "") == repr(clean), (rel, how)


def write(root, rel, text):
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return root / rel


def test_a_conll_line_with_no_word_is_reported_and_never_merges_sentences(tmp_path):
    from tasks import udpos
    write(tmp_path, "udpos/test-de.tsv", "Das\tDET\nHaus\tNOUN\n\tX\nJa\tINTJ\n")
    examples, skipped = udpos.load(tmp_path, "test", "de")
    assert [e["words"] for e in examples] == [["Das", "Haus"], ["Ja"]]
    assert len(skipped) == 1 and skipped[0][0].endswith("test-de.tsv:3") and "no token before the tab" in skipped[0][1]


def test_official_xnli_stray_tab_is_malformed_and_a_missing_language_is_named(tmp_path):
    from tasks import xnli
    cols = "language gold_label s1b s2b s1p s2p sentence1 sentence2 promptID pairID genre".split()
    rows = ["\t".join(cols), "de\tentailment\t-\t-\t-\t-\tEr kam.\tEr kam.\t1\t1\tx",
            "de\tentailment\t-\t-\t-\t-\tEr\tkam.\tEr kam.\t1\t1\tx", "fr\tneutral\t-\t-\t-\t-\tIl.\tIl.\t1\t1\tx"]
    write(tmp_path, "xnli/XNLI-1.0/xnli.test.tsv", "\n".join(rows) + "\n")
    examples, skipped = xnli.load(tmp_path, "test", "de")
    assert examples == [dict(a="Er kam.", b="Er kam.", label=0)]  # the shifted row is not read as Er / kam.
    assert skipped[0][0].endswith("xnli.test.tsv:3") and skipped[0][1] == "12 columns, the header has 11"
    with pytest.raises(UserError, match=r"xnli.test.tsv has no rows for language ar; it holds de fr: use --langs"):
        xnli.load(tmp_path, "test", "ar")


def test_bucc_bom_keeps_the_first_id_and_an_unknown_gold_id_is_one_line(tmp_path):
    from tasks import bucc
    for split in ("sample", "training"):
        write(tmp_path, f"bucc/de-en.{split}.de", b"\xef\xbb\xbfde-1\tDas Haus.\r\nde-2\tTee.\n")
        write(tmp_path, f"bucc/de-en.{split}.en", "en-1\tThe house.\nen-2\tTea.\n\n")
        write(tmp_path, f"bucc/de-en.{split}.gold", "de-1\ten-1\nde-2\ten-2\n")
    (ex,), skipped = bucc.load(tmp_path, "test", "de")
    assert ex["src"] == {"de-1": "Das Haus.", "de-2": "Tee."} and ex["gold"] == {("de-1", "en-1"), ("de-2", "en-2")}
    assert not skipped
    write(tmp_path, "bucc/de-en.training.gold", "de-1\ten-1\nde-3\ten-2\n")
    with pytest.raises(UserError, match=r"de-en.training.gold:2: the gold pair 'de-3' 'en-2' names an id the "
                                        r"de-en.training.de file lacks"):
        bucc.load(tmp_path, "test", "de")


def test_an_empty_anli_round_and_empty_mewslix_mentions_are_named(tmp_path):
    for rel, text in [*FIXTURES["anli"].items(), *FIXTURES["mewslix"].items()]:
        write(tmp_path, rel, text)
    write(tmp_path, "anli/anli_v1.0/R2/dev.jsonl", "\n\n")
    with pytest.raises(UserError, match=r"R2/dev.jsonl: the file is empty"):
        get_task("anli").load(tmp_path, "dev")
    write(tmp_path, "mewslix/wikinews_mentions/test-de.jsonl", "")
    with pytest.raises(UserError, match=r"test-de.jsonl: the file is empty"):
        get_task("mewslix").load(tmp_path, "test", "de")
    write(tmp_path, "mewslix/wikinews_mentions/test-de.jsonl", FIXTURES["mewslix"]["mewslix/wikinews_mentions/test-de.jsonl"])
    write(tmp_path, "mewslix/wikinews_labels/test-de.json", '["Q567", "Q90"]')
    with pytest.raises(UserError, match=r"test-de.json: the file holds a JSON list; expected \{example_id"):
        get_task("mewslix").load(tmp_path, "test", "de")


def test_cosmosqa_long_field_is_read_and_an_unclosed_quote_is_one_malformed_row(tmp_path):
    from tasks import cosmosqa
    head = FIXTURES["cosmosqa"]["cosmosqa/valid.csv"].split("\n")[0]
    text = FIXTURES["cosmosqa"]["cosmosqa/valid.csv"].replace("Line one,", "Line one, " + "x" * 200_000, 1)
    write(tmp_path, "cosmosqa/valid.csv", text)
    examples, skipped = cosmosqa.load(tmp_path, "dev")
    assert len(examples) == 3 and not skipped and len(examples[0]["question"]) > 200_000
    lines = FIXTURES["cosmosqa"]["cosmosqa/valid.csv"].split("\n")
    lines[4] = lines[4].replace(",Why?", ',"Why?', 1)  # the second record's question opens a quote never closed
    write(tmp_path, "cosmosqa/valid.csv", "\n".join(lines))
    examples, skipped = cosmosqa.load(tmp_path, "dev")
    assert len(examples) == 1 and skipped[0][0].endswith("valid.csv:4") and "quote" in skipped[0][1]
    write(tmp_path, "cosmosqa/valid.csv", head + "\n")
    with pytest.raises(UserError, match="valid.csv: only a header line"):
        cosmosqa.load(tmp_path, "dev")


def test_skipped_rows_are_noted_and_recorded_and_a_missing_field_is_named(tmp_path, capsys):
    from tasks import snli
    rows = [{"gold_label": "neutral", "sentence1": "A.", "sentence2": "B."}] * 199 + [{"gold_label": "neutral"}]
    write(tmp_path, "snli/snli_1.0_dev.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    notes = []
    examples = reading.check_skipped(*snli.load(tmp_path, "dev"), 0.01, "snli dev en", notes)
    first = f"{tmp_path / 'snli/snli_1.0_dev.jsonl'}:200 (no field 'sentence1')"
    assert len(examples) == 199 and notes == [dict(what="snli dev en", skipped=1, total=200, first=first)]
    assert f"note: snli dev en: skipped 1 malformed of 200 rows, first at {first}" in capsys.readouterr().out


def test_token_lengths_count_one_sequence_per_choice():
    features = [dict(ids=[[0, 5, 2], [0, 5, 6, 7, 8, 2]], label=0), dict(ids=[0, 9, 2], label=1)]
    assert [len(s) for f in features for s in batching.sequences(f)] == [3, 6, 3]
    assert [batching.length(f) for f in features] == [12, 3]  # what a batch pays: padded to the longest choice


# the scorer ----------------------------------------------------------------------------------------------------

def folder(root, suite="xtreme-r", tasks=("xnli", "xquad", "xcopa", "lareqa")):
    """Predictions equal to the labels for a few tasks of the suite."""
    langs, _ = submission.SUITES[suite]
    for kind in ("predictions", "labels"):
        for t in tasks:
            for lg in langs[t]:
                value = {"xnli": ["entailment", "neutral", "contradiction"], "xcopa": [0, 1, 1],
                         "xquad": {"q1": ["Paris"], "q2": ["the capital"]} if kind == "labels" else {"q1": "Paris", "q2": "the capital"},
                         "lareqa": {"q1": ["a", "b"], "q2": ["c"]}}[t]
                write(root / kind, f"{t}/test-{lg}.{submission.suffix(t)}", submission.render(t, value, gold=kind == "labels"))
    return root / "predictions", root / "labels"


@pytest.mark.parametrize("task, text, message", [
    ("xquad", '["Paris", "the capital"]', r"not the xquad layout \(a JSON list; expected \{id: answer text\}\)"),
    ("xquad", '{"q1": 5, "q2": null}', r"not the xquad layout \('q1': 5; expected \{id: answer text\}\)"),
    ("lareqa", '{"q1": "ab", "q2": "c"}', r"not the lareqa layout \('q1': 'ab'; expected \{id: \[ids or texts\]\}\)"),
    ("lareqa", '[["a"], ["c"]]', r"not the lareqa layout \(a JSON list"),
    ("xcopa", '{"label": 0}\n{"label": 2}\n{"label": 1}\n', r"not the xcopa layout \(label 2 is not 0 or 1\)"),
    ("xnli", b"entailment\n\xff\xfe\nneutral\n", r"xnli/test-de.tsv:2: not UTF-8"),
])
def test_score_a_prediction_of_the_wrong_shape_or_type_is_one_line(tmp_path, task, text, message):
    pred, gold = folder(tmp_path)
    write(pred, f"{task}/test-de.{submission.suffix(task)}" if task != "xcopa" else "xcopa/test-et.jsonl", text)
    with pytest.raises(UserError, match=message) as e:
        submission.score(pred, gold, "xtreme-r", [task])
    assert "\n" not in str(e.value)


def test_score_bom_strings_and_trailing_blank_lines_read_right(tmp_path, capsys):
    pred, gold = folder(tmp_path)
    write(pred, "xnli/test-ar.tsv", b"\xef\xbb\xbfentailment\r\nneutral\r\ncontradiction\r\n\n\n")
    write(pred, "xcopa/test-et.jsonl", '{"label": "0"}\n{"label": "1"}\n{"label": 1}\n\n')
    write(pred, "xquad/test-de.json", b"\xef\xbb\xbf" + json.dumps({"q1": "Paris", "q2": "the capital"}).encode())
    s = submission.score(pred, gold, "xtreme-r")
    assert s["xnli"]["avg_accuracy"] == s["xcopa"]["avg_accuracy"] == s["xquad"]["avg_f1"] == 100.0
    assert s["lareqa"]["avg_metric"] == 100.0 and "all_task" not in s and s["classification"] == 100.0
    assert "has no udpos panx mlqa tydiqa tatoeba mewslix folder: not scored, so no all_task" in capsys.readouterr().out


def test_score_out_a_folder_is_named_and_langs_give_a_partial_table(tmp_path):
    pred, gold = folder(tmp_path)
    with pytest.raises(UserError, match=rf"--out {re.escape(str(tmp_path))}: is a folder"):
        submission.score(pred, gold, "xtreme-r", out=tmp_path)
    (pred / "xnli" / "test-de.tsv").unlink()  # a partial folder: --langs scores what is there
    s = submission.score(pred, gold, "xtreme-r", ["xnli", "xquad"], langs=["ar", "en"], out=tmp_path / "s.json")
    assert s["partial"] is True and "classification" not in s and "all_task" not in s
    assert set(s["xnli"]["accuracy"]) == {"ar", "en"} and json.loads((tmp_path / "s.json").read_text()) == s
    table = submission.per_language(s).splitlines()
    assert table[0].split() == ["task", "metric", "ar", "en", "avg"] and table[2].split() == ["xquad", "f1", "100.0", "100.0", "100.0"]
    with pytest.raises(UserError, match="--langs: no task scored .* has qq"):
        submission.score(pred, gold, "xtreme-r", ["xnli"], langs=["qq"])
    with pytest.raises(UserError, match="1 files missing, e.g. .*xnli/test-de.tsv"):
        submission.score(pred, gold, "xtreme-r", ["xnli"], langs=["de"])
