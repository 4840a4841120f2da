"""The channel protocols of pods/exec: framing, the v5 close signal, negotiation, sizes, final Status."""

from __future__ import annotations

import json

import pytest

from kfval.embedded.apiserver import channels
from kfval.embedded.apiserver.channels import Frame
from kfval.embedded.apiserver.remotecommand import final_status
from kfval.embedded.types import ExecResult


def test_binary_protocols_prefix_each_message_with_its_channel_byte() -> None:
    assert channels.V5.encode(channels.STDOUT, b"hi\n") == b"\x01hi\n"
    assert channels.V4.encode(channels.ERROR, b"{}") == b"\x03{}"
    assert channels.V4.encode(channels.STDERR, b"") == b"\x02"


def test_base64_protocols_send_text_with_an_ascii_channel_digit() -> None:
    assert channels.V4_BASE64.encode(channels.STDOUT, b"\n") == "1Cg=="
    assert channels.V4_BASE64.decode("0Zm9vCg==") == Frame(channels.STDIN, b"foo\n")
    assert channels.V1_BASE64.decode("0not base64!") is None


def test_a_text_message_on_a_binary_protocol_is_read_as_its_bytes() -> None:
    """The Python client sends str stdin as a text message: chr(0) + data."""
    assert channels.V4.decode("\x00echo hi\n") == Frame(channels.STDIN, b"echo hi\n")


def test_only_v5_reads_255_as_the_close_signal() -> None:
    assert channels.V5.decode(b"\xff\x00") == Frame(channels.STDIN, closed=True)
    assert channels.V4.decode(b"\xff\x00") is None  # channel 255 does not exist before v5: ignored


@pytest.mark.parametrize("message", [b"\xff", b"\xff\x00\x00", b"\xff\x09"])
def test_a_malformed_close_signal_ends_the_connection(message: bytes) -> None:
    with pytest.raises(channels.ChannelProtocolError):
        channels.V5.decode(message)


def test_empty_messages_and_unknown_channels_are_ignored() -> None:
    assert channels.V5.decode(b"") is None
    assert channels.V5.decode(b"\x07data") is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("v5.channel.k8s.io", channels.V5),
        ("v4.channel.k8s.io,v5.channel.k8s.io", channels.V5),  # kube-apiserver translates whenever v5 is offered
        ("v5.channel.k8s.io, v4.channel.k8s.io", channels.V5),
        ("v4.base64.channel.k8s.io,v4.channel.k8s.io", channels.V4_BASE64),  # else the client's order
        ("channel.k8s.io", channels.V1),
        (None, channels.UNNAMED),
        ("", channels.UNNAMED),
        ("v3.channel.k8s.io,v4.channel.k8s.io", channels.V4),
        ("v3.channel.k8s.io", None),
    ],
)
def test_negotiation_picks_as_kube_apiserver_and_the_kubelet_do(
    header: str | None, expected: channels.ChannelProtocol | None
) -> None:
    assert channels.negotiate(header) is expected


def test_terminal_sizes_match_keys_in_any_case_and_may_span_messages() -> None:
    sizes = channels.ResizeDecoder()
    assert sizes.feed(b'{"Width":80,"Height":24}') == [(80, 24)]
    assert sizes.feed(b'{"width":100,') == []
    assert sizes.feed(b'"height":40}{"Width":1,"Height":2}') == [(100, 40), (1, 2)]


def test_a_malformed_size_ends_resizing_for_the_session() -> None:
    sizes = channels.ResizeDecoder()
    assert sizes.feed(b'{"Width":-1,"Height":24}') == []
    assert sizes.feed(b'{"Width":80,"Height":24}') == []


def test_a_non_zero_exit_as_the_kubelet_reports_it_to_a_v4_client() -> None:
    status = final_status(channels.V4, ExecResult(3, "error executing command [sh -c exit 3], exit code 3"))
    assert json.dumps(status, separators=(",", ":")) == (
        '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: '
        'error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode",'
        '"details":{"causes":[{"reason":"ExitCode","message":"3"}]}}'
    )


def test_a_non_zero_exit_as_the_stream_translator_reports_it_to_a_v5_client() -> None:
    status = final_status(channels.V5, ExecResult(3, "error executing command [sh -c exit 3], exit code 3"))
    assert status["message"] == "command terminated with non-zero exit code: command terminated with exit code 3"
    assert status["details"] == {"causes": [{"reason": "ExitCode", "message": "3"}]}


def test_a_command_that_never_ran_is_an_internal_error_wrapped_once_more_for_v5() -> None:
    v4 = final_status(channels.V4, ExecResult(None, "error executing command in container: boom"))
    v5 = final_status(channels.V5, ExecResult(None, "error executing command in container: boom"))
    assert v4["message"] == "Internal error occurred: error executing command in container: boom"
    assert v4["code"] == 500
    assert (
        v5["message"] == "Internal error occurred: Internal error occurred: error executing command in container: boom"
    )
    assert v5["details"] == {"causes": [{"message": v4["message"]}]}


def test_success_is_a_bare_status() -> None:
    assert final_status(channels.V5, ExecResult(0)) == {"metadata": {}, "status": "Success"}
