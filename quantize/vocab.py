"""A checkpoint's tokenizer as a GGUF vocabulary that llama.cpp tokenizes exactly like the original.

Two kinds, as llama.cpp knows them:

* ``llama`` (SentencePiece, ``tokenizer.model``: Llama-2, CodeLlama, SQLCoder-7B-2, Mistral): pieces
  with their scores and types; llama.cpp re-runs SentencePiece's merge-by-score with byte fallback
  and adds the leading "▁" itself when ``add_space_prefix`` is set (SentencePiece's
  ``add_dummy_prefix``). Read with the ``sentencepiece`` package; the piece types (user-defined
  symbols included) and the normalizer spec come from the model's protobuf, parsed here because
  the package does not expose them and protobuf is not a dependency.
* ``gpt2`` (byte-level BPE, ``tokenizer.json``: Llama-3, Qwen2/2.5): the byte-level vocabulary, the
  merges in rank order, and ``tokenizer.ggml.pre``, the name of the pre-tokenizer (the regex that
  splits text before BPE) that llama.cpp hard-codes. llama.cpp's own converter recognises it by
  hashing the tokenization of a probe text with ``transformers``; we read the pre-tokenizer's regex
  from tokenizer.json instead and map the ones llama.cpp implements ("llama-bpe" for Llama-3,
  "qwen2" for Qwen2, "gpt-2"). An unknown one is refused: the model would load and then tokenize
  every prompt slightly wrong.

Special tokens (bos/eos/unk/pad ids) come from tokenizer_config.json, then config.json, then
generation_config.json, as Hugging Face resolves them; the chat template from tokenizer_config.json
(or chat_template.jinja).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quantize.checkpoint import read_optional_json
from quantize.errors import ConversionError

# gguf.TokenType values (the same numbers SentencePiece uses for its piece types).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

#: The pre-tokenizer regexes llama.cpp implements for byte-level BPE (llama-vocab.cpp), written
#: as Hugging Face's tokenizer.json spells them. llama.cpp spells the contractions
#: ``(?:'[sS]|'[tT]|...)``; :func:`_canonical_regex` folds both spellings together.
_CONTRACTIONS = "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
LLAMA3_REGEX = (
    _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_REGEX = (
    _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
#: The regex of a bare ``ByteLevel`` pre-tokenizer (``use_regex: true``): GPT-2's.
GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"

#: (regex, ignore_merges) → tokenizer.ggml.pre. llama.cpp's "llama-bpe" also takes a pre-token
#: that is itself in the vocabulary whole (``ignore_merges``), as Llama-3's tokenizer.json asks;
#: "smaug-bpe" is the same split without it.
_BPE_PRE_TOKENIZERS: dict[tuple[str, bool], str] = {
    (LLAMA3_REGEX, True): "llama-bpe",
    (LLAMA3_REGEX, False): "smaug-bpe",
    (QWEN2_REGEX, False): "qwen2",
    (GPT2_REGEX, False): "gpt-2",
}

_SPECIAL_TYPES = ("bos", "eos", "unk", "pad", "sep")


@dataclass(frozen=True)
class Vocabulary:
    """Everything llama.cpp's tokenizer reads from a GGUF, ready to be written."""

    model: str  # tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (byte-level BPE)
    pre: str  # tokenizer.ggml.pre
    tokens: tuple[str, ...]
    token_types: tuple[int, ...]
    scores: tuple[float, ...] | None  # SentencePiece only
    merges: tuple[str, ...]  # BPE only, "left right" in rank order
    special_ids: dict[str, int]  # bos, eos, unk, pad, sep, and for CodeLlama fim_pre/suf/mid, eot
    add_bos: bool
    add_eos: bool
    add_space_prefix: bool | None  # SentencePiece's add_dummy_prefix
    chat_template: str | list[dict[str, str]] | None
    source: str  # the file it was read from
    notes: tuple[str, ...] = ()  # tokenization differences llama.cpp cannot avoid, for the log

    def add_to(self, writer: Any) -> None:
        """Write the vocabulary's keys into a ``gguf.GGUFWriter``."""
        from gguf import Keys

        writer.add_tokenizer_model(self.model)
        writer.add_tokenizer_pre(self.pre)
        writer.add_token_list(list(self.tokens))
        writer.add_token_types(list(self.token_types))
        if self.scores is not None:
            writer.add_token_scores(list(self.scores))
        if self.merges:
            writer.add_token_merges(list(self.merges))
        keys = {
            "bos": Keys.Tokenizer.BOS_ID, "eos": Keys.Tokenizer.EOS_ID, "unk": Keys.Tokenizer.UNK_ID,
            "pad": Keys.Tokenizer.PAD_ID, "sep": Keys.Tokenizer.SEP_ID, "eot": Keys.Tokenizer.EOT_ID,
            "fim_pre": Keys.Tokenizer.FIM_PRE_ID, "fim_suf": Keys.Tokenizer.FIM_SUF_ID,
            "fim_mid": Keys.Tokenizer.FIM_MID_ID,
        }
        for typ, token_id in self.special_ids.items():
            writer.add_uint32(keys[typ], token_id)
        writer.add_add_bos_token(self.add_bos)
        writer.add_add_eos_token(self.add_eos)
        if self.add_space_prefix is not None:
            writer.add_add_space_prefix(self.add_space_prefix)
        if self.chat_template:
            writer.add_chat_template(self.chat_template)


def read_vocabulary(directory: Path, config: dict[str, Any], n_vocab: int) -> Vocabulary:
    """The checkpoint's tokenizer for a model with ``n_vocab`` embedding rows.

    SentencePiece's tokenizer.model wins when both files are there (as in llama.cpp): for
    Llama-2-family models tokenizer.json is a lossy re-expression of it. A tokenizer with more
    tokens than the embedding has rows cannot be converted; fewer is normal (Qwen2.5, CodeLlama pad
    the embedding) and the gaps become unused ``[PADn]`` tokens.
    """
    directory = Path(directory)
    tok_config = read_optional_json(directory / "tokenizer_config.json")
    has_json = (directory / "tokenizer.json").is_file()
    if (directory / "tokenizer.model").is_file():
        try:
            return _read_sentencepiece(directory, config, tok_config, n_vocab)
        except _NotSentencePiece:
            if not has_json:  # e.g. Llama-3's tiktoken file copied from original/: use tokenizer.json
                raise
    if has_json:
        return _read_tokenizer_json(directory, config, tok_config, n_vocab)
    raise ConversionError(f"{directory} has no tokenizer (tokenizer.model or tokenizer.json)",
                          hint="copy the tokenizer files from the same Hugging Face repository")


# ---------------------------------------------------------------------------------------------
# SentencePiece


@dataclass(frozen=True)
class _SpmSpec:
    """The parts of a SentencePiece ModelProto that decide how text is tokenized."""

    piece_types: tuple[int, ...]
    model_type: int  # 1 unigram, 2 bpe, 3 word, 4 char
    normalizer_name: str
    has_charsmap: bool
    add_dummy_prefix: bool
    remove_extra_whitespaces: bool


class _NotSentencePiece(ConversionError):
    """tokenizer.model is some other format (Llama-3's original/tokenizer.model is tiktoken's)."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) of one protobuf message; nested messages stay bytes."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise ValueError("truncated field")
        out.append((number, wire, value))
    return out


def _parse_spm_spec(blob: bytes) -> _SpmSpec:
    """ModelProto: 1 pieces {1 piece, 2 score, 3 type}, 2 trainer_spec {3 model_type},
    3 normalizer_spec {1 name, 2 precompiled_charsmap, 3 add_dummy_prefix, 4 remove_extra_whitespaces}."""
    types: list[int] = []
    model_type, name, charsmap, dummy, remove_ws = 1, "", False, True, True
    for number, wire, value in _fields(blob):
        if number == 1 and wire == 2:
            ptype = NORMAL
            for n, w, v in _fields(value):
                if n == 3 and w == 0:
                    ptype = v
            types.append(ptype)
        elif number == 2 and wire == 2:
            for n, w, v in _fields(value):
                if n == 3 and w == 0:
                    model_type = v
        elif number == 3 and wire == 2:
            for n, w, v in _fields(value):
                if n == 1 and w == 2:
                    name = v.decode("utf-8", "replace")
                elif n == 2 and w == 2:
                    charsmap = len(v) > 0
                elif n == 3 and w == 0:
                    dummy = bool(v)
                elif n == 4 and w == 0:
                    remove_ws = bool(v)
    return _SpmSpec(tuple(types), model_type, name, charsmap, dummy, remove_ws)


def _read_sentencepiece(directory: Path, config: dict[str, Any], tok_config: dict[str, Any],
                        n_vocab: int) -> Vocabulary:
    try:
        from sentencepiece import SentencePieceProcessor
    except ImportError as exc:  # pragma: no cover - the quantize extra installs it
        raise ConversionError("reading tokenizer.model needs the sentencepiece package",
                              hint="pip install 'sqlcoder-cli[quantize]'") from exc
    path = directory / "tokenizer.model"
    blob = path.read_bytes()
    sp = SentencePieceProcessor()
    try:
        sp.LoadFromSerializedProto(blob)
        spec = _parse_spm_spec(blob)
    except (RuntimeError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise _NotSentencePiece(f"tokenizer.model is not a SentencePiece model ({exc})") from exc
    size = sp.GetPieceSize()
    if size > n_vocab:
        raise _too_many_tokens("tokenizer.model", size, size - 1, n_vocab)
    if len(spec.piece_types) != size:
        raise _NotSentencePiece("tokenizer.model is not a SentencePiece model (piece count mismatch)")

    tokens = [f"[PAD{i}]" for i in range(n_vocab)]
    scores = [-10000.0] * n_vocab
    types = [UNUSED] * n_vocab
    for i in range(size):
        tokens[i] = sp.IdToPiece(i)
        scores[i] = float(sp.GetScore(i))
        ptype = spec.piece_types[i]
        types[i] = ptype if ptype in (NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE) else NORMAL

    # Tokens added on top of the SentencePiece model (added_tokens.json, added_tokens_decoder).
    added: dict[int, tuple[str, bool]] = {}
    added_json = read_optional_json(directory / "added_tokens.json")
    for content, token_id in added_json.items():
        if isinstance(token_id, int):
            added[token_id] = (content, True)
    for key, info in (tok_config.get("added_tokens_decoder") or {}).items():
        if isinstance(info, dict) and isinstance(info.get("content"), str) and str(key).isdigit():
            added[int(key)] = (info["content"], bool(info.get("special", False)))
    if added and max(added) >= n_vocab:
        raise _too_many_tokens("the added tokens", len(added) + size, max(added), n_vocab)
    for token_id, (content, special) in added.items():
        if token_id < size and tokens[token_id] == content:
            continue  # the SentencePiece piece itself (<unk>, <s>, </s>): keep its type
        tokens[token_id] = content
        scores[token_id] = -1000.0
        types[token_id] = CONTROL if special or _looks_special(content) else USER_DEFINED

    notes: list[str] = []
    if spec.model_type != 2:
        notes.append("tokenizer.model is a unigram SentencePiece model; llama.cpp merges pieces by "
                     "score and may split some words differently")
    if spec.has_charsmap or spec.normalizer_name not in ("identity", ""):
        notes.append(f"tokenizer.model normalizes text ({spec.normalizer_name}); llama.cpp does not, "
                     "so text that normalization would change tokenizes differently")
    if spec.remove_extra_whitespaces:
        notes.append("tokenizer.model collapses runs of spaces; llama.cpp keeps them")

    defaults = {"bos": sp.bos_id(), "eos": sp.eos_id(), "unk": sp.unk_id(), "pad": sp.pad_id()}
    special = _special_ids(directory, config, tok_config, tokens, n_vocab, defaults)
    # CodeLlama (and SQLCoder-7B-2, built on it) pads its vocabulary to 32016 with infill tokens.
    if n_vocab == 32016 and tokens[32007:32011] == ["▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"]:
        special.update(fim_pre=32007, fim_suf=32008, fim_mid=32009, eot=32010)
    add_prefix = tok_config.get("add_prefix_space")
    return Vocabulary(
        model="llama",
        pre="default",
        tokens=tuple(tokens),
        token_types=tuple(types),
        scores=tuple(scores),
        merges=(),
        special_ids=special,
        add_bos=_flag(tok_config, "add_bos_token", True),
        add_eos=_flag(tok_config, "add_eos_token", False),
        add_space_prefix=add_prefix if isinstance(add_prefix, bool) else spec.add_dummy_prefix,
        chat_template=_chat_template(directory, tok_config),
        source="tokenizer.model",
        notes=tuple(notes),
    )


# ---------------------------------------------------------------------------------------------
# tokenizer.json (byte-level BPE)


def _canonical_regex(pattern: str) -> str:
    """Fold llama.cpp's spelling of the case-insensitive contractions into Hugging Face's."""
    spelled = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
    return pattern.replace(spelled, _CONTRACTIONS)


def _pre_tokenizer_shape(pre: Any) -> tuple[list[str], dict[str, Any] | None, list[str]]:
    """(split regexes, the ByteLevel step, anything else) of a tokenizer.json pre_tokenizer."""
    steps = pre.get("pretokenizers", []) if isinstance(pre, dict) and pre.get("type") == "Sequence" else [pre]
    regexes: list[str] = []
    byte_level: dict[str, Any] | None = None
    other: list[str] = []
    for step in steps:
        if not isinstance(step, dict):
            continue
        kind = step.get("type")
        if kind == "ByteLevel":
            byte_level = step
        elif kind == "Split" and isinstance(step.get("pattern"), dict) and "Regex" in step["pattern"] \
                and step.get("behavior") == "Isolated" and not step.get("invert"):
            regexes.append(_canonical_regex(step["pattern"]["Regex"]))
        else:
            other.append(str(kind))
    return regexes, byte_level, other


def _bpe_pre_name(tokenizer: dict[str, Any], ignore_merges: bool) -> str:
    regexes, byte_level, other = _pre_tokenizer_shape(tokenizer.get("pre_tokenizer"))
    if byte_level is None:
        raise ConversionError(
            "tokenizer.json is not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer) and there "
            "is no tokenizer.model",
            hint="SentencePiece-style models need their tokenizer.model beside tokenizer.json",
        )
    if byte_level.get("use_regex", True):
        regexes = [*regexes, GPT2_REGEX]
    if byte_level.get("add_prefix_space"):
        other.append("ByteLevel(add_prefix_space)")
    name = _BPE_PRE_TOKENIZERS.get((regexes[0], ignore_merges)) if len(regexes) == 1 and not other else None
    if name is None:
        shown = " + ".join([*(f"Split({r[:40]}...)" for r in regexes), *other]) or "none"
        raise ConversionError(
            f"tokenizer.json has a BPE pre-tokenizer llama.cpp does not implement ({shown})",
            hint="supported: Llama-3 (llama-bpe), Qwen2 (qwen2) and GPT-2 (gpt-2) pre-tokenizers",
        )
    return name


def _normalizer_notes(normalizer: Any) -> list[str]:
    """llama.cpp applies no normalizer to BPE text: NFC (Qwen2) is harmless for NFC input and
    noted; anything that rewrites ordinary text cannot be reproduced and is refused."""
    if normalizer is None:
        return []
    steps = normalizer.get("normalizers", []) if normalizer.get("type") == "Sequence" else [normalizer]
    notes: list[str] = []
    for step in steps:
        kind = step.get("type") if isinstance(step, dict) else None
        if kind == "NFC":
            notes.append("tokenizer.json applies NFC normalization; llama.cpp does not, so only text "
                         "that is not already NFC (decomposed accents) tokenizes differently")
        else:
            raise ConversionError(f"tokenizer.json has a {kind} normalizer that llama.cpp cannot apply")
    return notes


def _merge_strings(merges: Any) -> list[str]:
    if not isinstance(merges, list):
        raise ConversionError("tokenizer.json has no BPE merges")
    out: list[str] = []
    for merge in merges:
        if isinstance(merge, str):
            out.append(merge)
        elif isinstance(merge, list) and len(merge) == 2 and all(isinstance(p, str) for p in merge):
            # The newer [left, right] form allows spaces inside a part; GGUF keeps the "a b" form,
            # so a space is stored as the byte-level character for it (as gguf-py does).
            out.append(" ".join(p.replace(" ", chr(ord(" ") + 256)) for p in merge))
        else:
            raise ConversionError("tokenizer.json has merges in an unknown format")
    return out


def _read_tokenizer_json(directory: Path, config: dict[str, Any], tok_config: dict[str, Any],
                         n_vocab: int) -> Vocabulary:
    try:
        tokenizer = json.loads((directory / "tokenizer.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversionError("tokenizer.json is not valid JSON") from exc
    model = tokenizer.get("model") if isinstance(tokenizer, dict) else None
    if not isinstance(model, dict) or model.get("type") != "BPE":
        kind = model.get("type") if isinstance(model, dict) else None
        raise ConversionError(f"tokenizer.json has a {kind} model; only BPE tokenizers are supported")
    if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
        raise ConversionError("tokenizer.json uses subword prefixes/suffixes that llama.cpp cannot apply")
    vocab = model.get("vocab")
    if not isinstance(vocab, dict) or not vocab:
        raise ConversionError("tokenizer.json has no vocabulary")
    ignore_merges = bool(model.get("ignore_merges", False))
    pre = _bpe_pre_name(tokenizer, ignore_merges)
    notes = _normalizer_notes(tokenizer.get("normalizer"))
    merges = _merge_strings(model.get("merges"))

    by_id: dict[int, tuple[str, int]] = {}
    for content, token_id in vocab.items():
        if isinstance(token_id, int) and token_id >= 0:
            by_id[token_id] = (content, NORMAL)
    for added in tokenizer.get("added_tokens") or []:
        token_id, content = added.get("id"), added.get("content")
        if not isinstance(token_id, int) or not isinstance(content, str) or token_id < 0:
            continue
        # llama.cpp matches added tokens as raw text: CONTROL ones only with parse_special, the
        # USER_DEFINED ones always, as Hugging Face matches non-special added tokens.
        special = bool(added.get("special")) or _looks_special(content)
        by_id[token_id] = (content, CONTROL if special else USER_DEFINED)
    top = max(by_id)
    if top >= n_vocab:
        raise _too_many_tokens("tokenizer.json", len(by_id), top, n_vocab)
    tokens = [f"[PAD{i}]" for i in range(n_vocab)]
    types = [UNUSED] * n_vocab
    for token_id, (content, ttype) in by_id.items():
        tokens[token_id] = content
        types[token_id] = ttype

    special_ids = _special_ids(directory, config, tok_config, tokens, n_vocab, {})
    add_bos, add_eos = _template_adds(tokenizer.get("post_processor"))
    return Vocabulary(
        model="gpt2",
        pre=pre,
        tokens=tuple(tokens),
        token_types=tuple(types),
        scores=None,
        merges=tuple(merges),
        special_ids=special_ids,
        add_bos=_flag(tok_config, "add_bos_token", add_bos),
        add_eos=_flag(tok_config, "add_eos_token", add_eos),
        add_space_prefix=None,
        chat_template=_chat_template(directory, tok_config),
        source="tokenizer.json",
        notes=tuple(notes),
    )


def _template_adds(post: Any) -> tuple[bool, bool]:
    """Whether tokenizer.json's TemplateProcessing puts a special token before/after the text
    (Llama-3 adds <|begin_of_text|>; Qwen2 adds nothing)."""
    processors = post.get("processors", [post]) if isinstance(post, dict) else []
    for proc in processors:
        if isinstance(proc, dict) and proc.get("type") == "TemplateProcessing":
            single = proc.get("single") or []
            first = single[0] if single else {}
            last = single[-1] if single else {}
            return "SpecialToken" in first, len(single) > 1 and "SpecialToken" in last
    return False, False


# ---------------------------------------------------------------------------------------------
# shared


def _looks_special(text: str) -> bool:
    """Added tokens some models forget to mark special (<|im_start|>-style, DeepSeek's fullwidth
    bars), as llama.cpp's converter treats them."""
    return (text.startswith("<|") and text.endswith("|>")) or (text.startswith("<｜") and text.endswith("｜>"))


def _too_many_tokens(source: str, count: int, top: int, n_vocab: int) -> ConversionError:
    return ConversionError(
        f"{source} has {count} tokens (ids up to {top}) but the model's embedding has only {n_vocab} rows",
        hint="the tokenizer does not belong to these weights",
    )


def _flag(tok_config: dict[str, Any], key: str, default: bool) -> bool:
    value = tok_config.get(key)
    return value if isinstance(value, bool) else default


def _token_text(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get("content"), str):
        return entry["content"]
    return None


def _first_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, list) and value and isinstance(value[0], int) and not isinstance(value[0], bool):
        return value[0]
    return None


def _special_ids(directory: Path, config: dict[str, Any], tok_config: dict[str, Any], tokens: list[str],
                 n_vocab: int, defaults: dict[str, int]) -> dict[str, int]:
    """bos/eos/unk/pad/sep: the token named in tokenizer_config.json, else the id in config.json,
    else generation_config.json, else the tokenizer model's own; ids outside the vocabulary are
    ignored (SentencePiece says -1 for "none")."""
    gen_config = read_optional_json(directory / "generation_config.json")
    index: dict[str, int] = {}
    for token_id, text in enumerate(tokens):
        index.setdefault(text, token_id)
    out: dict[str, int] = {}
    for typ in _SPECIAL_TYPES:
        text = _token_text(tok_config.get(f"{typ}_token"))
        candidates = [
            index.get(text) if text is not None else None,
            _first_id(config.get(f"{typ}_token_id")),
            _first_id(gen_config.get(f"{typ}_token_id")),
            defaults.get(typ),
        ]
        for token_id in candidates:
            if token_id is not None and 0 <= token_id < n_vocab:
                out[typ] = token_id
                break
    return out


def _chat_template(directory: Path, tok_config: dict[str, Any]) -> str | list[dict[str, str]] | None:
    template = tok_config.get("chat_template")
    if isinstance(template, str) and template:
        return template
    if isinstance(template, list) and all(isinstance(t, dict) for t in template):
        return [t for t in template if isinstance(t.get("name"), str) and isinstance(t.get("template"), str)]
    jinja = directory / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    side = read_optional_json(directory / "chat_template.json")
    if isinstance(side.get("chat_template"), str):
        return side["chat_template"]
    return None


def is_nfc(text: str) -> bool:
    """Whether ``text`` is unchanged by NFC (what a Qwen2 tokenizer.json normalizes to)."""
    return unicodedata.is_normalized("NFC", text)


__all__ = ["Vocabulary", "read_vocabulary", "is_nfc", "LLAMA3_REGEX", "QWEN2_REGEX", "GPT2_REGEX",
           "NORMAL", "UNKNOWN", "CONTROL", "USER_DEFINED", "UNUSED", "BYTE"]
