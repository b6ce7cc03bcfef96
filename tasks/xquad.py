"""XQuAD: SQuAD v1.1 dev translated into 11 languages, a target: trains on SQuAD v1.1 (English), selects
on SQuAD v1.1 dev, zero-shot test here. SQuAD v1.1 EM/F1 for every language (SPEC §3, §5).
Files: <data-dir>/xquad/xquad.{lang}.json (deepmind/xquad).
Answer text (--qa-decode reference, the default) follows jiant, the paper's pipeline: HF's
compute_predictions_logits with get_final_text, except zh, where jiant skips that alignment
(skip_get_final_text) and returns the detokenized pieces; XTREME's run_squad aligns zh too.
"""
from tasks import squad_v1
from tasks.lib import reading

HEAD, METRIC, HPARAMS, V2 = "span", "f1", squad_v1.HPARAMS, False
SUFFIX = "json"  # submission: {question id: answer text}; labels: SQuAD JSON
LANGS = "ar de el en es hi ru th tr vi zh ro".split()  # ro: XTREME-R
TRAIN_ON = "squad_v1"
encode = squad_v1.encode


def load(data_dir, split, lang="en", route="reference"):
    if split != "test":
        return squad_v1.load(data_dir, split, route=route)  # English SQuAD v1.1: training and selection
    examples, skipped = squad_v1.read(reading.data_file(data_dir, "xquad", f"xquad.{lang}.json"))
    for e in examples:
        e["align"] = lang != "zh"  # jiant: no get_final_text for zh (tasks/lib/qa.py: decode)
    return examples, skipped
