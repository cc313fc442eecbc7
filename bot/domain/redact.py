"""Secrets redaction (tokens, keys, credentials in URLs, headers, assignments and command lines),
applied before anything is stored or shown; idempotent, never raises."""

from __future__ import annotations

import re

MASK = "[REDACTED]"

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END \1-----|\Z)", re.DOTALL)
_TOKENS = re.compile(
    r"\b(?:"
    r"xox[abposr]-[A-Za-z0-9-]{6,}"  # Slack bot/user/app-level tokens
    r"|xapp-[A-Za-z0-9-]{6,}"
    r"|gh[pousr]_[A-Za-z0-9]{16,}"  # GitHub
    r"|glpat-[A-Za-z0-9_-]{16,}"  # GitLab
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
    r"|sk-[A-Za-z0-9_-]{20,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JWT
    r")"
)
# What each of _TOKENS' alternatives starts with (case-sensitive, as the pattern is).
_TOKEN_STARTS = ("xox", "xapp-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "glpat-", "AKIA", "ASIA",
                 "sk-", "eyJ")
_URL_CREDENTIALS = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*):[^\s@/]+@")
_HEADER = re.compile(
    r"(?im)\b((?:proxy-)?authorization|cookie|set-cookie|x-api-key|x-auth-token|api-key)"
    r"(\s*[:=]\s*)(?!\[REDACTED\])[^\r\n]+"
)
_KEY_WORDS = (
    r"[A-Za-z0-9_.-]*(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key"
    r"|private[_-]?key|credentials?|client[_-]?secret)[A-Za-z0-9_.-]*"
)
# key = value, key: value, "key": "value", key='value'; the value stops at the first blank,
# quote, comma, ampersand or semicolon (so query strings and JSON keep their shape).
_ASSIGNMENT = re.compile(
    r"(?i)(?<![A-Za-z0-9])(['\"]?" + _KEY_WORDS + r"['\"]?\s*[:=]\s*['\"]?)"
    r"(?!\[REDACTED\])([^\s'\",&;]+)"
)
# A quoted value after a sensitive name, whole (spaces and all): `"password": "p a s s"`, and
# gdb's `password=0x5555555592a0 "Sup3rS3cret!"` (a char * argument: pointer, then the string).
_QUOTED = re.compile(
    r"(?i)(?<![A-Za-z0-9])(['\"]?" + _KEY_WORDS + r"['\"]?\s*[:=]\s*(?:0x[0-9a-f]+\s+)?)"
    r"(\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*')"
)
_LONG_OPTION = re.compile(
    r"(?i)(?<!\S)(--(?:password|passwd|pass|token|secret|api-key)(?:=|\s+))"
    r"(?!\[REDACTED\])(\S+)"
)
_SHORT_P = re.compile(r"(?<!\S)-p(?!\d+(?:\s|$))(?!\[REDACTED\])([^\s-]\S*)")
_PASSWORD_ARG = re.compile(
    r"(?i)\b((?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump|sshpass)\b[^\n|;&]*?\s-p\s*)"
    r"(?!\[REDACTED\])(\S+)"
)
_REDIS_ARG = re.compile(r"(?i)\b(redis-cli\b[^\n|;&]*?\s-a\s+)(?!\[REDACTED\])(\S+)")


def redact(text: str) -> str:
    """Return text with every secret it recognizes replaced by [REDACTED]."""
    # Most output holds none of the words the slow patterns need; for ASCII text, where
    # (?i) means lower-casing, a word's absence proves a pattern cannot match.
    words = text.lower() if text.isascii() else None

    def may(*needles: str) -> bool:
        return words is None or any(needle in words for needle in needles)

    if "-----BEGIN " in text:
        text = _PEM.sub(lambda m: f"-----BEGIN {m.group(1)}-----{MASK}-----END {m.group(1)}-----",
                        text)
    if any(start in text for start in _TOKEN_STARTS):
        text = _TOKENS.sub(MASK, text)
    if may("://"):
        text = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    if may("authorization", "cookie", "key", "token"):
        text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    if "--" in text and may("--pass", "--token", "--secret", "--api-key"):
        text = _LONG_OPTION.sub(lambda m: f"{m.group(1)}{MASK}", text)
    if may("mysql", "mariadb", "sshpass"):
        text = _PASSWORD_ARG.sub(lambda m: f"{m.group(1)}{MASK}", text)
    if may("redis-cli"):
        text = _REDIS_ARG.sub(lambda m: f"{m.group(1)}{MASK}", text)
    if "-p" in text:
        text = _SHORT_P.sub(f"-p{MASK}", text)
    if not may("pass", "pwd", "secret", "token", "key", "credential"):  # every _KEY_WORDS
        return text
    text = _QUOTED.sub(lambda m: f"{m.group(1)}{m.group(2)[0]}{MASK}{m.group(2)[0]}", text)
    return _ASSIGNMENT.sub(lambda m: f"{m.group(1)}{MASK}", text)
