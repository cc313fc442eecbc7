"""Secrets redaction: known shapes are masked, plain text is left alone, redaction is idempotent."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from bot.domain.redact import MASK, redact

SECRET = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789",
                 min_size=12, max_size=40)
NOISE = st.text(alphabet="abcdefghij klmnop.,/\n", max_size=60)


@pytest.mark.parametrize(("text", "kept"), [
    ("SLACK_BOT_TOKEN=xoxb-1234-5678-abcdefghijkl", "SLACK_BOT_TOKEN="),
    ("token xoxp-11-22-33-aaaaaaaaaaaa in a log", "token "),
    ("app token xapp-1-A012-3456-deadbeefcafe", "app token"),
    ("gh token ghp_abcdefghijklmnopqrstuvwxyz0123", "gh token"),
    ("aws AKIAIOSFODNN7EXAMPLE here", "aws "),
    ("Authorization: Bearer abc.def.ghi", "Authorization: "),
    ("curl -H 'authorization: Basic dXNlcjpwYXNz' http://x", "authorization: "),
    ("postgres://app:hunter2hunter2@db:5432/prod", "postgres://app:"),
    ("password=hunter2hunter2 next", "password="),
    ('{"db_password": "hunter2hunter2", "user": "app"}', '"user": "app"'),
    ("api_key: hunter2hunter2", "api_key: "),
    ("mysql -u root -phunter2hunter2 prod", "mysql -u root -p"),
    ("mysqldump -u root -p hunter2hunter2 prod", "mysqldump"),
    ("tool --password hunter2hunter2 --verbose", "--verbose"),
    ("tool --password=hunter2hunter2", "--password="),
    ("redis-cli -h r -a hunter2hunter2 ping", "ping"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
     "-----END OPENSSH PRIVATE KEY-----", "PRIVATE KEY"),
])
def test_known_secret_shapes_are_masked(text: str, kept: str) -> None:
    out = redact(text)
    assert MASK in out
    assert kept in out
    for secret in ("hunter2hunter2", "abcdefghijkl", "AKIAIOSFODNN7EXAMPLE", "dXNlcjpwYXNz",
                   "b3BlbnNzaC1rZXktdjEAAAAA", "abc.def.ghi", "deadbeefcafe"):
        assert secret not in out


@pytest.mark.parametrize("text", [
    "mkdir -p /var/tmp/x", "ssh -p 2222 host", "segfault at 38 ip 000055c1b2f9a4d2",
    "Restart=always\nRestartUSec=200ms", "libssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3",
    "request_id=9f2b4d1f path=/checkout/confirm", "version=2.18.7 git=9b7c6fd3",
])
def test_ordinary_evidence_is_untouched(text: str) -> None:
    assert redact(text) == text


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_redaction_never_raises_and_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@settings(max_examples=200)
@given(NOISE)
def test_text_without_secret_shapes_is_unchanged(text: str) -> None:
    assert redact(text) == text


FORMS = [
    "PASSWORD={s}", "db_password: {s}", '"client_secret": "{s}"', "?token={s}&x=1",
    "https://user:{s}@example.com/", "Authorization: Bearer {s}", "X-Api-Key: {s}",
    "--password {s}", "--password={s}", "mysql -p{s}", "sshpass -p {s} ssh host",
    "xoxb-{s}", "xoxa-{s}", "xoxp-{s}",
]


@settings(max_examples=300)
@given(before=NOISE, secret=SECRET, after=NOISE, form=st.sampled_from(FORMS))
def test_a_secret_in_any_known_form_never_survives(before: str, secret: str, after: str,
                                                   form: str) -> None:
    assume(secret not in before and secret not in after)  # noise can spell the secret too
    text = f"{before} {form.format(s=secret)} {after}"
    assert secret not in redact(text)


def _every_pattern(text: str) -> str:
    """redact() without its shortcuts: each pattern applied to the text, in the same order."""
    import bot.domain.redact as r

    text = r._PEM.sub(lambda m: f"-----BEGIN {m.group(1)}-----{MASK}-----END {m.group(1)}-----",
                      text)
    text = r._TOKENS.sub(MASK, text)
    text = r._URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    text = r._HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = r._LONG_OPTION.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = r._PASSWORD_ARG.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = r._REDIS_ARG.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = r._SHORT_P.sub(f"-p{MASK}", text)
    text = r._QUOTED.sub(lambda m: f"{m.group(1)}{m.group(2)[0]}{MASK}{m.group(2)[0]}", text)
    return r._ASSIGNMENT.sub(lambda m: f"{m.group(1)}{MASK}", text)


WORDY = st.lists(st.sampled_from(
    ["password", "PassWd", "pwd", "SECRET", "token", "api-key", "Api_Key", "credentials",
     "Authorization", "cookie", "mysql", "MariaDB", "sshpass", "redis-cli", "://", "@", "-p",
     "--password", "-----BEGIN PRIVATE KEY-----", "=", ":", " ", "\n", '"', "'", "x", "7",
     "ſ", "K", "İ", "é", "xoxb-", "xapp-", "ghp_", "glpat-", "AKIA", "ASIA", "sk-", "eyJ", ".",
     "0123456789ABCDEFGHIJ", "abcdefghijklmnopqrstu", "--token", "--SECRET", "--Api-Key",
     "--pass", "--", "-----END PRIVATE KEY-----", "eyJabcdefgh.eyJabcdefgh.abcdefgh"]),
    max_size=30).map("".join)


@given(st.one_of(WORDY, st.text(max_size=200)))
@example("run --api-key s3cr3t").via("a long option the shortcut must see")
@example("Bearer eyJabcdefgh.eyJabcdefgh.abcdefgh").via("a token the shortcut must see")
@settings(max_examples=400)
def test_shortcuts_never_change_what_is_masked(text: str) -> None:
    assert redact(text) == _every_pattern(text)
