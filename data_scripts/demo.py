"""The offline demo world: a tokenizer, a tiny model and templated data in the official file formats.

    python data_scripts/demo.py                      # `make demo`: runs/demo/ (wiped) + demo.yaml, then
                                                     #   xstilts.py run --config runs/demo/demo.yaml
    python data_scripts/demo.py --world runs/demo-world   # the world only (what the studies' demos use)

The world (make_world) is <root>/model/ — a Unigram tokenizer (~1.1k pieces, the same on every build) trained on
every sentence the lexicon below can make, and a tiny seeded random XLM-R-shaped model in the Hugging Face
layout —, <root>/model-deep/ (another shape and seed, the same tokenizer: the encoders study's second encoder) and <root>/data/<task>/ in each task's official layout, every file readable by tasks/<task>.load:
  mnli     GLUE train.tsv (900) / dev_matched.tsv (150); XNLI-MT-1.0 multinli.train.{lang}.tsv for every
           non-English language: the same 900 rows translated, XNLI-MT's "contradictory" spelling
  xnli     XNLI-1.0 xnli.{dev,test}.tsv (19 columns): 120 pairs per split, the same pairs in all 11 languages
  tatoeba  LASER tatoeba.{xxx}-eng.{xxx,eng}: 120 line-aligned pairs for each non-English language
  snli     snli_1.0_{train,dev}.jsonl (400 / 100)      anli  anli_v1.0/R{1,2,3}/{train,dev}.jsonl (100 / 40 each)
  qqp      GLUE {train,dev}.tsv (400 / 100)            sst2  GLUE {train,dev}.tsv (400 / 100)
  pawsx    x-final/{lang}/: en train.tsv (400); dev_2k.tsv and test_2k.tsv (100, the same pairs) in en de es fr zh
The languages (LANGS) spread over word orders — SVO en fr es ru sw vi zh, V2 de, SOV tr hi, VSO ar — and
scripts (Latin, Cyrillic, Devanagari, Arabic, Han); each is in XNLI and in Tatoeba.
Every sentence is one simple present-tense proposition, subject × verb × object, in four forms: plain,
neg (contradicts plain), time (adds "every morning": entails plain) and front (the time phrase elsewhere:
a paraphrase of time). The tasks are templates over those forms — NLI: time/plain → plain entails, → neg
contradicts, plain → time or another object is neutral (ANLI: the premise is two sentences); QQP / PAWS-X:
the time phrase moved is a paraphrase, another object (PAWS-X: or subject) is not; SST-2 "sentiment":
affirmative = positive, negated = negative. The English loss falls quickly; a tiny random model
transfers little across languages.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import unicodedata
from pathlib import Path

import torch
import yaml
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Per language: 8 subjects, 6 verbs, 6 objects (index i means the same thing in every language), the time
# phrase, and the word order of the plain (and neg), timed and front forms. "a|b": a when affirmative, b when
# negated; one form serves both. Negation is on the verb (tr inside it: gör-mü-yor; sw ha-…-i) or, in German,
# on the object ("das Buch nicht", "keinen Brief"). Negated indefinites: fr "de lettre", de "kein", es
# "ninguna", vi "… nào", hi "कोई", ru genitive "письма", zh without the numeral ("信"). fem: subjects whose
# verb is feminine (Hindi -ती, Arabic ت-). Every subject is animate: Swahili verbs take class-1 a-/ha-.
LEX = {
    "en": dict(subj=["the cat", "the dog", "my brother", "the teacher", "the girl", "the old man", "our neighbour",
                     "the doctor"],
               verb=["sees|does not see", "takes|does not take", "carries|does not carry", "finds|does not find",
                     "wants|does not want", "holds|does not hold"],
               obj=["the book", "a letter", "the red ball", "a newspaper", "the key", "a small box"],
               time="every morning", plain="{S} {V} {O}", timed="{S} {V} {O} {T}", front="{T}, {S} {V} {O}"),
    "de": dict(subj=["die Katze", "der Hund", "mein Bruder", "der Lehrer", "das Mädchen", "der alte Mann",
                     "unser Nachbar", "die Ärztin"],
               verb=["sieht", "nimmt", "trägt", "findet", "möchte", "hält"],
               obj=["das Buch|das Buch nicht", "einen Brief|keinen Brief", "den roten Ball|den roten Ball nicht",
                    "eine Zeitung|keine Zeitung", "den Schlüssel|den Schlüssel nicht",
                    "eine kleine Kiste|keine kleine Kiste"],
               time="jeden Morgen", plain="{S} {V} {O}", timed="{S} {V} {T} {O}", front="{T} {V} {S} {O}"),
    "fr": dict(subj=["le chat", "le chien", "mon frère", "le professeur", "la fille", "le vieil homme",
                     "notre voisin", "le médecin"],
               verb=["voit|ne voit pas", "prend|ne prend pas", "porte|ne porte pas", "trouve|ne trouve pas",
                     "veut|ne veut pas", "tient|ne tient pas"],
               obj=["le livre", "une lettre|de lettre", "le ballon rouge", "un journal|de journal", "la clé",
                    "une petite boîte|de petite boîte"],
               time="chaque matin", plain="{S} {V} {O}", timed="{S} {V} {O} {T}", front="{T}, {S} {V} {O}"),
    "es": dict(subj=["el gato", "el perro", "mi hermano", "el profesor", "la niña", "el anciano", "nuestro vecino",
                     "la doctora"],
               verb=["ve|no ve", "toma|no toma", "lleva|no lleva", "encuentra|no encuentra", "quiere|no quiere",
                     "sostiene|no sostiene"],
               obj=["el libro", "una carta|ninguna carta", "la pelota roja", "un periódico|ningún periódico",
                    "la llave", "una caja pequeña|ninguna caja pequeña"],
               time="cada mañana", plain="{S} {V} {O}", timed="{S} {V} {O} {T}", front="{T}, {S} {V} {O}"),
    "ru": dict(subj=["кошка", "собака", "мой брат", "учитель", "девочка", "старик", "наш сосед", "врач"],
               verb=["видит|не видит", "берёт|не берёт", "носит|не носит", "находит|не находит", "хочет|не хочет",
                     "держит|не держит"],
               obj=["книгу", "письмо|письма", "красный мяч", "газету|газеты", "ключ",
                    "маленькую коробку|маленькой коробки"],
               time="каждое утро", plain="{S} {V} {O}", timed="{S} {T} {V} {O}", front="{T} {S} {V} {O}"),
    "tr": dict(subj=["kedi", "köpek", "erkek kardeşim", "öğretmen", "kız", "yaşlı adam", "komşumuz", "doktor"],
               verb=["görüyor|görmüyor", "alıyor|almıyor", "taşıyor|taşımıyor", "buluyor|bulmuyor",
                     "istiyor|istemiyor", "tutuyor|tutmuyor"],
               obj=["kitabı", "bir mektup", "kırmızı topu", "bir gazete", "anahtarı", "küçük bir kutu"],
               time="her sabah", plain="{S} {O} {V}", timed="{S} {T} {O} {V}", front="{T} {S} {O} {V}"),
    "sw": dict(subj=["paka", "mbwa", "kaka yangu", "mwalimu", "msichana", "mzee", "jirani yetu", "daktari"],
               verb=["anaona|haoni", "anachukua|hachukui", "anabeba|habebi", "anapata|hapati", "anataka|hataki",
                     "anashika|hashiki"],
               obj=["kitabu", "barua", "mpira mwekundu", "gazeti", "ufunguo", "sanduku dogo"],
               time="kila asubuhi", plain="{S} {V} {O}", timed="{S} {V} {O} {T}", front="{T} {S} {V} {O}"),
    "vi": dict(subj=["con mèo", "con chó", "anh trai tôi", "thầy giáo", "cô bé", "ông lão", "hàng xóm của chúng tôi",
                     "bác sĩ"],
               verb=["nhìn thấy|không nhìn thấy", "lấy|không lấy", "mang|không mang", "tìm thấy|không tìm thấy",
                     "muốn|không muốn", "cầm|không cầm"],
               obj=["quyển sách", "một lá thư|lá thư nào", "quả bóng đỏ", "một tờ báo|tờ báo nào", "chìa khóa",
                    "một cái hộp nhỏ|cái hộp nhỏ nào"],
               time="mỗi sáng", plain="{S} {V} {O}", timed="{S} {V} {O} {T}", front="{T}, {S} {V} {O}"),
    "hi": dict(subj=["बिल्ली", "कुत्ता", "मेरा भाई", "शिक्षक", "लड़की", "बूढ़ा आदमी", "हमारा पड़ोसी", "डॉक्टर"],
               fem=(0, 4, 7),
               verb=["देखता है|नहीं देखता", "लेता है|नहीं लेता", "ले जाता है|नहीं ले जाता",
                     "ढूँढ लेता है|नहीं ढूँढ पाता", "चाहता है|नहीं चाहता", "पकड़ता है|नहीं पकड़ता"],
               obj=["किताब", "एक चिट्ठी|कोई चिट्ठी", "लाल गेंद", "एक अख़बार|कोई अख़बार", "चाबी",
                    "एक छोटा डिब्बा|कोई छोटा डिब्बा"],
               time="हर सुबह", plain="{S} {O} {V}", timed="{S} {T} {O} {V}", front="{T} {S} {O} {V}", end="।"),
    "ar": dict(subj=["القطة", "الكلب", "أخي", "المعلم", "البنت", "الرجل العجوز", "جارنا", "الطبيبة"],
               fem=(0, 4, 7),
               verb=["يرى|لا يرى", "يأخذ|لا يأخذ", "يحمل|لا يحمل", "يجد|لا يجد", "يريد|لا يريد", "يمسك|لا يمسك"],
               obj=["الكتاب", "رسالة", "الكرة الحمراء", "جريدة", "المفتاح", "علبة صغيرة"],
               time="كل صباح", plain="{V} {S} {O}", timed="{V} {S} {O} {T}", front="{T} {V} {S} {O}"),
    "zh": dict(subj=["猫", "狗", "我哥哥", "老师", "女孩", "老爷爷", "我们的邻居", "医生"],
               verb=["看见|看不见", "拿走|不拿走", "带着|不带", "找到|找不到", "想要|不想要", "拿着|没拿着"],
               obj=["那本书", "一封信|信", "那个红球", "一份报纸|报纸", "那把钥匙", "一个小盒子|小盒子"],
               time="每天早上", plain="{S}{V}{O}", timed="{S}{T}都{V}{O}", front="{T}{S}都{V}{O}", end="。"),
}
LANGS = tuple(LEX)  # "en" first
FORMS = ("plain", "neg", "time", "front")
N_SUBJ, N_VERB, N_OBJ = (len(LEX["en"][k]) for k in ("subj", "verb", "obj"))
COMBOS = [(s, v, o) for s in range(N_SUBJ) for v in range(N_VERB) for o in range(N_OBJ)]  # every proposition
NLI_LABELS = ("entailment", "neutral", "contradiction")
TATOEBA = dict(de="deu", fr="fra", es="spa", ru="rus", tr="tur", sw="swh", vi="vie", hi="hin", ar="ara", zh="cmn")
PAWSX_LANGS = ("en", "de", "es", "fr", "zh")


def feminine(lang, verb):
    """Hindi verbs agree with the subject's gender (देखता → देखती), Arabic ones by their prefix (يرى → ترى)."""
    words = verb.split()
    if lang == "hi":
        return " ".join(w[:-2] + "ती" if w.endswith("ता") else w for w in words)
    i = next(i for i, w in enumerate(words) if w.startswith("ي"))
    return " ".join(words[:i] + ["ت" + words[i][1:]] + words[i + 1:])


def sentence(lang, s, v, o, form="plain"):
    """Subject s, verb v, object o in one of FORMS: plain | neg (contradicts plain) | time (adds a time
    phrase: entails plain) | front (the time phrase in another position: a paraphrase of time)."""
    lex, neg = LEX[lang], form == "neg"
    pick = lambda entry: entry.split("|")[-1 if neg else 0]
    verb = pick(lex["verb"][v])
    if s in lex.get("fem", ()):
        verb = feminine(lang, verb)
    order = lex[{"plain": "plain", "neg": "plain", "time": "timed", "front": "front"}[form]]
    text = order.format(S=lex["subj"][s], V=verb, O=pick(lex["obj"][o]), T=lex["time"])
    return unicodedata.normalize("NFC", text[0].upper() + text[1:] + lex.get("end", "."))


def nli_item(rng):
    """One NLI pair, language-free: ((s, v, o, form), (s, v, o, form), label); sentence() renders it."""
    s, v, o = rng.choice(COMBOS)
    label = rng.choice(NLI_LABELS)
    if label == "entailment":  # a time phrase only adds: the longer sentence entails the plain one
        return (s, v, o, rng.choice(["plain", "time", "front"])), (s, v, o, "plain"), label
    if label == "contradiction":
        return (s, v, o, rng.choice(["plain", "time"])), (s, v, o, "neg"), label
    if rng.random() < 0.5:
        return (s, v, o, "plain"), (s, v, o, rng.choice(["time", "front"])), label
    return (s, v, o, "plain"), (s, v, (o + 1) % N_OBJ, "plain"), label  # another object: may or may not hold


def nli(lang, rng):
    """(premise, hypothesis, label) in lang."""
    a, b, label = nli_item(rng)
    return sentence(lang, *a), sentence(lang, *b), label


def paraphrase_item(rng, change_subject=False):
    """(spec 1, spec 2, 1 | 0): the time phrase always moves (time ↔ front); a non-paraphrase also changes the
    object (or, with change_subject, half the time the subject: high word overlap, as in PAWS)."""
    (s, v, o), (f1, f2) = rng.choice(COMBOS), rng.sample(["time", "front"], 2)
    if rng.random() < 0.5:
        return (s, v, o, f1), (s, v, o, f2), 1
    if change_subject and rng.random() < 0.5:
        return (s, v, o, f1), ((s + rng.randrange(1, N_SUBJ)) % N_SUBJ, v, o, f2), 0
    return (s, v, o, f1), (s, v, (o + rng.randrange(1, N_OBJ)) % N_OBJ, f2), 0


def write_tsv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join("\t".join(map(str, r)) for r in ([header] if header else []) + rows) + "\n",
                    encoding="utf-8")


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def make_data(data, rng, translated=()):
    """The chain's files: MNLI (GLUE), XNLI (XNLI-1.0) in LANGS, Tatoeba for LANGS[1:]; and, for each
    language in `translated`, XNLI-MT-1.0's machine-translated MNLI train (here: the same rows, rendered)."""
    glue = "index promptID pairID genre sentence1_binary_parse sentence2_binary_parse sentence1_parse " \
           "sentence2_parse sentence1 sentence2 label1 gold_label".split()
    train = [nli_item(rng) for _ in range(900)]
    for split, items in (("train", train), ("dev_matched", [nli_item(rng) for _ in range(150)])):
        rows = [(i, i, f"{i}e", "demo", "-", "-", "-", "-", sentence("en", *a), sentence("en", *b), y, y)
                for i, (a, b, y) in enumerate(items)]
        write_tsv(data / "mnli" / f"{split}.tsv", glue, rows)
    for lang in translated:  # XNLI-MT spells the third label "contradictory"
        rows = [(sentence(lang, *a), sentence(lang, *b), "contradictory" if y == "contradiction" else y)
                for a, b, y in train]
        write_tsv(data / "mnli" / "XNLI-MT-1.0" / "multinli" / f"multinli.train.{lang}.tsv",
                  ["premise", "hypo", "label"], rows)
    xnli = "language gold_label sentence1_binary_parse sentence2_binary_parse sentence1_parse sentence2_parse " \
           "sentence1 sentence2 promptID pairID genre label1 label2 label3 label4 label5 sentence1_tokenized " \
           "sentence2_tokenized match".split()
    for split in ("dev", "test"):  # as in XNLI, the same pairs translated into every language
        items, rows = [nli_item(rng) for _ in range(120)], []
        for lang in LANGS:
            for i, (p, h, y) in enumerate(items):
                a, b = sentence(lang, *p), sentence(lang, *h)
                rows.append((lang, y, "", "", "", "", a, b, i, i, "demo", y, y, y, y, y, a, b, "True"))
        write_tsv(data / "xnli" / "XNLI-1.0" / f"xnli.{split}.tsv", xnli, rows)
    for lang, xxx in TATOEBA.items():  # 120 distinct sentences; line i of each side is the same sentence
        pairs = rng.sample([(*c, f) for c in COMBOS for f in FORMS], 120)
        for side, lg in ((xxx, lang), ("eng", "en")):
            write_tsv(data / "tatoeba" / f"tatoeba.{xxx}-eng.{side}", None, [(sentence(lg, *p),) for p in pairs])


def make_tasks(data, rng):
    """The other English intermediate tasks (SNLI, ANLI, QQP, SST-2) and PAWS-X, in their official layouts."""
    snli = lambda i, a, b, y: dict(annotator_labels=[y], captionID=f"demo{i}.jpg#0", gold_label=y, pairID=f"demo{i}",
                                   sentence1=a, sentence1_binary_parse="", sentence1_parse="", sentence2=b,
                                   sentence2_binary_parse="", sentence2_parse="")
    for split, n in (("train", 400), ("dev", 100)):
        write_jsonl(data / "snli" / f"snli_1.0_{split}.jsonl", [snli(i, *nli("en", rng)) for i in range(n)])
    for r in ("R1", "R2", "R3"):  # two-sentence premises: the hypothesis is about one of them
        for split, n in (("train", 100), ("dev", 40)):
            rows = [anli(f"{r}-{split}-{i}", rng) for i in range(n)]
            write_jsonl(data / "anli" / "anli_v1.0" / r / f"{split}.jsonl", rows)
    for split, n in (("train", 400), ("dev", 100)):
        rows = [(i, 2 * i, 2 * i + 1, sentence("en", *a), sentence("en", *b), y)
                for i, (a, b, y) in enumerate(paraphrase_item(rng) for _ in range(n))]
        write_tsv(data / "qqp" / f"{split}.tsv", ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"], rows)
        forms = [rng.choice(["plain", "time", "front"]) if rng.random() < 0.5 else "neg" for _ in range(n)]
        rows = [(sentence("en", *rng.choice(COMBOS), f), int(f != "neg")) for f in forms]  # affirmative: positive
        write_tsv(data / "sst2" / f"{split}.tsv", ["sentence", "label"], rows)
    pawsx = ["id", "sentence1", "sentence2", "label"]
    items = [paraphrase_item(rng, change_subject=True) for _ in range(400)]
    write_tsv(data / "pawsx" / "x-final" / "en" / "train.tsv", pawsx,
              [(i + 1, sentence("en", *a), sentence("en", *b), y) for i, (a, b, y) in enumerate(items)])
    for name in ("dev_2k", "test_2k"):  # as in PAWS-X, the same pairs translated into every language
        items = [paraphrase_item(rng, change_subject=True) for _ in range(100)]
        for lang in PAWSX_LANGS:
            write_tsv(data / "pawsx" / "x-final" / lang / f"{name}.tsv", pawsx,
                      [(i + 1, sentence(lang, *a), sentence(lang, *b), y) for i, (a, b, y) in enumerate(items)])


def anli(uid, rng):
    """An ANLI row: the premise is an NLI premise and an unrelated sentence (another subject), in either order."""
    a, b, y = nli_item(rng)
    other = next(c for c in iter(lambda: rng.choice(COMBOS), None) if c[0] != a[0])
    context = [sentence("en", *a), sentence("en", *other, rng.choice(FORMS))]
    rng.shuffle(context)
    return dict(uid=uid, context=" ".join(context), hypothesis=sentence("en", *b), label=y[0], model_label=y[0],
                emturk=False, genre="demo", reason="", tag="demo")


def make_tokenizer(out):
    """A Unigram tokenizer in XLM-R's layout: <s> <pad> </s> <unk> first, Metaspace, <s> A </s></s> B </s>."""
    text = [sentence(lang, *c, f) for lang in LANGS for c in COMBOS for f in FORMS]
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(text, trainers.UnigramTrainer(
        vocab_size=2000, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], unk_token="<unk>",
        show_progress=False))
    tok.model = canonical(json.loads(tok.to_str())["model"]["vocab"])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.save(str(out / "tokenizer.json"))
    return tok.get_vocab_size()


def canonical(vocab):
    """The trainer sums in hash-map order: scores differ in their last digits from run to run, and the characters
    it appends last get the lowest score + k·1e-4 with k in hash order. So: ids in code-point order after the
    five specials, scores rounded, those characters all at the lowest score — the same tokenizer every run."""
    specials, pieces = vocab[:5], vocab[5:]
    low = round(min(s for _, s in pieces), 4)
    band = low + 1e-4 * len(pieces)  # wider than the appended characters' spread
    pieces = sorted((p, low if len(p) == 1 and s < band else round(s, 4)) for p, s in pieces)
    return models.Unigram([tuple(x) for x in specials] + pieces, unk_id=3, byte_fallback=False)


SHAPES = {  # folder → (width, layers, heads, seed): two encoders of different shapes on one tokenizer (encoders study)
    "model": (64, 2, 4, 0),
    "model-deep": (48, 3, 4, 1),
}


def make_model(out, vocab, shape=SHAPES["model"], tokenizer=None):
    """A seeded random XLM-R-shaped model of shape (width, layers, heads, seed) in out/, with the tokenizer beside it
    (out/tokenizer.json, or the file `tokenizer` names)."""
    from model.load import save_model
    from model.xlmr import XLMR, XLMRConfig
    width, layers, heads, seed = shape
    cfg = dict(vocab_size=vocab, hidden_size=width, num_hidden_layers=layers, num_attention_heads=heads,
               intermediate_size=4 * width, max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
               pad_token_id=1, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    torch.manual_seed(seed)
    model = XLMR(XLMRConfig.from_dict(cfg))
    with torch.no_grad():  # XLM-R's initialisation: N(0, 0.02) weights, zero biases, unit LayerNorms
        for name, p in model.named_parameters():  # the only 1-D weights are LayerNorm gains
            p.normal_(0, 0.02) if p.ndim == 2 else p.fill_(1.0 if name.endswith("weight") else 0.0)
    model.raw_config = cfg
    save_model(model, out, tokenizer_file=tokenizer or out / "tokenizer.json")


def make_world(root):
    """root/model (tokenizer + tiny model), root/model-deep (another shape, same tokenizer) and root/data (every
    task above); → root. The world is a pure function
    of this file (seeded), so a world built by this same file (root/world.json holds its sha256) is kept as it
    is: a second `make demo-study` never deletes the world under a study still reading it. Otherwise both parts
    are rebuilt from scratch, and world.json is written last (a world killed while building is rebuilt)."""
    root, stamp = Path(root), hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    try:
        if json.loads((root / "world.json").read_text(encoding="utf-8"))["builder"] == stamp:
            return root
    except (OSError, ValueError, KeyError, TypeError):
        pass
    (root / "world.json").unlink(missing_ok=True)
    for part in (*SHAPES, "data"):  # only what this writes: runs kept beside them survive
        shutil.rmtree(root / part, ignore_errors=True)
    (root / "model").mkdir(parents=True)
    rng = random.Random(0)
    make_data(root / "data", rng, translated=LANGS[1:])
    make_tasks(root / "data", rng)
    vocab = make_tokenizer(root / "model")
    for name, shape in SHAPES.items():  # the second encoder: another shape and seed, the same tokenizer
        make_model(root / name, vocab, shape, root / "model" / "tokenizer.json")
    from util import atomic_write
    atomic_write(root / "world.json", lambda tmp: Path(tmp).write_text(json.dumps(dict(builder=stamp))))
    return root


def main(root=ROOT / "runs" / "demo"):
    """`make demo`: a fresh world in root and root/demo.yaml, the chain MNLI → XNLI → Tatoeba over LANGS.
    Only what the demo itself makes is replaced (model/, data/, demo.yaml, its run runs/demo/); runs a user
    made beside them are kept. Paths in demo.yaml are relative to the repository root, where make runs."""
    root = Path(root).resolve()
    make_world(root)
    shutil.rmtree(root / "runs" / "demo", ignore_errors=True)  # the demo's own run: made again below
    where = Path(os.path.relpath(root, ROOT)) if root.is_relative_to(ROOT) else root
    config = dict(model=str(where / "model"), task="mnli", targets="xnli,tatoeba", data_dir=str(where / "data"),
                  runs_dir=str(where / "runs"), name="demo", langs=",".join(LANGS), lr=1e-3, batch_size=16,
                  epochs=4.0, max_len=64, dtype="fp32", eval_every=25, save_every=50, eval_examples=150,
                  layer=1, seed=1)
    (root / "demo.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    vocab = json.loads((root / "model" / "config.json").read_text())["vocab_size"]
    print(f"demo inputs in {root}: a {vocab}-piece tokenizer + tiny model (64-wide, 2 layers), data for "
          f"{len(LANGS)} languages in the official formats")
    return root / "demo.yaml"


def cli(argv=None):
    parser = argparse.ArgumentParser(description="Build the demo world (and, without --world, runs/demo/demo.yaml).")
    parser.add_argument("--world", metavar="DIR", help="build only DIR/model, DIR/model-deep and DIR/data: no demo.yaml, no run")
    args = parser.parse_args(argv)
    if args.world:
        print(f"demo world in {make_world(args.world)}: model/, model-deep/ and data/ for {', '.join(LANGS)}")
    else:
        main()


if __name__ == "__main__":
    cli()
