"""sentencepiece.bpe.model → an XLM-R `tokenizers` pipeline, in memory, for checkpoints that ship no tokenizer.json
(InfoXLM, some XLM-V and Glot500 copies). model/tokenizer.py calls `convert` when a folder has only the .model.

The rules are those of transformers' XLMRobertaConverter (written here from them, not copied): a Unigram model
over fairseq's ids — <s>=0 <pad>=1 </s>=2 <unk>=3, spm piece i (i ≥ 3) → id i+1, <mask> last — the model's
precompiled charsmap then runs of spaces collapsed to one, Metaspace (▁ before every word), and the templates
<s> A </s> and <s> A </s></s> B </s>. Parity with transformers and with the real tokenizer.json:
tests/test_encoders.py.
The .model file is a protobuf ModelProto, read by the small wire-format reader below rather than by the
`sentencepiece` and `protobuf` packages: conversion then needs no package beyond the runtime ones (those two are
test-only references). The fields read (sentencepiece_model.proto): ModelProto 1 = pieces {1 piece, 2 score},
2 = trainer_spec {3 model_type: 1 Unigram}, 3 = normalizer_spec {2 precompiled_charsmap}.

  spec = convert("path/to/sentencepiece.bpe.model")   # the tokenizer.json text transformers would write
"""
import struct

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from util import UserError

FAIRSEQ_HEAD = ["<s>", "<pad>", "</s>", "<unk>"]  # ids 0-3 in every XLM-R vocabulary; <mask> comes last
SPM_HEAD = ["<unk>", "<s>", "</s>"]  # pieces 0-2 of XLM-R's .model, replaced by FAIRSEQ_HEAD
UNIGRAM = 1  # TrainerSpec.ModelType (BPE = 2, WORD = 3, CHAR = 4); a file without trainer_spec is Unigram


def varint(buf, i):
    """The base-128 integer at buf[i:] → (value, index after it)."""
    value = shift = 0
    while True:
        byte = buf[i]  # IndexError past the end: a truncated file
        value |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if byte < 0x80:
            return value, i


def message(buf):
    """One protobuf message → {field number: [values]}: ints (varint), bytes (length-delimited, fixed64 and
    fixed32 as raw bytes). Nested messages stay bytes until read with message() themselves."""
    out, i = {}, 0
    while i < len(buf):
        key, i = varint(buf, i)
        wire = key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire in (1, 2, 5):
            size, i = varint(buf, i) if wire == 2 else ({1: 8, 5: 4}[wire], i)
            value, i = buf[i:i + size], i + size
            if i > len(buf):
                raise ValueError(f"field {key >> 3} runs past the end of the file")
        else:  # 3, 4: proto2 groups, which ModelProto never uses; 6, 7: not protobuf
            raise ValueError(f"wire type {wire} at byte {i}")
        out.setdefault(key >> 3, []).append(value)
    return out


def read_model(path):
    """(pieces [(piece, score)], precompiled charsmap bytes) of a Unigram sentencepiece model file."""
    try:
        proto = message(path.read_bytes())
        pieces = [message(p) for p in proto.get(1, [])]
        pieces = [(p[1][0].decode("utf-8"), struct.unpack("<f", p.get(2, [bytes(4)])[0])[0])  # unset score: 0.0
                  for p in pieces]
        kind = message(proto[2][0]).get(3, [UNIGRAM])[0] if 2 in proto else UNIGRAM
        charsmap = message(proto[3][0]).get(2, [b""])[0] if 3 in proto else b""
    except (IndexError, KeyError, ValueError, struct.error) as e:  # ValueError: also bad UTF-8
        raise UserError(f"{path}: not a sentencepiece model file ({type(e).__name__}: {e}); re-download it, "
                        "or give the checkpoint's tokenizer.json.") from None
    if kind != UNIGRAM:
        raise UserError(f"{path}: a sentencepiece model of type {kind}, not Unigram (1); XLM-R's tokenizers are "
                        "Unigram: give the checkpoint's tokenizer.json.")
    if [p for p, _ in pieces[:3]] != SPM_HEAD:
        raise UserError(f"{path}: pieces 0-2 are {[p for p, _ in pieces[:3]]}, not XLM-R's {SPM_HEAD}: the "
                        "fairseq ids cannot be laid over it; give the checkpoint's tokenizer.json.")
    return pieces, charsmap


def convert(path) -> str:
    """The sentencepiece model at `path` as a tokenizer.json string (ids as in the checkpoint's embedding)."""
    pieces, charsmap = read_model(path)
    vocab = [(t, 0.0) for t in FAIRSEQ_HEAD] + [(p, score) for p, score in pieces[3:]] + [("<mask>", 0.0)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=FAIRSEQ_HEAD.index("<unk>"), byte_fallback=False))
    collapse = normalizers.Replace(Regex(" {2,}"), " ")
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap), collapse] if charsmap else [collapse])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    specials = FAIRSEQ_HEAD + ["<mask>"]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    return tok.to_str()
