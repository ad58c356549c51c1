"""Personal data: emails, phone numbers, payment cards (Luhn), IBANs (mod 97), IP
addresses and national ids.

Numbers are the hard part: a text full of order numbers, versions, dates and
ranges must not light up. So a digit run counts only when its shape says so
(a `+` country code, an area code in brackets, a trunk `0`, the US 3-3-4
layout, a checksum that holds), or when a word such as "phone" or "SSN" just
before it says what it is. National layouts without a `+` (French `06 12 34 56 78`,
Indian `98765 43210`, `00` international prefixes) must also be a valid number
of that country in libphonenumber's metadata (`phonenumbers`).
"""

from __future__ import annotations

import ipaddress
import re

from ragline.safety.findings import Finding

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w]|\.\d)"
)
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
# Words that make a dotted quad a version, not an address.
_VERSION_CONTEXT = re.compile(
    r"(?i)\b(?:v|version|versions|build|release|driver|firmware|upgrade|update|package)\b"
    r"[^!?\n]{0,30}$"
)
_PHONE_SHAPES = re.compile(
    r"(?<![\w+.-])(?:"
    r"\+\d{1,3}[ .-]?(?:\(0?\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,5}){1,4}"  # +CC ...
    r"|\(\d{2,5}\)[ .-]?\d{3,4}[ .-]?\d{3,4}"  # (415) 555-2671
    r"|0\d{2,4}[ .-]?\d{3,4}[ .-]?\d{3,4}"  # trunk 0: 020 7946 0018, 07700 900123
    r"|(?:1[ .-])?[2-9]\d{2}[.-]\d{3}[.-]\d{4}"  # 617-555-0199, 1-800-555-0199
    r")(?![\w-]|\.\d)"
)
# Layouts of one country, checked against that country's numbering plan.
_PHONE_NATIONAL = re.compile(
    r"(?<![\w+.-])(?:"
    r"(?P<FR>0[1-9](?P<sep>[ .-])\d{2}(?:(?P=sep)\d{2}){3})"  # 06 12 34 56 78, 01.44.55.66.77
    r"|(?P<IN>(?:\+91[ -]?|0)?[6-9]\d{4}[ -]\d{5})"  # 98765 43210, +91 98765-43210
    r"|(?P<intl>00[1-9]\d{0,2}[ .-]\d[\d .-]{5,16}\d)"  # 0033 1 53 40 60 80
    r")(?![\w-]|[.,]\d)"
)
_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|mob|ph|móvil|movil|cell|call|text|fax|ring|whatsapp"
    r"|contact|reach|tél|téléphone|portable|appelez|appeler|joindre|joignable|contactez"
    r"|numéro|composez)\b\.?[^\n\d]{0,20}"
    r"(\+?\(?\d[\d ().-]{5,18}\d)(?![\w-])"
)
# Cheap substring tests that skip the context regexes on most texts.
_PHONE_WORDS = (
    "phone",
    "tel",
    "mobile",
    "móvil",
    "movil",
    "cell",
    "call",
    "text",
    "fax",
    "ring",
    "whatsapp",
    "contact",
    "reach",
    "mob",
    "ph",
    "tél",
    "portable",
    "appel",
    "joi",
    "numéro",
    "compos",
)
_ID_WORDS = (
    "ssn",
    "sin",
    "social",
    "national",
    "ni",
    "passport",
    "tax id",
    "id number",
    "personalausweis",
    "dni",
    "nif",
)
_YEAR_RANGE = re.compile(r"^(?:19|20)\d\d ?[-\u2013] ?(?:19|20)\d\d$")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_UK_NINO = re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_ID_CONTEXT = re.compile(
    r"(?i)\b(?:ssn|sin|social (?:security|insurance)(?: number)?|national (?:insurance|id)"
    r"(?: number)?|ni(?:no| number)|passport(?: number| no\.?)?|tax id|id number"
    r"|personalausweis|dni|nif)\b"
    r"[^\n\w]{0,10}(?:is |number |no\.? )?([A-Z0-9][A-Z0-9 -]{5,16}[A-Z0-9])\b"
)


def luhn(digits: str) -> bool:
    nums = [int(c) for c in digits][::-1]
    total = sum(
        n if i % 2 == 0 else (n * 2 - 9 if n * 2 > 9 else n * 2) for i, n in enumerate(nums)
    )
    return total % 10 == 0


def iban_ok(raw: str) -> bool:
    s = raw.replace(" ", "").upper()
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _digits(s: str) -> int:
    return sum(c.isdigit() for c in s)


def _in_url(text: str, start: int) -> bool:
    token_start = max(text.rfind(c, 0, start) for c in " \n\t") + 1
    return "://" in text[token_start:start]


def _overlaps(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in taken)


def _ips(text: str) -> list[Finding]:
    out = []
    for m in _IPV4.finditer(text) if "." in text else ():
        if not _VERSION_CONTEXT.search(text[max(0, m.start() - 30) : m.start()]):
            out.append(Finding("pii", "ip_address", m.start(), m.end()))
    if ":" in text:
        for m in _IPV6.finditer(text):
            try:
                ipaddress.IPv6Address(m.group())
            except ValueError:
                continue
            out.append(Finding("pii", "ip_address", m.start(), m.end()))
    return out


def _valid_number(number: str, region: str) -> bool:
    import phonenumbers  # only when a national layout appears

    if region == "intl":
        number, region = "+" + number[2:], "ZZ"
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:
        return False


def _phones(
    text: str, taken: list[tuple[int, int]], card_like: list[tuple[int, int]]
) -> list[Finding]:
    out: list[Finding] = []
    for m in _PHONE_NATIONAL.finditer(text):
        region = next(k for k in ("FR", "IN", "intl") if m.group(k))
        if not _overlaps(m.start(), m.end(), taken) and _valid_number(m.group(), region):
            out.append(Finding("pii", "phone", m.start(), m.end()))
            taken.append((m.start(), m.end()))
    taken += card_like
    spans: list[tuple[int, int]] = []
    for m in _PHONE_SHAPES.finditer(text):
        if 8 <= _digits(m.group()) <= 15 or (m.group().startswith("+") and _digits(m.group()) >= 7):
            spans.append((m.start(), m.end()))
    low = text.lower()
    context = any(w in low for w in _PHONE_WORDS)
    for m in _PHONE_CONTEXT.finditer(text) if context else ():
        raw = m.group(1)
        if 7 <= _digits(raw) <= 15 and not _YEAR_RANGE.match(raw):
            spans.append((m.start(1), m.end(1)))
    for start, end in sorted(spans):
        if not _overlaps(start, end, taken):
            out.append(Finding("pii", "phone", start, end))
            taken.append((start, end))
    return out


def check_pii(text: str) -> list[Finding]:
    out = [
        Finding("pii", "email", m.start(), m.end())
        for m in (_EMAIL.finditer(text) if "@" in text else ())
        if not _in_url(text, m.start())  # user:password@host is a credential, not an email
    ]
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn(digits):
            out.append(Finding("pii", "credit_card", m.start(), m.end()))
    out += [
        Finding("pii", "iban", m.start(), m.end())
        for m in _IBAN.finditer(text)
        if iban_ok(m.group())
    ]
    out += _ips(text)
    out += [Finding("pii", "national_id", m.start(), m.end()) for m in _SSN.finditer(text)]
    out += [Finding("pii", "national_id", m.start(), m.end()) for m in _UK_NINO.finditer(text)]
    taken = [(f.start, f.end) for f in out]
    low = text.lower()
    for m in _ID_CONTEXT.finditer(text) if any(w in low for w in _ID_WORDS) else ():
        if _digits(m.group(1)) >= 6 and not _overlaps(m.start(1), m.end(1), taken):
            out.append(Finding("pii", "national_id", m.start(1), m.end(1)))
            taken.append((m.start(1), m.end(1)))
    # Long digit runs are card-like (even failing Luhn), never phone numbers, unless they
    # are valid in a country's numbering plan.
    card_like = [(m.start(), m.end()) for m in _CARD.finditer(text) if _digits(m.group()) >= 13]
    return out + _phones(text, taken, card_like)


KINDS = ("email", "phone", "credit_card", "iban", "ip_address", "national_id")
