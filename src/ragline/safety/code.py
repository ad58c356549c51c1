"""Code payloads: destructive shell commands, pipe-to-shell installs, reverse shells,
SQL injection (stacked DROP/TRUNCATE, tautologies, UNION SELECT after a value,
xp_cmdshell), script injection (tags, javascript: URLs, event handlers) and
encoded PowerShell; the same in Python (`os.system`, `subprocess`, `shutil.rmtree`
of a home or root folder, a socket wired to a shell) and hidden in base64.

Code that merely *talks about* these (a SELECT with a WHERE clause, `rm -rf
build/`, "put the script tag at the end of the body") is not a payload.
"""

from __future__ import annotations

import re

from ragline.safety.encoded import base64_texts
from ragline.safety.findings import Finding, pattern_table, without_overlaps

_TABLE = [
    (
        "rm_rf",
        re.compile(
            r"\brm\s+(?:-[a-zA-Z]*[rR][a-zA-Z]*\s+|--recursive\s+|--force\s+)+"
            r"(?:--no-preserve-root\b|[\"']?(?:/|~/?|/\*|~/\*|\*|\$HOME/?|\$\{HOME\}/?)[\"']?"
            r"(?=\s|$|[\"');&|])|/(?:etc|usr|bin|var|home|boot|root|lib)\b)"
            # subprocess.run(['rm', '-rf', '/'])
            r"|\[\s*[\"']rm[\"']\s*,\s*[\"']-[a-zA-Z]*[rR][a-zA-Z]*[\"']\s*,\s*"
            r"(?:[\"']-[\w-]+[\"']\s*,\s*)*[\"'](?:/|~|/\*|~/\*|\$HOME)[\"']"
        ),
    ),
    (
        "rmtree",
        re.compile(
            r"\bshutil\.rmtree\(\s*(?:[\"'](?:/|~/?|/(?:etc|usr|bin|var|home|boot|root)/?"
            r"|[A-Za-z]:\\\\?)[\"']|os\.path\.expanduser\(\s*[\"']~/?[\"']\s*\)"
            r"|(?:pathlib\.)?Path\.home\(\)|os\.environ\[\s*[\"']HOME[\"']\s*\]"
            r"|os\.getenv\(\s*[\"']HOME[\"']\s*\))"
        ),
    ),
    (
        "sql_drop",
        re.compile(
            r"(?i)(?:;|'|\")\s*(?:DROP|TRUNCATE|DELETE\s+FROM)\s+(?:TABLE\s+|DATABASE\s+)?\w"
        ),
    ),
    ("sql_tautology", re.compile(r"(?i)['\"]\s*\)?\s*OR\s+['\"]?(\w+)['\"]?\s*=\s*['\"]?\1\b")),
    ("sql_union", re.compile(r"(?i)(?:['\"]|\d)\s*\)?\s*UNION\s+(?:ALL\s+)?SELECT\b")),
    ("sql_exec", re.compile(r"(?i)\b(?:xp_cmdshell|sp_oacreate|exec\s+master\.)")),
    ("script_tag", re.compile(r"(?i)<script\b[^>]*>\s*\S|javascript:\s*\w")),
    ("event_handler", re.compile(r"(?i)<[a-z][^>]*?[\s/]on[a-z]{3,}\s*=")),
    (
        "pipe_to_shell",
        re.compile(r"(?i)\b(?:curl|wget)\b[^|\n]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b"),
    ),
    (
        "reverse_shell",
        re.compile(
            r"/dev/(?:tcp|udp)/[\w.-]+/\d+|\bbash\s+-i\s+>&"
            r"|\bnc(?:at)?\b[^\n|;]{0,80}?\s-[ec]\s+[\"']?(?:/bin/)?(?:ba|z|da)?sh\b"
            r"|(?:/bin/)?\b(?:ba|z|da)?sh\s+-i\b[^\n]{0,40}?(?:[<>]&\s*[%$]?\w|\|\s*nc(?:at)?\b)"
            r"|\bTCPSocket\.(?:open|new)\b[^\n]{0,200}?/bin/(?:ba|z|da)?sh\b"
            r"|\bsocat\b[^\n]{0,120}\bexec:[\"']?(?:/bin/)?(?:ba|z|da)?sh\b"
            r"|\bexec\s*\(?\s*[\"'](?:/bin/)?(?:ba|z|da)?sh\s+-i\b"
            r"|\bfsockopen\s*\([^\n]{0,200}?(?:/bin/(?:ba|z|da)?sh|cmd\.exe)"
            r"|\bSystem\.Net\.Sockets\.TCPClient\b[^\n]{0,300}?\b(?:iex|Invoke-Expression"
            r"|cmd\.exe)\b"
            # Python: a socket connected out, then its descriptors or its data fed to a shell.
            r"|\.connect\s*\(\s*\([^()\n]{1,120}\)\s*\)[\s\S]{0,600}?(?:os\.dup2\s*\("
            r"|pty\.spawn\s*\(|subprocess\.\w+\s*\(|[\"']/bin/(?:ba|z|da)?sh[\"']|cmd\.exe)"
        ),
    ),
    (
        "obfuscated_eval",
        re.compile(
            r"\beval\s*\(\s*(?:atob|unescape|String\.fromCharCode|base64_decode|gzinflate"
            r"|decodeURIComponent)\s*\("
            r"|\b(?:exec|eval)\s*\(\s*(?:__import__\(\s*[\"']base64[\"']\s*\)\.|base64\.)?"
            r"(?:b64decode|b32decode|a85decode|zlib\.decompress|marshal\.loads|codecs\.decode)\s*\("
            r"|\bbase64\s+(?:-d|--decode)\b[^\n|]{0,40}\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b"
        ),
    ),
    ("fork_bomb", re.compile(r":\(\)\s*\{\s*:\|:&\s*\};:")),
    (
        "disk_wipe",
        re.compile(
            r"\bdd\s+if=/dev/(?:zero|random|urandom)\s+of=/dev/[sh]d|\bmkfs(?:\.\w+)?\s+/dev/"
        ),
    ),
    (
        "credential_files",
        re.compile(r"\b(?:chmod\s+[0-7]*7[0-7]*\s+|cat\s+)/etc/(?:shadow|sudoers)\b"),
    ),
    (
        "encoded_powershell",
        re.compile(
            r"(?i)\bpowershell(?:\.exe)?\s+(?:-\w+\s+)*-e(?:nc|ncodedcommand)?\s+[A-Za-z0-9+/=]{20,}"
        ),
    ),
]

_NEEDLES: dict[str, tuple[str, ...]] = {
    "rm_rf": ("rm",),
    "rmtree": ("rmtree",),
    "sql_drop": ("drop", "truncate", "delete"),
    "sql_tautology": ("or",),
    "sql_union": ("union",),
    "sql_exec": ("xp_cmdshell", "sp_oacreate", "exec"),
    "script_tag": ("<script", "javascript:"),
    "event_handler": ("<",),
    "pipe_to_shell": ("curl", "wget"),
    "reverse_shell": (
        "/dev/",
        "bash",
        "-e",
        "-c",
        "-i",
        "socat",
        "fsockopen",
        "tcpclient",
        "tcpsocket",
        "connect",
    ),
    "obfuscated_eval": ("eval", "exec", "base64"),
    "fork_bomb": (":()",),
    "disk_wipe": ("dd", "mkfs"),
    "credential_files": ("/etc/shadow", "/etc/sudoers"),
    "encoded_powershell": ("powershell",),
}

_patterns = pattern_table("malicious_code", _TABLE, _NEEDLES)


def check_malicious_code(text: str) -> list[Finding]:
    """Payloads in (normalised) text, and payloads that base64 hides."""
    hidden = [
        Finding("malicious_code", "base64", start, end)
        for start, end, decoded in base64_texts(text)
        if _patterns(decoded)
    ]
    return without_overlaps(_patterns(text) + hidden)


KINDS = (*(kind for kind, _ in _TABLE), "base64")
