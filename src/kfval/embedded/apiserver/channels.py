"""The channel protocols that carry `pods/exec` over a WebSocket, as k8s.io/apimachinery's wsstream speaks them.

Every message carries one stream: its first byte names the channel (0 stdin, 1 stdout, 2 stderr,
3 error, 4 resize) and the rest is the data. The protocols differ in three ways that clients
depend on, so each is a row of one table instead of a branch in the handler:

- from v4 on, the error channel carries a JSON Status (kubectl and the Python client read the exit
  code from its causes); before, the failure's message as plain text, and nothing on success;
- the `base64.` variants send text messages: the channel as an ASCII digit, the data base64-encoded;
- v5 adds the close signal `[255, channel]`, by which a client half-closes stdin so that `cat` sees
  the end of its input.

kube-apiserver answers a request offering v5 itself (its stream translator speaks only v5) and hands
every other one to the kubelet, which picks the first protocol of the client's list it speaks, the
legacy unnamed one when the client names none. `negotiate` makes the same choice.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

STDIN = 0
STDOUT = 1
STDERR = 2
ERROR = 3
RESIZE = 4
CHANNELS = 5
CLOSE_SIGNAL = 255


class ChannelProtocolError(Exception):
    """A message no server of this protocol accepts: the connection ends, as wsstream ends it."""


@dataclass(frozen=True)
class Frame:
    """One message from the client: data for a channel, or (v5) the signal that the client closed it."""

    channel: int
    data: bytes = b""
    closed: bool = False


@dataclass(frozen=True)
class ChannelProtocol:
    """One WebSocket subprotocol of remote commands."""

    name: str
    status_as_json: bool
    base64: bool = False
    close_signal: bool = False

    def encode(self, channel: int, data: bytes) -> bytes | str:
        """The message that carries `data` on `channel` (a text message for the base64 variants)."""
        if self.base64:
            return chr(ord("0") + channel) + base64.b64encode(data).decode("ascii")
        return bytes([channel]) + data

    def decode(self, message: bytes | str) -> Frame | None:
        """What a client's message says; None for one the server ignores (empty, unknown channel, bad base64)."""
        data = message.encode() if isinstance(message, str) else message
        if not data:
            return None
        if self.close_signal and data[0] == CLOSE_SIGNAL:
            if len(data) != 2 or data[1] >= CHANNELS:
                raise ChannelProtocolError(f"malformed close signal: {list(data)}")
            return Frame(data[1], closed=True)
        channel = data[0] - ord("0") if self.base64 else data[0]
        if not 0 <= channel < CHANNELS:
            return None
        payload = data[1:]
        if self.base64:
            try:
                payload = base64.b64decode(payload, validate=True)
            except binascii.Error:
                return None
        return Frame(channel, payload)


V5 = ChannelProtocol("v5.channel.k8s.io", status_as_json=True, close_signal=True)
V4 = ChannelProtocol("v4.channel.k8s.io", status_as_json=True)
V4_BASE64 = ChannelProtocol("v4.base64.channel.k8s.io", status_as_json=True, base64=True)
V1 = ChannelProtocol("channel.k8s.io", status_as_json=False)
V1_BASE64 = ChannelProtocol("base64.channel.k8s.io", status_as_json=False, base64=True)
UNNAMED = ChannelProtocol("", status_as_json=False)
KUBELET_PROTOCOLS = {protocol.name: protocol for protocol in (V4, V4_BASE64, V1, V1_BASE64, UNNAMED)}


def requested(header: str | None) -> list[str]:
    """The client's `Sec-WebSocket-Protocol` list, in its order."""
    return [name.strip() for name in header.split(",")] if header and header.strip() else []


def negotiate(header: str | None) -> ChannelProtocol | None:
    """v5 when offered at all, else the first of the client's protocols the kubelet speaks; None if none."""
    names = requested(header)
    if V5.name in names:
        return V5
    for name in names or [UNNAMED.name]:
        if name in KUBELET_PROTOCOLS:
            return KUBELET_PROTOCOLS[name]
    return None


class ResizeDecoder:
    """Terminal sizes from the resize channel: a stream of JSON objects (`{"Width":80,"Height":24}`).

    As upstream's decoder, keys match in any case, and the first thing that is not such an object
    ends resizing for the rest of the session.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._broken = False

    def feed(self, data: bytes) -> list[tuple[int, int]]:
        """The (width, height) pairs completed by `data`."""
        if self._broken:
            return []
        self._pending += data.decode("utf-8", errors="replace")
        sizes: list[tuple[int, int]] = []
        decoder = json.JSONDecoder()
        while self._pending.strip():
            text = self._pending.lstrip()
            try:
                value, end = decoder.raw_decode(text)
            except json.JSONDecodeError:
                if text.startswith("{") and "}" not in text:
                    break  # an object cut across messages: wait for the rest
                self._broken = True
                return sizes
            self._pending = text[end:]
            size = _size(value)
            if size is None:
                self._broken = True
                return sizes
            sizes.append(size)
        return sizes


MAX_DIMENSION = 65535
"""Sizes are uint16 upstream: anything else does not decode."""


def _size(value: object) -> tuple[int, int] | None:
    if not isinstance(value, dict):
        return None
    fields = {str(key).lower(): item for key, item in value.items()}
    size = fields.get("width", 0), fields.get("height", 0)
    if any(type(item) is not int or not 0 <= item <= MAX_DIMENSION for item in size):
        return None
    return size
