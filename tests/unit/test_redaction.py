"""The run's redactor: registered secrets never leave the suite, in plain or base64 form."""

from __future__ import annotations

import base64
import io

import pytest

from kfval.report import redaction

SECRET = "hunter2-registry-password"


@pytest.fixture
def redactor() -> redaction.Redactor:
    registry = redaction.Redactor()
    registry.register(SECRET)
    return registry


def test_a_registered_value_is_masked_wherever_it_appears(redactor: redaction.Redactor) -> None:
    assert redactor.redact(f"login with {SECRET}, again {SECRET}!") == "login with ***, again ***!"


def test_unregistered_text_is_untouched(redactor: redaction.Redactor) -> None:
    assert redactor.redact("epoch 1 loss=0.25 accuracy=0.97") == "epoch 1 loss=0.25 accuracy=0.97"


@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"user:", b'{"auths":{"r":{"auth":"'])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_forms_are_masked_at_every_alignment(
    redactor: redaction.Redactor, prefix: bytes, encode: object
) -> None:
    assert callable(encode)
    blob = encode(prefix + SECRET.encode() + b"\n").decode()

    redacted = redactor.redact(f"data: {blob}")

    assert "***" in redacted
    assert blob not in redacted


def test_a_secret_base64_blob_as_kubernetes_shows_it(redactor: redaction.Redactor) -> None:
    encoded = base64.b64encode(SECRET.encode()).decode()

    assert redactor.redact(f"password: {encoded}") == "password: ***"


def test_each_line_of_a_multi_line_secret_is_masked() -> None:
    registry = redaction.Redactor()
    registry.register("-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END KEY-----")

    assert registry.redact("line 2: MIIEvQIBADANBgkqhkiG9w0B") == "line 2: ***"


def test_empty_values_are_not_registered() -> None:
    registry = redaction.Redactor()
    registry.register("")
    registry.register("   ")

    assert registry.redact("nothing to hide") == "nothing to hide"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abcdEFGH1234.xyz", "Authorization: Bearer ***"),
        ("jwt eyJhbGciOi.eyJzdWIiOiIx.SflKxwRJSM end", "jwt *** end"),
        ("key AKIAIOSFODNN7EXAMPLE used", "key *** used"),
    ],
)
def test_well_known_credential_shapes_are_masked_unregistered(text: str, expected: str) -> None:
    assert redaction.Redactor().redact(text) == expected


def test_longer_secrets_win_over_their_prefixes() -> None:
    registry = redaction.Redactor()
    registry.register("abcd")
    registry.register("abcdefgh")

    assert registry.redact("abcdefgh abcd") == "*** ***"


def test_bytes_are_redacted_and_undecodable_bytes_survive(redactor: redaction.Redactor) -> None:
    data = b"\xff\xfe " + SECRET.encode() + b" \x80"

    assert redactor.redact_bytes(data) == b"\xff\xfe *** \x80"


def test_the_console_stream_redacts_whole_lines_even_when_a_secret_is_split(redactor: redaction.Redactor) -> None:
    target = io.StringIO()
    stream = redaction.RedactingStream(target, redactor)

    stream.write("token=" + SECRET[:5])
    assert target.getvalue() == ""
    stream.write(SECRET[5:] + "\nnext ")
    stream.flush()

    assert target.getvalue() == "token=***\nnext "


def test_the_console_stream_follows_a_replaced_redactor(redactor: redaction.Redactor) -> None:
    target = io.StringIO()
    stream = redaction.RedactingStream(target, redaction.Redactor())
    stream.redactor = redactor

    print(SECRET, file=stream)

    assert target.getvalue() == "***\n"
