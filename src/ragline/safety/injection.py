"""Prompt injection and jailbreaks, in user input and in retrieved documents.

Families, each a general shape rather than a list of known attacks:
overriding earlier instructions; asking for the system prompt; re-assigning
the model's role; jailbreak vocabulary; chat-template tokens smuggled into
text; text that addresses "the AI" reading a document (indirect injection);
forcing the start of a reply; instructions hidden in HTML comments, invisible
elements or zero-width/tag characters; the same in other languages
(`injection_i18n`), with letters spaced apart, or in base64 (`encoded`).

`check_injection` expects normalised text (`normalize`: NFKC, invisible
characters dropped, homoglyphs folded); `invisible` looks at the original text,
where the hiding characters still are. `checks.run_checks` does both.
"""

from __future__ import annotations

import re

from ragline.safety.encoded import base64_texts, spaced_letters
from ragline.safety.findings import Finding, pattern_table, without_overlaps
from ragline.safety.injection_i18n import TABLE as I18N_TABLE
from ragline.safety.injection_i18n import check_injection_i18n
from ragline.safety.normalize import normalize

_VERB = (
    r"(?:ignore|ignoring|disregard|forget|overrid\w*|bypass|skip|abandon|drop|discard"
    r"|stop following|do not follow|don't follow|no longer follow)"
)
_WHICH = (
    r"(?:previous|prior|above|earlier|preceding|initial|original|old|all|any|your|the|these"
    r"|those|system)"
)
_WHAT = (
    r"(?:instructions?|rules|prompts?|directions|guidelines|guidance|context|constraints"
    r"|restrictions|polic(?:y|ies)|programming|directives|commands)"
)

_TABLE = [
    (
        "override",
        re.compile(
            rf"(?i)\b{_VERB}\b[\w\s,'-]{{0,40}}?\b{_WHICH}\b[\w\s'-]{{0,25}}?\b{_WHAT}\b"
            r"|\b(?:disregard|forget|ignore)\b[\w\s]{0,20}\beverything\b[\w\s']{0,30}"
            r"\b(?:told|said|given|above|before|earlier)\b"
            r"|\b(?:ignore|disregard|forget)\s+(?:all\s+)?(?:of\s+)?"
            r"(?:the\s+|what(?:'s| is| was)\s+)?(?:above|previous|prior|preceding)"
            r"(?=\s*(?:and\b|[.,;:!]|$))"
        ),
    ),
    (
        "override_multilingual",
        re.compile(
            r"(?i)(?:\b(?:ignor(?:a|ez|ieren?|iere|ate|are)|oubli\w*|vergiss\w*|olvid\w*"
            r"|dimentica\w*)\b|\bignore\s+(?:toutes?\s+)?(?:les|vos|tes)\b)"
            r"[\w\s\u00c0-\u00ff]{0,40}\b(?:instructions?|anweisungen|instrucciones|istruzioni"
            r"|regeln|r\u00e8gles|reglas|consignes)\b"
        ),
    ),
    (
        "system_prompt",
        re.compile(
            r"(?i)\b(?:reveal|print|show|repeat|output|dump|leak|display|quote|tell me|give me"
            r"|what (?:were|are|is))\b[\w\s,'-]{0,40}?\b(?:system (?:prompt|message)"
            r"|(?:initial|original|hidden|secret|your) (?:instructions|prompt)"
            r"|your (?:configuration|system prompt|rules))\b"
        ),
    ),
    (
        "role_change",
        re.compile(
            r"(?i)\byou are no longer\b|\byou are now (?:an?|my|the|in)\b"
            r"|\b(?:from now on|from this point (?:on|forward)|henceforth|going forward),? you\b"
            r"|\byour new (?:role|task|persona|instructions?|rules?)\b"
            r"|\bnew (?:task|instructions?|rules|system prompt)\b[\w ]{0,30}:"
            r"|\b(?:act|behave|respond|answer) as (?:if you (?:were|are|had)|my\b"
            r"|an? (?:unrestricted|unfiltered|uncensored|evil|jailbroken|rogue))"
            r"|\bpretend (?:to be|that you|you are|you're)\b"
            r"|\bpretend\b[\w\s]{0,20}\b(?:rules|filters|safety|guidelines|restrictions"
            r"|polic(?:y|ies))\b"
        ),
    ),
    (
        "jailbreak",
        re.compile(
            r"(?i)\b(?:(?-i:DAN)|do anything now|jailbreak\w*|god mode)\b"
            r"|\b(?:enable|enter|activate|switch to|turn on|in)\s+(?:developer|maintenance|debug)"
            r" mode\b"
            r"|\b(?:no|without(?: any)?) (?:restrictions|filters|rules|content polic(?:y|ies)"
            r"|limits|ethics|censorship)\b"
            r"|\b(?:bypass|disable|turn off|remove)\b[\w\s]{0,20}\b(?:safety|content|filter\w*"
            r"|guardrails?|moderation)\b"
            r"|\bnever refuse\b"
            r"|\b(?:unrestricted|unfiltered|uncensored) (?:ai|assistant|model|mode)"
            r"|\bsystem override\b"
        ),
    ),
    (
        "template_tokens",
        re.compile(
            r"(?m)<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>|\[/?INST\]|<<SYS>>"
            r"|^\s*#{2,}\s*(?i:(?:new )?(?:instruction|system)s?)\b"
            r"|^\s*(?:SYSTEM|ASSISTANT)\s*:|</(?:context|system|document)>"
        ),
    ),
    (
        "addresses_the_model",
        re.compile(
            r"(?i)\b(?:note|message|instructions?) (?:to|for) (?:the |any )?(?:ai|assistant|model"
            r"|llm|chatbot|language model)\b"
            r"|\bif you are an? (?:ai|assistant|language model|llm|chatbot)\b"
            r"|\b(?:any|all|every) (?:ai|assistants?|models?|llms?|chatbots?)\b[\w\s]{0,15}"
            r"\b(?:reads?|reading|summari[sz]\w*|process\w*)\b"
            r"|\bthe (?:assistant|ai|model) (?:should|must|will|needs to)\b"
            r"|\b(?:hey|dear|attention),? (?:assistant|ai|chatgpt|model)\b"
        ),
    ),
    (
        "forced_reply",
        re.compile(
            r"(?i)\b(?:begin|start) your (?:reply|response|answer) with\b"
            r"|\brespond only with\b|\bconfirm by saying\b|\banswer only with '"
            r"|\binstead,? (?:reply|respond|say|answer|output|write|print)\b"
            r"|\bdo not (?:summari[sz]e|translate|answer)\b[\w\s]{0,20}[;:]"
        ),
    ),
    (
        "hidden_html",
        re.compile(
            r"(?is)<!--(?:(?!-->).){0,2000}?\b(?:ignore|instructions?|assistant|system|prompt|model"
            r"|ai|llm|gpt|chatbot|bot|reveal|must|when asked|respond|reply)\b.*?-->"
            r"|<[a-z]+[^>]*style\s*=\s*[\"'][^\"']*(?:display\s*:\s*none|visibility\s*:\s*hidden"
            r"|font-size\s*:\s*(?:0|1px|0?\.\d+\w*)\b)"
        ),
    ),
]

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060-\u2064\u180e\ufeff]")
_TAGS = re.compile("[\U000e0000-\U000e007f]")  # "ASCII smuggling": invisible copies of letters
_WORD_SPLIT = re.compile(
    "(?<=[^\\W\\d_])[\u200b\u200c\u200d\u2060-\u2064\u180e\ufeff]+(?=[^\\W\\d_])"
)
_NEEDLES: dict[str, tuple[str, ...]] = {
    "override": (
        "ignor",
        "disregard",
        "forget",
        "overrid",
        "bypass",
        "skip",
        "abandon",
        "drop",
        "discard",
        "follow",
    ),
    "override_multilingual": ("ignor", "oubli", "vergiss", "olvid", "dimentic"),
    "system_prompt": ("prompt", "message", "instructions", "configuration", "rules"),
    "role_change": ("you", "new ", "pretend", " as "),
    "jailbreak": (
        "dan",
        "do anything",
        "jailbreak",
        "mode",
        "restriction",
        "filter",
        "rules",
        "polic",
        "limits",
        "ethics",
        "censorship",
        "warnings",
        "disclaimers",
        "refusals",
        "caveats",
        "safety",
        "content",
        "guardrail",
        "moderation",
        "never refuse",
        "unrestricted",
        "unfiltered",
        "uncensored",
        "system override",
    ),
    "template_tokens": ("<|", "[inst", "[/inst", "<<sys", "#", "system", "assistant", "</"),
    "forced_reply": ("reply", "respon", "answer", "saying", "instead", "do not"),
    "hidden_html": ("<!--", "style"),
}
_patterns = pattern_table("injection", _TABLE, _NEEDLES)


# The same families with word gaps gone, for letters spaced apart: "i g n o r e  a l l".
_JOINED = re.compile(
    r"(?:ignore|disregard|forget|bypass|override|skip)"
    r"(?:all|the|any|every|of|your|my|these|those|previous|prior|above|earlier|preceding"
    r"|former|system|initial|original|safety|content|security|ethical|moderation|usual"
    r"|current|existing|builtin){0,4}"
    r"(?:instructions?|rules|prompts?|directions|guidelines|directives|constraints"
    r"|polic(?:y|ies)|guidance)"
    r"|(?:reveal|print|show|repeat|output|leak|dump|display|tellme)"
    r"(?:me|your|the|my|full|entire|hidden|secret|initial|original|system){0,4}"
    r"(?:systemprompt|prompt|instructions)"
    r"|jailbreak|developermode|doanythingnow|systemoverride|godmode"
    r"|youarenow(?:an?|my|the|in)|pretend(?:tobe|youare|thatyou)"
    r"|(?:no|without|withoutany)(?:restrictions|filters|rules|limits|censorship)"
)
_MAX_DEPTH = 2  # base64 inside base64


def invisible(text: str) -> list[Finding]:
    """Invisible characters used to hide or split words, in the original text. One stray
    zero-width space is common in pasted web text; several, one inside a word, or tag
    characters are not."""
    tags = [Finding("injection", "zero_width", m.start(), m.end()) for m in _TAGS.finditer(text)]
    marks = list(_INVISIBLE.finditer(text))
    if len(marks) >= 3 or any(_WORD_SPLIT.search(text, m.start() - 1, m.end() + 1) for m in marks):
        tags += [Finding("injection", "zero_width", m.start(), m.end()) for m in marks]
    return tags


def _spaced(text: str) -> list[Finding]:
    out = []
    for letters, offsets in spaced_letters(text):
        for m in _JOINED.finditer(letters):
            out.append(
                Finding("injection", "spaced_letters", offsets[m.start()], offsets[m.end() - 1] + 1)
            )
    return out


def _encoded(text: str, depth: int) -> list[Finding]:
    if depth > _MAX_DEPTH:
        return []
    return [
        Finding("injection", "base64", start, end)
        for start, end, decoded in base64_texts(text)
        if _find(normalize(decoded).text, depth + 1)
    ]


def _find(text: str, depth: int) -> list[Finding]:
    return _patterns(text) + check_injection_i18n(text) + _spaced(text) + _encoded(text, depth)


def check_injection(text: str) -> list[Finding]:
    """Injection findings in normalised text (see the module docstring)."""
    return without_overlaps(_find(text, 0) + invisible(text))


KINDS = (
    *dict.fromkeys(kind for kind, _ in (*_TABLE, *I18N_TABLE)),
    "spaced_letters",
    "base64",
    "zero_width",
)
