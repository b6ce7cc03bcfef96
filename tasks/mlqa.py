"""MLQA: extractive QA, a target; trains on SQuAD v1.1 (English), zero-shot test with the question in the
context's language (SPEC §3). Scored with MLQA's own normalisation (tasks/lib/metrics.py: mlqa).
Files: <data-dir>/mlqa/MLQA_V1/test/test-context-{lang}-question-{lang}.json (MLQA_V1.zip).
Answer text (--qa-decode reference, the default) follows jiant, the paper's pipeline: HF's
compute_predictions_logits with get_final_text, except zh, where jiant skips that alignment
(skip_get_final_text) and returns the detokenized pieces; XTREME's run_squad aligns zh too.
"""
from tasks import squad_v1
from tasks.lib import reading

HEAD, METRIC, HPARAMS, V2 = "span", "f1", squad_v1.HPARAMS, False
QA_SCORER = "mlqa"  # its test files: MLQA's own per-language normalisation (tasks/lib/metrics.py: mlqa)
SUFFIX = "json"  # submission: {question id: answer text}; labels: SQuAD JSON
LANGS = "ar de en es hi vi zh".split()
TRAIN_ON = "squad_v1"
encode = squad_v1.encode


def load(data_dir, split, lang="en", route="reference"):
    if split != "test":
        return squad_v1.load(data_dir, split, route=route)  # English SQuAD v1.1: training and selection
    path = f"MLQA_V1/test/test-context-{lang}-question-{lang}.json"
    examples, skipped = squad_v1.read(reading.data_file(data_dir, "mlqa", path))
    for e in examples:
        e["lang"], e["align"] = lang, lang != "zh"  # the scorer normalises per language; jiant: zh unaligned
    return examples, skipped
