"""Adding a task = one file (STYLE.md): a throw-away classification target, written by this test into a temp
folder and made a task by appending that folder to tasks.__path__, goes through the public command line —
`target`, `eval`, `score` and `compare` — with no edit anywhere else (no scoring branch, no table of folders,
suffixes or metrics)."""
import importlib
import json
import random
import sys

import pytest

import xstilts
import tasks

NAME = "toynli"
TASK_FILE = '''"""A throw-away 3-label NLI target (tests/test_new_task.py): English train/dev, tests in en and de."""
from tasks import mnli
from tasks.lib import reading

HEAD = "classify"
LABELS = ["entailment", "neutral", "contradiction"]
METRIC = "accuracy"
LANGS = ["en", "de"]
HPARAMS = dict(batch_size=8, epochs=1.0, max_len=64)
FILES = {"train": "train.tsv", "dev": "dev.tsv", "test": "test-{lang}.tsv"}
encode = mnli.encode


def load(data_dir, split, lang="en"):
    def parse(cols):
        return dict(a=cols[0], b=cols[1], label=LABELS.index(cols[2]))
    return reading.read_tsv(reading.data_file(data_dir, "toynli", FILES[split].format(lang=lang)), parse)
'''
WORDS = {"en": "the cat dog sat ran on a mat in house red blue".split(),
         "de": "die Katze Hund sass lief auf einer Matte im Haus rot blau".split()}


@pytest.fixture
def toy_task(tmp_path, monkeypatch):
    """tasks/toynli.py, living in a temp folder only; gone from the package after the test."""
    folder = tmp_path / "extra_tasks"
    folder.mkdir()
    (folder / f"{NAME}.py").write_text(TASK_FILE, encoding="utf-8")
    monkeypatch.setattr(tasks, "__path__", [*tasks.__path__, str(folder)])
    importlib.invalidate_caches()
    yield NAME
    sys.modules.pop(f"tasks.{NAME}", None)


def write_data(root):
    rng = random.Random(0)
    labels = ["entailment", "neutral", "contradiction"]
    for name, lang, n in (("train", "en", 48), ("dev", "en", 16), ("test-en", "en", 12), ("test-de", "de", 12)):
        rows = [f"{' '.join(rng.sample(WORDS[lang], 4))}\t{' '.join(rng.sample(WORDS[lang], 3))}\t{rng.choice(labels)}"
                for _ in range(n)]
        path = root / NAME / f"{name}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def test_a_new_target_is_one_file(toy_task, demo_root, tmp_path, capsys):
    assert toy_task in tasks.task_names() and tasks.get_task(toy_task).FOLDER == toy_task
    data, runs = write_data(tmp_path / "data"), tmp_path / "runs"
    common = ["--data-dir", str(data), "--runs-dir", str(runs), "--dtype", "fp32"]
    assert xstilts.main(["target", "--task", toy_task, "--init", str(demo_root / "model"), *common,
                         "--max-steps", "2", "--eval-examples", "8", "--name", "t"]) == 0
    assert (runs / "t" / "head.safetensors").exists()

    assert xstilts.main(["eval", "--target", toy_task, "--init", str(runs / "t"), *common, "--name", "ev"]) == 0
    ev = runs / "ev"
    for kind in ("predictions", "labels"):  # the task file's folder (its name) and suffix (tsv, the default)
        assert sorted(p.name for p in (ev / kind / toy_task).iterdir()) == ["test-de.tsv", "test-en.tsv"]
    results = json.loads((ev / "results.json").read_text(encoding="utf-8"))
    printed = capsys.readouterr().out
    assert f"{toy_task} de: accuracy" in printed

    out = tmp_path / "scores.json"
    assert xstilts.main(["score", "--predictions", str(ev / "predictions"), "--labels", str(ev / "labels"),
                         "--tasks", toy_task, "--out", str(out)]) == 0
    scores = json.loads(out.read_text(encoding="utf-8"))
    assert set(scores[toy_task]["accuracy"]) == {"en", "de"} and "all_task" not in scores
    assert scores[toy_task]["avg_metric"] == scores[toy_task]["avg_accuracy"]
    assert f"{toy_task}  accuracy" in capsys.readouterr().out
    for lang in ("en", "de"):  # `score` recomputes from the files what `eval` measured
        assert scores[toy_task]["accuracy"][lang] == results[toy_task][lang]["accuracy"]

    cmp = tmp_path / "cmp.json"
    assert xstilts.main(["compare", f"a={ev}", f"b={ev}", "--baseline", "a", "--out", str(cmp)]) == 0
    table = json.loads(cmp.read_text(encoding="utf-8"))["table"]
    assert table[f"{toy_task}/de"]["a"] == [pytest.approx(scores[toy_task]["accuracy"]["de"])]
    assert f"| {toy_task} | de |" in capsys.readouterr().out

