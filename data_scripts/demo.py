"""`make demo`: the whole X-STILTs chain offline in about a minute on 2 CPU cores.

Builds, under runs/demo/ (wiped first): a tokenizer trained with `tokenizers` on sentences made from the
small en/de/fr/es lexicon below (the text this project ships), a tiny randomly initialised XLM-R-shaped
model saved in the Hugging Face layout, and sample data in the real file formats — GLUE MNLI train/dev
TSVs, the official XNLI-1.0 xnli.{dev,test}.tsv, LASER Tatoeba pairs — then runs
`xstilts.py run --config runs/demo/demo.yaml` (MNLI → XNLI → zero-shot eval → Tatoeba retrieval).
The NLI data is templated (negation → contradiction, an added time phrase → neutral), so the English
loss falls quickly; a tiny model with a 1k-word vocabulary transfers little across languages.
"""
import json
import random
import shutil
import sys
from pathlib import Path

import torch
import yaml
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LANGS = ("en", "de", "fr", "es")
SUBJ = [("the cat", "die Katze", "le chat", "el gato"), ("the dog", "der Hund", "le chien", "el perro"),
        ("my brother", "mein Bruder", "mon frère", "mi hermano"), ("the teacher", "der Lehrer", "le professeur",
        "el profesor"), ("the girl", "das Mädchen", "la fille", "la niña"), ("the old man", "der alte Mann",
        "le vieil homme", "el anciano"), ("our neighbour", "unser Nachbar", "notre voisin", "nuestro vecino"),
        ("the doctor", "die Ärztin", "le médecin", "la doctora")]
VERB = [("reads", "read", "liest", "lit", "lee"), ("sees", "see", "sieht", "voit", "ve"),
        ("takes", "take", "nimmt", "prend", "toma"), ("looks for", "look for", "sucht", "cherche", "busca"),
        ("carries", "carry", "trägt", "porte", "lleva"), ("finds", "find", "findet", "trouve", "encuentra")]
OBJ = [("the book", "das Buch", "le livre", "el libro"), ("a letter", "einen Brief", "une lettre", "una carta"),
       ("the red ball", "den roten Ball", "le ballon rouge", "la pelota roja"),
       ("a newspaper", "eine Zeitung", "un journal", "un periódico"),
       ("the key", "den Schlüssel", "la clé", "la llave"),
       ("a small box", "eine kleine Kiste", "une petite boîte", "una caja pequeña")]
TIME = ("every morning", "jeden Morgen", "chaque matin", "cada mañana")


def sentence(lang, s, v, o, form="plain"):
    """form: plain | neg (contradicts plain) | time (adds information: neutral to plain)."""
    i = LANGS.index(lang)
    S, O, V = SUBJ[s][i], OBJ[o][i], VERB[v][i + 1 if i else 0]
    text = {"en": {"plain": f"{S} {V} {O}", "neg": f"{S} does not {VERB[v][1]} {O}", "time": f"{S} {V} {O} {TIME[0]}"},
            "de": {"plain": f"{S} {V} {O}", "neg": f"{S} {V} {O} nicht", "time": f"{S} {V} {TIME[1]} {O}"},
            "fr": {"plain": f"{S} {V} {O}", "neg": f"{S} ne {V} pas {O}", "time": f"{S} {V} {O} {TIME[2]}"},
            "es": {"plain": f"{S} {V} {O}", "neg": f"{S} no {V} {O}", "time": f"{S} {V} {O} {TIME[3]}"}}[lang][form]
    return text[0].upper() + text[1:] + "."


def nli(lang, rng):
    s, v, o = rng.randrange(len(SUBJ)), rng.randrange(len(VERB)), rng.randrange(len(OBJ))
    label = rng.choice(["entailment", "neutral", "contradiction"])
    if label == "entailment":  # the time phrase entails the plain sentence
        return sentence(lang, s, v, o, rng.choice(["plain", "time"])), sentence(lang, s, v, o), label
    if label == "contradiction":
        return sentence(lang, s, v, o), sentence(lang, s, v, o, "neg"), label
    if rng.random() < 0.5:
        return sentence(lang, s, v, o), sentence(lang, s, v, o, "time"), label
    return sentence(lang, s, v, o), sentence(lang, s, v, (o + 1) % len(OBJ)), label  # another object


def write_tsv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join("\t".join(map(str, r)) for r in ([header] if header else []) + rows) + "\n",
                    encoding="utf-8")


def make_data(data, rng):
    glue = "index promptID pairID genre sentence1_binary_parse sentence2_binary_parse sentence1_parse " \
           "sentence2_parse sentence1 sentence2 label1 gold_label".split()
    for split, n in (("train", 900), ("dev_matched", 150)):
        rows = [(i, i, f"{i}e", "demo", "-", "-", "-", "-", a, b, y, y) for i, (a, b, y) in
                enumerate(nli("en", rng) for _ in range(n))]
        write_tsv(data / "mnli" / f"{split}.tsv", glue, rows)
    xnli = "language gold_label sentence1_binary_parse sentence2_binary_parse sentence1_parse sentence2_parse " \
           "sentence1 sentence2 promptID pairID genre label1 label2 label3 label4 label5".split()
    for split, n in (("dev", 150), ("test", 150)):
        rows = []
        for lang in LANGS:
            for i in range(n):
                a, b, y = nli(lang, rng)
                rows.append((lang, "contradictory" if y == "contradiction" else y, "-", "-", "-", "-", a, b, i, i,
                             "demo", y, y, y, y, y))
        write_tsv(data / "xnli" / "XNLI-1.0" / f"xnli.{split}.tsv", xnli, rows)
    combos = [(s, v, o) for s in range(len(SUBJ)) for v in range(len(VERB)) for o in range(len(OBJ))]
    for lang, xxx in (("de", "deu"), ("fr", "fra"), ("es", "spa")):
        pairs = [(c, rng.choice(["plain", "plain", "neg"])) for c in rng.sample(combos, 120)]
        for side, lg in ((xxx, lang), ("eng", "en")):  # line i of each side: the same sentence, translated
            write_tsv(data / "tatoeba" / f"tatoeba.{xxx}-eng.{side}", None, [(sentence(lg, *c, f),) for c, f in pairs])


def make_tokenizer(out):
    """A Unigram tokenizer in XLM-R's layout: <s> <pad> </s> <unk> first, Metaspace, <s> A </s></s> B </s>."""
    text = [sentence(lang, s, v, o, f) for lang in LANGS for s in range(len(SUBJ)) for v in range(len(VERB))
            for o in range(len(OBJ)) for f in ("plain", "neg", "time")]
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(text, trainers.UnigramTrainer(
        vocab_size=1000, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], unk_token="<unk>"))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.save(str(out / "tokenizer.json"))
    return tok.get_vocab_size()


def make_model(out, vocab):
    from model.load import save_model
    from model.xlmr import XLMR, XLMRConfig
    cfg = dict(vocab_size=vocab, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256,
               max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1,
               hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    torch.manual_seed(0)
    model = XLMR(XLMRConfig.from_dict(cfg))
    with torch.no_grad():  # XLM-R's initialisation: N(0, 0.02) weights, zero biases, unit LayerNorms
        for name, p in model.named_parameters():  # the only 1-D weights are LayerNorm gains
            p.normal_(0, 0.02) if p.ndim == 2 else p.fill_(1.0 if name.endswith("weight") else 0.0)
    model.raw_config = cfg
    save_model(model, out, tokenizer_file=out / "tokenizer.json")


def main(root=ROOT / "runs" / "demo"):
    shutil.rmtree(root, ignore_errors=True)
    (root / "model").mkdir(parents=True)
    make_data(root / "data", random.Random(0))
    make_model(root / "model", make_tokenizer(root / "model"))
    config = dict(model=str(root / "model"), task="mnli", targets="xnli,tatoeba", data_dir=str(root / "data"),
                  runs_dir=str(root / "runs"), name="demo", langs="en,de,fr,es", lr=1e-3, batch_size=16,
                  epochs=4.0, max_len=64, dtype="fp32", eval_every=25, save_every=50, eval_examples=150,
                  layer=1, seed=1)
    (root / "demo.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    print(f"demo inputs in {root}: tokenizer + tiny model ({json.loads((root / 'model' / 'config.json').read_text())['hidden_size']}"
          f"-wide, 2 layers), MNLI/XNLI/Tatoeba files in their official formats")
    return root / "demo.yaml"


if __name__ == "__main__":
    main()
