"""Insults, slurs and threats: a short, deliberately conservative word list plus
insults aimed at the reader ("you ... idiot"), so that "the idea was stupid" or
"a killer performance" pass.

A classifier from a pip package (alt-profanity-check, a linear model on tf-idf)
found the same cases on our corpus but took about 19 ms per call on a
700-character text, twice the 10 ms budget of all checks together; so a list.
"""

from __future__ import annotations

import re

from ragline.safety.findings import Finding

_WORDS = (
    r"fuck\w*|motherfuck\w*|shit(?:ty|head)?|bullshit|bitch\w*|bastards?|assholes?|cunts?"
    r"|dickheads?|dumbass\w*|retards?|idiots?|morons?|kys|kill yourself"
)
_TOXIC = re.compile(rf"(?i)\b(?:{_WORDS})\b")
# Milder words are insults only when aimed at someone.
_AIMED = re.compile(
    r"(?i)\b(?:you|you're|youre|ur)\b[\w\s,]{0,20}?\b(?:loser|worthless|pathetic|useless|dumb"
    r"|stupid|scum|trash|garbage)\b"
    r"|\b(?:loser|scum),"
)
_THREAT = re.compile(
    r"(?i)\b(?:i hope|i wish|hope|wish) you (?:die|get hurt|get cancer|burn)\b|\bgo die\b"
    r"|\bi(?:'ll| will) (?:kill|hurt|find) you\b"
)

# Substrings every match contains: most texts skip the regexes.
_AIMED_WORDS = (
    "loser",
    "worthless",
    "pathetic",
    "useless",
    "dumb",
    "stupid",
    "scum",
    "trash",
    "garbage",
)
_THREAT_WORDS = ("hope", "wish", "go die", "kill", "hurt", "find you")


def check_toxicity(text: str) -> list[Finding]:
    out = [Finding("toxicity", "profanity", m.start(), m.end()) for m in _TOXIC.finditer(text)]
    low = text.lower()
    if any(w in low for w in _AIMED_WORDS):
        out += [Finding("toxicity", "insult", m.start(), m.end()) for m in _AIMED.finditer(text)]
    if any(w in low for w in _THREAT_WORDS):
        out += [Finding("toxicity", "threat", m.start(), m.end()) for m in _THREAT.finditer(text)]
    return out


KINDS = ("profanity", "insult", "threat")
