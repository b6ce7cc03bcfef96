"""TyDiQA-GoldP: extractive QA with the gold passage, a target. Trains on the English part of the GoldP
training set only (ids starting "english-"); the dev sets serve as test, one per language (SPEC §3).
Files: <data-dir>/tydiqa/tydiqa-goldp-v1.1-train.json and tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-{lang}.json
(XTREME's per-language split of the dev file). SQuAD v1.1 EM/F1. Labels and answer text (--qa-decode
reference, the default) follow jiant, the paper's pipeline, through HF's squad.py / squad_metrics.py:
whole-word training labels (answers not found dropped), get_final_text for every language.
"""
from tasks import squad_v1
from util import UserError
from tasks.lib import reading

HEAD, METRIC, HPARAMS, V2 = "span", "f1", squad_v1.HPARAMS, False
SUFFIX = "json"  # submission: {question id: answer text}; labels: SQuAD JSON
TRAIN_SIZE = 3_696  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 222.0  # squad_v1's (same input shape; not measured): studies/tokens.py
LANGS = "ar bn en fi id ko ru sw te".split()
encode = squad_v1.encode


def load(data_dir, split, lang="en", route="reference"):
    if split == "train":  # English only (SPEC §3), from the multilingual GoldP training file
        path = reading.data_file(data_dir, "tydiqa", "tydiqa-goldp-v1.1-train.json")
        examples, skipped = squad_v1.read(path)
        english = [e for e in examples if e["id"].startswith("english-")]
        if examples and not english:
            raise UserError(f"{path} has no rows for language en (ids english-...); is it the GoldP "
                                   "training file?")
        return squad_v1.keep_found(english, skipped, "tydiqa train", route)
    if split == "dev" and lang == "en" or split == "test":
        return squad_v1.read(reading.data_file(data_dir, "tydiqa", f"tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-{lang}.json"))
    raise UserError("tydiqa has splits train (English), dev (English dev) and test (per-language dev).")
