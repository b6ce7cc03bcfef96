"""The demo world (data_scripts/demo.py --world): every file it writes loads with its task's own load() and no
skipped row, in every language it claims; the lexicon makes distinct sentences the tokenizer covers without
<unk>; the tokenizer is the same on every build. (That the demo trains: tests/test_train.py.)"""
import json

import pytest

from data_scripts import demo
from tasks import mnli, pawsx, tatoeba, xnli
from tasks import get_task

NON_EN = demo.LANGS[1:]
FILES = [  # (task, split, lang, rows)
    ("mnli", "train", "en", 900), ("mnli", "dev", "en", 150),
    *[("mnli", "train", lang, 900) for lang in NON_EN],  # XNLI-MT-1.0
    *[("xnli", split, lang, 120) for split in ("dev", "test") for lang in demo.LANGS],
    *[("tatoeba", "test", lang, 120) for lang in NON_EN],
    ("snli", "train", "en", 400), ("snli", "dev", "en", 100),
    ("anli", "train", "en", 300), ("anli", "dev", "en", 120),
    ("qqp", "train", "en", 400), ("qqp", "dev", "en", 100),
    ("sst2", "train", "en", 400), ("sst2", "dev", "en", 100),
    ("pawsx", "train", "en", 400),
    *[("pawsx", split, lang, 100) for split in ("dev", "test") for lang in demo.PAWSX_LANGS],
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    demo.cli(["--world", str(root)])
    return root


def test_world_cli_writes_model_and_data_only(world):
    assert sorted(p.name for p in world.iterdir()) == ["data", "model", "model-deep", "world.json"]  # no demo.yaml
    assert {"config.json", "tokenizer.json", "model.safetensors"} <= {p.name for p in (world / "model").iterdir()}
    assert json.loads((world / "model" / "config.json").read_text())["vocab_size"] <= 2000


def test_languages_are_in_xnli_and_tatoeba_with_typological_spread():
    assert demo.LANGS[0] == "en" and len(NON_EN) >= 9
    assert set(demo.LANGS) <= set(xnli.LANGS) and set(NON_EN) <= set(tatoeba.CODE)
    assert all(demo.TATOEBA[lang] == tatoeba.CODE[lang] for lang in NON_EN)
    assert set(demo.PAWSX_LANGS) == set(demo.LANGS) & set(pawsx.LANGS)
    orders = {lang: demo.LEX[lang]["plain"].replace(" ", "") for lang in demo.LANGS}
    assert {"{S}{V}{O}", "{S}{O}{V}", "{V}{S}{O}"} <= set(orders.values())  # SVO, SOV, VSO


@pytest.mark.parametrize("task, split, lang, rows", FILES, ids=lambda x: str(x))
def test_every_file_loads_with_its_task_and_no_skipped_row(world, task, split, lang, rows):
    examples, skipped = get_task(task).load(world / "data", split, lang)
    assert skipped == [] and len(examples) == rows
    if "label" in examples[0]:  # every class is there, none dominates
        counts = [sum(e["label"] == k for e in examples) for k in sorted({e["label"] for e in examples})]
        assert len(counts) == len(getattr(get_task(task), "LABELS", [0, 1])) and min(counts) > rows / 6, counts


def test_translations_are_line_aligned(world):
    data = world / "data"
    en = mnli.load(data, "train", "en")[0]
    for lang in NON_EN:  # XNLI-MT: row i is row i of MNLI train, translated
        assert [e["label"] for e in mnli.load(data, "train", lang)[0]] == [e["label"] for e in en]
    for split in ("dev", "test"):
        labels = [[e["label"] for e in xnli.load(data, split, lang)[0]] for lang in demo.LANGS]
        assert all(x == labels[0] for x in labels)
    assert xnli.load(data, "dev", "de")[0][0]["a"] != xnli.load(data, "dev", "en")[0][0]["a"]


def test_lexicon_sentences_are_distinct_and_tokenize_without_unk(world):
    from model.tokenizer import Tokenizer
    tok = Tokenizer(world / "model")
    for lang, lex in demo.LEX.items():
        assert [len(lex[k]) for k in ("subj", "verb", "obj")] == [demo.N_SUBJ, demo.N_VERB, demo.N_OBJ], lang
        text = [demo.sentence(lang, *c, f) for c in demo.COMBOS for f in demo.FORMS]
        assert len(set(text)) == len(text), lang  # every proposition and form reads differently
        assert all(3 not in e.ids for e in tok(text, max_len=64)), lang  # 3 = <unk>


def test_agreement_and_negation_examples():
    assert demo.sentence("hi", 0, 0, 0) == "बिल्ली किताब देखती है।"  # feminine subject: -ती
    assert demo.sentence("hi", 1, 0, 1, "neg") == "कुत्ता कोई चिट्ठी नहीं देखता।"
    assert demo.sentence("ar", 0, 0, 0) == "ترى القطة الكتاب."  # VSO, feminine prefix
    assert demo.sentence("de", 0, 0, 1, "neg") == "Die Katze sieht keinen Brief."
    assert demo.sentence("de", 0, 0, 0, "neg") == "Die Katze sieht das Buch nicht."
    assert demo.sentence("de", 1, 1, 0, "front") == "Jeden Morgen nimmt der Hund das Buch."  # verb second
    assert demo.sentence("fr", 0, 0, 1, "neg") == "Le chat ne voit pas de lettre."
    assert demo.sentence("tr", 0, 0, 0, "neg") == "Kedi kitabı görmüyor."  # SOV, negation inside the verb
    assert demo.sentence("zh", 0, 0, 0, "time") == "猫每天早上都看见那本书。"


def test_tokenizer_is_the_same_on_every_build(world, tmp_path):
    demo.make_tokenizer(tmp_path)
    assert (tmp_path / "tokenizer.json").read_bytes() == (world / "model" / "tokenizer.json").read_bytes()


def test_the_second_encoder_has_another_shape_the_same_tokenizer_and_is_deterministic(world, tmp_path):
    config = {name: json.loads((world / name / "config.json").read_text()) for name in demo.SHAPES}
    shape = lambda c: [c[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads")]  # noqa: E731
    assert shape(config["model"]) == [64, 2, 4] and shape(config["model-deep"]) == [48, 3, 4]
    assert (world / "model-deep" / "tokenizer.json").read_bytes() == (world / "model" / "tokenizer.json").read_bytes()
    demo.make_model(tmp_path, config["model"]["vocab_size"], demo.SHAPES["model-deep"], world / "model" / "tokenizer.json")
    for f in ("config.json", "model.safetensors"):  # a pure function of its inputs
        assert (tmp_path / f).read_bytes() == (world / "model-deep" / f).read_bytes(), f


def test_make_demo_keeps_user_runs_and_writes_relative_paths():
    import os
    import shutil

    import yaml
    root = demo.ROOT / "runs" / f".test-demo-{os.getpid()}"  # under the repository: paths become relative
    try:
        demo.main(root)
        (root / "runs" / "mine").mkdir(parents=True)
        (root / "runs" / "mine" / "results.json").write_text("{}")
        (root / "runs" / "demo").mkdir(parents=True)  # the demo's own run: replaced
        config = yaml.safe_load(demo.main(root).read_text())
        assert (root / "runs" / "mine" / "results.json").exists() and not (root / "runs" / "demo").exists()
        assert config["model"] == f"runs/{root.name}/model" and not os.path.isabs(config["data_dir"])
        assert (demo.ROOT / config["model"] / "config.json").exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_second_build_keeps_the_world_another_study_reads(tmp_path):
    """`make demo-study` twice (two studies at once): the second finds the world this same builder made and
    leaves it alone; a world from another builder, or one killed while building, is rebuilt."""
    root = demo.make_world(tmp_path / "w")
    reader = open(root / "model" / "config.json", encoding="utf-8")  # a study still reading it
    mtime = (root / "model" / "config.json").stat().st_mtime_ns
    assert demo.make_world(root) == root and (root / "model" / "config.json").stat().st_mtime_ns == mtime
    assert json.loads(reader.read()) and reader.close() is None
    (root / "world.json").write_text('{"builder": "an older demo.py"}')
    (root / "data" / "stale.txt").write_text("left from the old world")
    demo.make_world(root)
    assert not (root / "data" / "stale.txt").exists() and (root / "world.json").is_file()
