"""Config from YAML: numbers PyYAML reads as strings (1e-5), YAML lists for comma-list keys, wrong types named."""
import pytest
import yaml

from chain.config import Config, merge
from util import UserError


def test_yaml_numbers_and_lists_as_a_first_config_writes_them():
    values = yaml.safe_load("lr: 1e-5\nadam_eps: 1e-8\ntargets: [xnli, tatoeba]\nlangs: [de, fr]\nepochs: 3\n")
    assert isinstance(values["lr"], str)  # what PyYAML does: the reason for the rule
    cfg = merge(Config(), values, "exp.yaml")
    assert (cfg.lr, cfg.adam_eps, cfg.targets, cfg.langs, cfg.epochs) == (1e-5, 1e-8, "xnli,tatoeba", "de,fr", 3.0)


@pytest.mark.parametrize("text, message", [("lr: fast", "lr='fast' should be float"),
                                           ("batch_size: [1, 2]", "should be int"),
                                           ("targets: {a: 1}", "should be str"), ("lrr: 1", "unknown key 'lrr'")])
def test_wrong_values_name_the_key(text, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[")):
        merge(Config(), yaml.safe_load(text), "exp.yaml")


def test_help_explains_every_flag_with_the_tasks_own_defaults(capsys):
    import xstilts
    from chain.config import Config, explained
    from dataclasses import fields
    assert set(explained()) == {f.name for f in fields(Config)}  # every field carries its explanation
    with pytest.raises(SystemExit):
        xstilts.main(["target", "--task", "panx", "-h"])
    out = " ".join(capsys.readouterr().out.split())
    assert "passes over the training data (fractions allowed) (default 10.0, panx's)" in out  # not Config's 2.0
    assert "peak AdamW learning rate (default 1e-05)" in out and "examples: python xstilts.py target" in out


def test_tasks_lists_every_task_with_kind_and_data(capsys):
    import xstilts
    from tasks import task_names
    assert xstilts.main(["tasks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == task_names()
    kinds = {line.split()[0]: line.split()[1] for line in lines}
    assert (kinds["mnli"], kinds["xnli"], kinds["tatoeba"]) == ("intermediate", "target", "retrieval")
    assert "user-supplied" in next(line for line in lines if line.startswith("ccg "))


def test_results_table_mixes_metrics_cell_by_cell(tmp_path, capsys):
    import json

    from chain.rundir import write_results
    write_results(tmp_path, {"xnli": {"de": {"accuracy": 40.0}}, "udpos": {"de": {"f1": 70.0, "precision": 71.0,
                             "recall": 69.0}}, "xquad": {"de": {"exact_match": 30.0, "f1": 45.0}},
                             "bucc": {"de": {"f1": 50.0, "precision": 60.0, "recall": 42.0, "threshold": 1.1}}})
    saved = json.loads((tmp_path / "results.json").read_text())
    header, _, *rows = (tmp_path / "results.md").read_text().splitlines()
    columns = [c.strip() for c in header.strip("|").split("|")][2:]
    for row in rows:
        task, lang, *cells = [c.strip() for c in row.strip("|").split("|")]
        lang = lang.split(" (")[0]  # "avg (languages: 1)"
        assert len(cells) == len(columns)
        for column, cell in zip(columns, cells):  # each value under its own metric, blanks where a task has none
            want = saved[task][lang].get(column)
            assert cell == ("" if want is None else f"{want:.2f}"), (task, lang, column)
    assert "threshold" not in saved["bucc"]["avg"] and saved["bucc"]["avg"]["f1"] == 50.0


def test_an_average_over_more_languages_than_a_suite_also_gives_the_suites_own(tmp_path):
    import json

    from chain.rundir import write_results
    from tasks.lib.submission import SUITES
    from tasks.tatoeba import LANGS
    scores = {lang: {"accuracy": float(i)} for i, lang in enumerate(LANGS)}
    write_results(tmp_path, {"tatoeba": scores})
    saved, table = json.loads((tmp_path / "results.json").read_text())["tatoeba"], (tmp_path / "results.md").read_text()
    want = SUITES["xtreme"][0]["tatoeba"]  # XTREME's 36 of the 41
    assert saved["avg-xtreme"]["accuracy"] == sum(scores[lg]["accuracy"] for lg in want) / len(want)
    assert f"| avg-xtreme (languages: {len(want)}) |" in table and "avg-xtreme-r" not in saved
    assert f"| avg (languages: {len(LANGS)}, = xtreme-r) |" in table and saved["avg"]["accuracy"] == (len(LANGS) - 1) / 2


def test_the_shipped_example_config_resolves_with_relative_paths_and_is_the_readme_one():
    from pathlib import Path

    from chain.config import read_yaml, resolve
    root = Path(__file__).resolve().parents[1]
    values = read_yaml(root / "chain" / "example.yaml")
    cfg = resolve(values["task"], (values, "chain/example.yaml"))  # 1e-5 and YAML lists accepted as written
    assert cfg.lr == 1e-5 and cfg.targets == "xnli,pawsx,tatoeba" and cfg.langs == "" and cfg.layer == -1
    assert not any(Path(str(v)).is_absolute() for v in values.values())
    assert "run --config chain/example.yaml" in (root / "README.md").read_text()
