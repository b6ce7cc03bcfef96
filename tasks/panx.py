"""PAN-X (WikiANN NER), a target: trains on English, zero-shot on 40 languages (+ XTREME-R's qu pl uk az lt
pa gu ro); seqeval chunk F1 (SPEC §3, §5).

Files: <data-dir>/panx/{train,dev,test}-{lang}.tsv — XTREME's preparation: `token<TAB>IOB2 tag` (tokens may
carry a `lang:` prefix, stripped), a blank line between sentences. Sentences longer than max_len are cut
into several segments so that every word is scored (XTREME's rule), never truncated.
Known difference, kept (jiant, the paper's code base, is followed): a segment holds up to max_len - 2 sub-words
(254 at the default 256, as jiant); XTREME's utils_preprocess.py splits at its script's max length 128 less the
special tokens (125), so long sentences are cut at other places. tasks/udpos.py shares this.
"""
from tasks.lib import heads, reading

HEAD = "tag"
LABELS = "B-LOC B-ORG B-PER I-LOC I-ORG I-PER O".split()
METRIC = "f1"
LANGS = ("af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru sw ta te th "
         "tl tr ur vi yo zh qu pl uk az lt pa gu ro").split()
HPARAMS = dict(batch_size=32, epochs=10.0, max_len=256)  # SPEC §6
TRAIN_SIZE = 20_000  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 14.1  # real tokens per training example: python -m studies.tokens


def read_conll(path, labels, prefix=""):
    """Blank-line separated `token<TAB>tag` sentences → [dict(words, label)]; a bad line drops its sentence, named
    by file:line. A line with no token (`\tX`) is malformed, and ends its sentence as the blank line it stands
    for (two sentences never merge). A token starting with `prefix` (XTREME's optional "de:") loses it."""
    examples, skipped, words, tags, bad = [], [], [], [], None
    for n, line in [*reading.read_lines(path), (0, "")]:
        cols = line.split("\t")
        if not cols[0].strip():  # a sentence ends
            if line.strip():
                skipped.append((f"{path}:{n}", f"no token before the tab ({line.strip()!r:.60}); a sentence "
                                               "ends at a blank line"))
            if words and bad is None:
                examples.append(dict(words=words, label=[labels.index(t) for t in tags]))
            elif bad:
                skipped.append(bad)
            words, tags, bad = [], [], None
        elif len(cols) != 2 or cols[1] not in labels:
            bad = bad or (f"{path}:{n}", f"expected token<TAB>tag with a tag in {labels}, got {line.strip()!r:.60}")
        else:
            words.append(cols[0][len(prefix):] if prefix and cols[0].startswith(prefix) else cols[0])
            tags.append(cols[1])
    return examples, skipped


def load(data_dir, split, lang="en"):
    return read_conll(reading.data_file(data_dir, "panx", f"{split}-{lang}.tsv"), LABELS, f"{lang}:")


def encode(examples, tok, max_len):
    """First sub-token of each word carries its label; a sentence too long for max_len becomes several
    segments (consecutive words), each `<s> ... </s>`, so no word goes unscored."""
    out = []
    for i, e in enumerate(examples):
        pieces = [p.ids[1:-1] for p in tok([[w] for w in e["words"]], max_len=max_len, words=True)]
        seg_ids, seg_labels = [], []
        for w, (ids, lab) in enumerate(zip(pieces, e["label"])):
            ids = ids[: max_len - 2] or [tok.rust.token_to_id("<unk>")]  # one word never spans segments
            if len(seg_ids) + len(ids) > max_len - 2:
                out.append(dict(ids=[tok.cls_id, *seg_ids, tok.sep_id], label=[heads.IGNORE, *seg_labels, heads.IGNORE],
                                example=i))
                seg_ids, seg_labels = [], []
            seg_ids += ids
            seg_labels += [lab] + [heads.IGNORE] * (len(ids) - 1)
        out.append(dict(ids=[tok.cls_id, *seg_ids, tok.sep_id], label=[heads.IGNORE, *seg_labels, heads.IGNORE],
                        example=i))
    return out
