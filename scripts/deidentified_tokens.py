"""The tokens of the de-identified turns (``results/deidentified/{transcript}.tokens.jsonl``,
workflow/schemas/tokens.schema.yaml): the parse's tokens of each turn, with lemmas and parts of
speech, where each placeholder is one token (a proper noun), so that candidate coding needs no
second parse.
"""

from __future__ import annotations

import json
import threading
from typing import Iterable, Sequence

from scripts.parse import Tokens
from scripts.spans import Span

#: Placeholder tokens are proper nouns, whatever they replace.
PLACEHOLDER_POS = "PROPN"


# ---------------------------------------------------------------------------------------------
# The tokens of the de-identified text (results/deidentified/{transcript}.tokens.jsonl)

TOKENS_SCHEMA = "tokens.schema.yaml"
_TOKENIZERS = threading.local()


def deidentified_tokens(
    text: str, tokens: Tokens | None, replaced: Sequence[tuple[Span, str]], new_text: str
) -> tuple[Tokens, int]:
    """The tokens of a turn's de-identified text (``new_text``), from the tokens of its raw text.

    A raw token outside every replaced span keeps its word, lemma and part of speech; each
    replaced span becomes one token, its placeholder (lemma: the placeholder; part of speech
    PROPN). Nothing of a replaced span's raw text survives, not even as a lemma: what is left of
    a raw token that a replacement cut into (and all of the text, without raw tokens) is tokenised
    again from the de-identified text, by the tokenizer alone. Returns the tokens and the number
    of stretches tokenised again.
    """
    spans = sorted(((span.start, span.end, placeholder) for span, placeholder in replaced))
    pieces: list[tuple[int, str, str, str]] = []  # (offset in new_text, word, lemma, pos)
    shift = 0  # new offset - raw offset, after the replacements seen so far
    for start, end, placeholder in spans:
        pieces.append((start + shift, placeholder, placeholder, PLACEHOLDER_POS))
        shift += len(placeholder) - (end - start)
    if tokens is not None:
        if tokens.text != text:
            raise ValueError("the tokens do not spell the text they were parsed from")
        following, shift = 0, 0  # the first replacement that does not end before the token
        for start, word, lemma, pos in zip(
            tokens.starts(), tokens.words, tokens.lemmas, tokens.pos, strict=True
        ):
            while following < len(spans) and spans[following][1] <= start:
                shift += len(spans[following][2]) - (spans[following][1] - spans[following][0])
                following += 1
            if following < len(spans) and spans[following][0] < start + len(word):
                continue  # inside or cut by a replacement
            pieces.append((start + shift, word, lemma, pos))
    pieces.sort(key=lambda piece: piece[0])
    return assemble_tokens(new_text, pieces)


def assemble_tokens(text: str, pieces: Sequence[tuple[int, str, str, str]]) -> tuple[Tokens, int]:
    """Tokens that spell ``text`` exactly: the pieces (offset, word, lemma, pos), in order, where
    they are; a stretch between them other than one space is tokenised by the tokenizer alone
    (lemma: the word; part of speech SPACE, PUNCT, NUM or X). Returns the tokens and the number of
    such stretches."""
    words: list[str] = []
    spaces: list[bool] = []
    lemmas: list[str] = []
    pos: list[str] = []
    stretches = 0

    def fill(stretch: str) -> None:
        nonlocal stretches
        if words and stretch.startswith(" "):
            spaces[-1] = True
            stretch = stretch[1:]
        if not stretch:
            return
        stretches += 1
        for token in _tokenizer()(stretch):
            words.append(token.text)
            spaces.append(bool(token.whitespace_))
            lemmas.append(token.text)
            pos.append(
                "SPACE"
                if token.is_space
                else "PUNCT"
                if token.is_punct
                else "NUM"
                if token.like_num
                else "X"
            )

    cursor = 0
    for start, word, lemma, tag in pieces:
        if start < cursor or text[start : start + len(word)] != word:
            raise ValueError("a token does not match the text at its offset")
        fill(text[cursor:start])
        words.append(word)
        spaces.append(False)
        lemmas.append(lemma)
        pos.append(tag)
        cursor = start + len(word)
    fill(text[cursor:])
    result = Tokens(tuple(words), tuple(spaces), tuple(lemmas), tuple(pos))
    if (
        result.text != text
    ):  # the contract of the tokens file; not an assert: it must hold under -O too
        raise RuntimeError(
            "the tokens do not spell the de-identified text (a bug in assemble_tokens)"
        )
    return result, stretches


def _tokenizer():
    """spaCy's English tokenizer alone (no model), once per thread."""
    tokenizer = getattr(_TOKENIZERS, "tokenizer", None)
    if tokenizer is None:
        import spacy

        tokenizer = _TOKENIZERS.tokenizer = spacy.blank("en").tokenizer
    return tokenizer


def tokens_record(turn: int, tokens: Tokens) -> dict:
    """One line of the tokens file (workflow/schemas/tokens.schema.yaml)."""
    return {
        "lemmas": list(tokens.lemmas),
        "pos": list(tokens.pos),
        "spaces": list(tokens.spaces),
        "turn": turn,
        "words": list(tokens.words),
    }


def tokens_jsonl(records: Iterable[dict]) -> str:
    """The tokens file's text: one turn a line, keys sorted, UTF-8 as is (greppable), deterministic;
    compact (the file is about five times the text, and the leak check reads all of it)."""
    return "".join(
        json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
        for record in records
    )
