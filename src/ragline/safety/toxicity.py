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
_HARM = (
    r"kill|hurt|murder|stab|shoot|strangle|choke|rape|torture|behead|butcher|gut|slaughter"
    r"|slit|beat the (?:shit|crap|hell) out of"
)
# "you" as the one harmed, not "shoot you an email" or "kill you a chicken".
_YOU = r"(?:you|u|ya)(?! (?:an?|the|some|over|back|through|my|our|this|that|a few)\b)"
_TARGET = (
    rf"{_YOU}|your (?:\w+ )?(?:family|kids?|children|wife|husband|mother|mom|mum|dad|father"
    r"|sister|brother|daughter|son|dog|cat|house|car|home|face|head|legs?|arms?|neck|throat)"
)
_WILL = r"(?:'ll| will| shall|'d| would|'m going to| am going to|'re going to| are going to" + (
    r"|'m gonna| am gonna|'re gonna| are gonna|m gonna)"
)
# Threats: a first person who will harm a second person, or the set phrases of intimidation.
_THREAT = re.compile(
    r"(?i)\b(?:i hope|i wish|hope|wish) you (?:die|get hurt|get cancer|burn)\b|\bgo die\b"
    rf"|\b(?:i|we)(?:'m| am|'re| are|m)? (?:going to|gonna|about to|coming to) (?:{_HARM}"
    rf"|burn|hunt|come for|end) (?:{_TARGET})\b"
    rf"|\b(?:i|we)(?:'ll| will| shall|'d| would)? (?:\w+ )?(?:{_HARM}) (?:{_TARGET})\b"
    rf"|\b(?:i|we){_WILL} (?:find|hunt|track) you(?: down)?(?:\s*[.!]|,? and\b)"
    r"|\b(?:hunt|track) you down\b|\b(?:i'm|i am|we're|we are) coming for (?:you|your)\b"
    r"|\b(?:i|we) know where (?:you|your (?:\w+ )?(?:kids?|children|family|wife|husband"
    r"|daughter|son|mother|mom|parents)) (?:live|lives|work|works|sleep|sleeps|park|go to school"
    r"|goes to school)\b"
    r"|\bwatch your back\b"
    r"|\byou(?:'re| are) (?:a dead (?:man|woman)|going to die|gonna die)\b"
    r"|\byou(?:'re| are) dead\b(?! (?:right|wrong|on|serious|set|tired|certain|sure|last|easy"
    r"|simple|accurate|center|centre|even|ahead|end|weight|code|link|links|letter)\b)"
    r"|\b(?:break|snap) your (?:legs?|neck|arms?|face|bones|fingers|skull)\b"
    r"|\bslit your (?:throat|wrists)\b"
    r"|\bburn your (?:house|home|car|office|shop)\b|\b(?:put|pump) a bullet in\b"
    r"|\bblow your (?:brains|head) (?:out|off)\b"
    r"|\b(?:someone|somebody) (?:should|needs to|ought to|is going to) (?:kill|shoot|stab|hurt"
    r"|murder) you\b"
    r"|\bbeat you (?:to death|up|senseless|bloody)\b|\bmake you (?:suffer|bleed)\b"
    r"|\b(?:your|ur) (?:kids|children|family|wife|husband|daughter|son) (?:won't|will not|wont"
    r"|aren't going to) be safe\b"
    r"|\bpay for (?:it|this|that) with your (?:life|blood)\b"
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
_THREAT_WORDS = (
    "hope",
    "wish",
    "die",
    "dead",
    "kill",
    "hurt",
    "murder",
    "stab",
    "shoot",
    "strangl",
    "chok",
    "rape",
    "tortur",
    "behead",
    "butcher",
    "gut",
    "slaughter",
    "beat",
    "break",
    "snap",
    "burn",
    "hunt",
    "come for",
    "end you",
    "find you",
    "where you",
    "where your",
    "coming for",
    "track you",
    "slit",
    "watch your back",
    "bullet",
    "blow your",
    "suffer",
    "bleed",
    "safe",
    "your life",
    "your blood",
)


def check_toxicity(text: str) -> list[Finding]:
    out = [Finding("toxicity", "profanity", m.start(), m.end()) for m in _TOXIC.finditer(text)]
    low = text.lower()
    if any(w in low for w in _AIMED_WORDS):
        out += [Finding("toxicity", "insult", m.start(), m.end()) for m in _AIMED.finditer(text)]
    if any(w in low for w in _THREAT_WORDS):
        out += [Finding("toxicity", "threat", m.start(), m.end()) for m in _THREAT.finditer(text)]
    return out


KINDS = ("profanity", "insult", "threat")
