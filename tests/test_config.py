"""Config from YAML: numbers PyYAML reads as strings (1e-5), YAML lists for comma-list keys, wrong types named."""
import pytest
import yaml

from chain.config import Config, merge
from model import UserError


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
