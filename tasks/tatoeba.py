"""Tatoeba: sentence retrieval, no training — the intermediate encoder is evaluated directly (SPEC §3-4).

For each English sentence, the foreign sentence with the highest cosine similarity of their sentence
vectors (mean of hidden_states[layer] over non-pad tokens, layer 14 of XLM-R large by default; --layer
and --pool change it); accuracy = share whose nearest neighbour is its own translation.
36 XTREME languages + XTREME-R's az lt pl uk ro. Files: <data-dir>/tatoeba/tatoeba.{xxx}-eng.{xxx} and .eng
(LASER's v1 test set, line-aligned).
Submission files follow XTREME (utils_preprocess.py tatoeba_preprocess, third_party/utils_retrieve.py
similarity_search) and jiant's XTREME export (download_data/dl_datasets/xtreme.py) alike: the English side is
sorted by its stripped text (a stable sort), predictions/labels hold one line per English sentence in that
order, each the LASER row of the foreign sentence retrieved / of its translation. Accuracy does not depend
on the order. Exactly equal cosines: the lowest foreign row wins (faiss's order may differ; SPEC §4).
Get them: python -m data_scripts.tatoeba.
"""
import numpy as np

from util import UserError
from tasks.lib import reading, retrieval

METRIC = "accuracy"
RETRIEVAL = True
MAX_LEN = 512  # SPEC §6: retrieval max length
CODE = dict(ar="ara", he="heb", vi="vie", id="ind", jv="jav", tl="tgl", eu="eus", ml="mal", ta="tam", te="tel",
            af="afr", nl="nld", de="deu", el="ell", bn="ben", hi="hin", mr="mar", ur="urd", fa="pes", fr="fra",
            it="ita", pt="por", es="spa", bg="bul", ru="rus", ja="jpn", ka="kat", ko="kor", th="tha", sw="swh",
            zh="cmn", kk="kaz", tr="tur", et="est", fi="fin", hu="hun",  # XTREME's 36 → LASER's file codes
            az="aze", lt="lit", pl="pol", uk="ukr", ro="ron")  # + XTREME-R's 5
LANGS = list(CODE)


def load(data_dir, split, lang):
    """Line-aligned pairs: [dict(foreign=..., english=...)], row i = the i-th translation pair."""
    if lang not in CODE:
        raise UserError(f"tatoeba has no language {lang!r}; its languages are {' '.join(LANGS)}.")
    xxx = CODE[lang]
    paths = [reading.data_file(data_dir, "tatoeba", f"tatoeba.{xxx}-eng.{side}") for side in (xxx, "eng")]
    foreign, english = ("\n".join(line for _, line in reading.read_lines(p)).rstrip("\n").split("\n") for p in paths)
    if len(foreign) != len(english):
        raise UserError(f"{paths[0]} has {len(foreign)} lines but {paths[1]} has {len(english)}; "
                               "the two sides must be line-aligned.")
    return [dict(foreign=f, english=e) for f, e in zip(foreign, english)], []


def evaluate(model, tok, cfg, examples, device):
    """→ ({"accuracy": ...}, the foreign row retrieved per English sentence, the gold rows), both in XTREME's
    order (English sorted by text)."""
    vec = lambda side: retrieval.embed(model, tok, [e[side] for e in examples], cfg.layer, cfg.pool, MAX_LEN,
                                    cfg.eval_batch_size, cfg.dtype)
    pred = retrieval.nearest(vec("english"), vec("foreign"), device=device)  # (n,) foreign row per English row
    order = sorted(range(len(pred)), key=lambda i: examples[i]["english"].strip())  # XTREME's order: a stable sort
    return ({"accuracy": 100.0 * float((pred == np.arange(len(pred))).mean())}, pred[order].tolist(), order)
