"""Insults, slurs and threats: a short, deliberately conservative word list plus
insults aimed at the reader ("you ... idiot"), so that "the idea was stupid" or
"a killer performance" pass.

A classifier from a pip package (alt-profanity-check, a linear model on tf-idf)
found the same cases on our corpus but took about 19 ms per call on a
700-character text, twice the 10 ms budget of all checks together; so a list.
"""

from __future__ import annotations

import re

from ragline.safety.findings import Finding, without_overlaps

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
# Threats: a first person who will harm a second person, or the set phrases of
# intimidation. Rows with the substrings one of which each match contains, so most
# texts run none of them (one regex of all rows cost ~1 ms per 1,000 characters).
_THREATS: list[tuple[tuple[str, ...], re.Pattern[str]]] = [
    (
        ("hope", "wish", "go die"),
        re.compile(
            r"(?i)\b(?:i hope|i wish|hope|wish) you (?:die|get hurt|get cancer|burn)\b"
            r"|\bgo die\b"
        ),
    ),
    (
        (
            *("kill", "hurt", "murder", "stab", "shoot", "strangl", "chok", "rape", "tortur"),
            *("behead", "butcher", "gut", "slaughter", "slit", "beat the", "burn", "hunt"),
            *("come for", "end you"),
        ),
        re.compile(
            r"(?i)\b(?:i|we)(?:'m| am|'re| are|m)? (?:going to|gonna|about to|coming to)"
            rf" (?:{_HARM}|burn|hunt|come for|end) (?:{_TARGET})\b"
            rf"|\b(?:i|we)(?:'ll| will| shall|'d| would)? (?:\w+ )?(?:{_HARM}) (?:{_TARGET})\b"
        ),
    ),
    (
        ("find you", "hunt you", "track you", "coming for"),
        re.compile(
            rf"(?i)\b(?:i|we){_WILL} (?:find|hunt|track) you(?: down)?(?:\s*[.!]|,? and\b)"
            r"|\b(?:hunt|track) you down\b|\b(?:i'm|i am|we're|we are) coming for (?:you|your)\b"
        ),
    ),
    (
        ("know where",),
        re.compile(
            r"(?i)\b(?:i|we) know where (?:you|your (?:\w+ )?(?:kids?|children|family|wife"
            r"|husband|daughter|son|mother|mom|parents)) (?:live|lives|work|works|sleep|sleeps"
            r"|park|go to school|goes to school)\b"
        ),
    ),
    (
        (
            *("watch your back", "dead", "die", "break your", "snap your", "slit your"),
            *("burn your", "bullet", "blow your", "kill", "shoot", "stab", "hurt", "murder"),
            *("beat you", "make you", "safe", "with your"),
        ),
        re.compile(
            r"(?i)\bwatch your back\b"
            r"|\byou(?:'re| are) (?:a dead (?:man|woman)|going to die|gonna die)\b"
            r"|\byou(?:'re| are) dead\b(?! (?:right|wrong|on|serious|set|tired|certain|sure|last"
            r"|easy|simple|accurate|center|centre|even|ahead|end|weight|code|link|links|letter)\b)"
            r"|\b(?:break|snap) your (?:legs?|neck|arms?|face|bones|fingers|skull)\b"
            r"|\bslit your (?:throat|wrists)\b"
            r"|\bburn your (?:house|home|car|office|shop)\b|\b(?:put|pump) a bullet in\b"
            r"|\bblow your (?:brains|head) (?:out|off)\b"
            r"|\b(?:someone|somebody) (?:should|needs to|ought to|is going to) (?:kill|shoot|stab"
            r"|hurt|murder) you\b"
            r"|\bbeat you (?:to death|up|senseless|bloody)\b|\bmake you (?:suffer|bleed)\b"
            r"|\b(?:your|ur) (?:kids|children|family|wife|husband|daughter|son) (?:won't|will not"
            r"|wont|aren't going to) be safe\b"
            r"|\bpay for (?:it|this|that) with your (?:life|blood)\b"
        ),
    ),
]

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


def check_toxicity(text: str) -> list[Finding]:
    out = [Finding("toxicity", "profanity", m.start(), m.end()) for m in _TOXIC.finditer(text)]
    low = text.lower()
    if any(w in low for w in _AIMED_WORDS):
        out += [Finding("toxicity", "insult", m.start(), m.end()) for m in _AIMED.finditer(text)]
    for needles, rx in _THREATS:
        if any(w in low for w in needles):
            out += [Finding("toxicity", "threat", m.start(), m.end()) for m in rx.finditer(text)]
    return without_overlaps(out)


KINDS = ("profanity", "insult", "threat")
