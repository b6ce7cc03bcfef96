"""UD-POS (Universal Dependencies v2.5, XTREME's preparation), a target: trains on English treebanks,
zero-shot on 33 languages (XTREME, UD v2.5) + lt pl uk wo ro (XTREME-R, UD v2.7). Scored with seqeval's chunk
F1 like XTREME (bare UPOS tags merge into chunks; SPEC §5). Long sentences are split as in tasks/panx.py
(jiant's 254 sub-words, not XTREME's 125). Files: <data-dir>/udpos/{train,dev,test}-{lang}.tsv,
`word<TAB>UPOS`, blank line between sentences.
"""
from tasks import panx
from tasks.lib import reading

HEAD = "tag"
LABELS = "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
METRIC = "f1"
LANGS = ("af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo "
         "zh lt pl uk wo ro").split()
HPARAMS = dict(batch_size=32, epochs=10.0, max_len=256)  # SPEC §6
TRAIN_SIZE = 21_253  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 22.8  # real tokens per training example: python -m studies.tokens
encode = panx.encode


def load(data_dir, split, lang="en"):
    return panx.read_conll(reading.data_file(data_dir, "udpos", f"{split}-{lang}.tsv"), LABELS, f"{lang}:")
