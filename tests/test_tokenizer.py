"""model/tokenizer.py against transformers' XLM-R tokenizer on the real tokenizer.json, over every Tatoeba
line of 13 languages in 11 scripts: ids of singles and pairs, truncation, offsets and word ids."""
import pytest
from conftest import shared, tatoeba

# Latin, Arabic, Hebrew, Cyrillic, Greek, Devanagari, Tamil, Thai, Georgian, Hangul, Han + kana
LANGS = ["deu", "vie", "ara", "heb", "rus", "ell", "hin", "tam", "tha", "kat", "kor", "jpn", "cmn"]


@pytest.fixture(scope="module")
def hf_tok():
    from transformers import AutoTokenizer
    t = AutoTokenizer.from_pretrained(shared("tokenizer", "xlm-roberta"))
    assert t.is_fast
    return t


@pytest.fixture(scope="module", params=LANGS)
def lines(request):
    lang = request.param
    foreign = tatoeba(lang)
    english = shared("tatoeba", "v1", f"tatoeba.{lang}-eng.eng").read_text(encoding="utf-8").splitlines()
    assert len(foreign) == len(english) >= 300  # tam has 307 pairs, most have 1000
    return foreign, english


def test_singles_and_pairs_identical_ids(tok, hf_tok, lines):
    a, b = lines
    assert [e.ids for e in tok(a)] == hf_tok(a)["input_ids"]
    pairs = [e.ids for e in tok(a, b)]
    assert pairs == hf_tok(a, b)["input_ids"]
    assert all(p.count(tok.sep_id) == 3 and p[0] == tok.cls_id for p in pairs)  # <s> A </s></s> B </s>


@pytest.mark.parametrize("max_len", [5, 8, 16, 33])
def test_truncation_identical_at_small_max_lengths(tok, hf_tok, lines, max_len):
    a, b = lines
    assert [e.ids for e in tok(a, max_len=max_len)] == hf_tok(a, truncation=True, max_length=max_len)["input_ids"]
    got = [e.ids for e in tok(a, b, max_len=max_len)]
    assert got == hf_tok(a, b, truncation="longest_first", max_length=max_len)["input_ids"]
    assert max(len(g) for g in got) <= max_len


def test_offsets_and_word_ids_identical(tok, hf_tok, lines):
    a, _ = lines
    mine = tok(a)
    ref = hf_tok(a, return_offsets_mapping=True)
    assert [e.offsets for e in mine] == [list(map(tuple, o)) for o in ref["offset_mapping"]]
    words = [s.split() or ["x"] for s in a]
    mine = tok(words, words=True)
    ref = hf_tok(words, is_split_into_words=True)
    assert [e.word_ids for e in mine] == [ref.word_ids(i) for i in range(len(words))]


def test_offsets_recover_the_text(tok):
    text = "Zürich liegt am Zürichsee, 北京是中国的首都。"
    enc = tok([text])[0]
    spans = [(s, e) for (s, e), special in zip(enc.offsets, enc.special_tokens_mask) if not special]
    covered = {i for s, e in spans for i in range(s, e)}
    assert covered == {i for i, ch in enumerate(text) if ch != " "}  # every character, no space
    assert all(text[s] != " " for s, e in spans)  # a lone "▁" token maps to the next word's first char


def test_padding_and_specials(tok):
    ids, mask = tok.pad(tok(["Hello world", "Hi"]))
    assert ids.tolist() == [[0, 35378, 8999, 2], [0, 2673, 2, 1]]  # "Hello world" ids from HF's own tests
    assert mask.tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert (tok.pad_id, tok.cls_id, tok.sep_id, tok.mask_id, tok.vocab_size) == (1, 0, 2, 250001, 250002)
