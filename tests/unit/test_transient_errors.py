"""Which failures are worth trying again (kfval.kube.errors.is_transient), and how they are named."""

from __future__ import annotations

import ssl

import pytest
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from kfval.kube import errors


def api_error(status: int, *, headers: dict[str, str] | None = None, body: str = "") -> ApiException:
    error = ApiException(status=status, reason="Reason")
    error.headers = headers
    error.body = body
    return error


def pool_error(cause: BaseException) -> urllib3.exceptions.MaxRetryError:
    return urllib3.exceptions.MaxRetryError(None, "/api", reason=cause)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        pool_error(urllib3.exceptions.NewConnectionError(None, "refused")),  # type: ignore[arg-type]
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
        urllib3.exceptions.ReadTimeoutError(None, "/api", "Read timed out."),  # type: ignore[arg-type]
        pool_error(urllib3.exceptions.SSLError(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"))),
        api_error(429),
        api_error(500),
        api_error(502),
        api_error(503),
        api_error(504),
    ],
    ids=lambda error: type(error).__name__ + (f"-{error.status}" if isinstance(error, ApiException) else ""),
)
def test_no_answer_or_not_now_is_transient(error: BaseException) -> None:
    assert errors.is_transient(error)


def test_a_tls_failure_the_client_wraps_in_a_status_0_api_exception_is_transient() -> None:
    wrapped = ApiException(status=0, reason="EOF")
    wrapped.__cause__ = ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    assert errors.is_transient(wrapped)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422])
def test_an_answer_that_says_no_is_not_transient(status: int) -> None:
    assert not errors.is_transient(api_error(status))


def test_a_refused_server_certificate_never_gets_better() -> None:
    refused = ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed certificate")
    assert not errors.is_transient(pool_error(urllib3.exceptions.SSLError(refused)))


def test_a_plain_programming_error_is_not_transient() -> None:
    assert not errors.is_transient(ValueError("bad"))


def test_retry_after_is_read_and_capped() -> None:
    assert errors.retry_after(api_error(503, headers={"Retry-After": "2"})) == 2.0
    assert errors.retry_after(api_error(429, headers={"Retry-After": "3600"})) == errors.RETRY_AFTER_CEILING_SECONDS
    assert errors.retry_after(api_error(503)) is None
    assert errors.retry_after(api_error(503, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})) is None


def test_failure_text_names_the_deepest_cause_or_the_servers_answer() -> None:
    reset = urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")
    )
    assert errors.failure_text(reset) == "ConnectionResetError: [Errno 104] Connection reset by peer"
    unavailable = api_error(503, body='{"kind":"Status","message":"no healthy upstream","reason":"ServiceUnavailable"}')
    assert errors.failure_text(unavailable) == "503 ServiceUnavailable: no healthy upstream"
    timed_out = urllib3.exceptions.ReadTimeoutError(None, "/api", "Read timed out.")  # type: ignore[arg-type]
    assert errors.failure_text(timed_out).startswith("ReadTimeoutError")


def test_a_timeout_is_told_from_a_refusal() -> None:
    assert errors.is_timeout(urllib3.exceptions.ReadTimeoutError(None, "/api", "Read timed out."))  # type: ignore[arg-type]
    assert errors.is_timeout(urllib3.exceptions.ProtocolError("aborted", TimeoutError("timed out")))
    assert not errors.is_timeout(ConnectionRefusedError(111, "Connection refused"))
    assert not errors.is_timeout(api_error(503))
