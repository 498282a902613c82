"""Errors of the Grid'5000 REST API client.

Exception tree (under :class:`execo.ExecoError`, the root of everything execo raises)::

    ExecoError
    ├── G5kApiError                      every failure to get an answer from the API
    │   ├── G5kTransportError            no HTTP answer (refused, TLS, reset), after retries
    │   │   └── G5kTimeout               ... because a timeout expired (also a builtin TimeoutError)
    │   ├── G5kHTTPError                 an HTTP answer with an error status: .status, .url, .body
    │   │   ├── G5kAuthError             401 (bad credentials) or 403 (not allowed)
    │   │   └── G5kNotFound              404 (unknown site, cluster, job...)
    │   └── G5kDataError                 an answer that is not the JSON document expected
    ├── ConfigurationError (ValueError)
    │   └── G5kConfigError               misuse: a bad configuration file or value
    └── UnknownElementError (ValueError) misuse: a site, cluster, host or equipment the data lacks

httpx exceptions never leave the client: `map_httpx_exceptions` translates them at the one
place where requests are sent.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from execo import ConfigurationError, ExecoError

if TYPE_CHECKING:
    from collections.abc import Iterator


_BODY_SHOWN = 500


class G5kApiError(ExecoError):
    """Root of the errors met while talking to the Grid'5000 API."""


class G5kTransportError(G5kApiError):
    """No HTTP answer came back (connection refused or reset, TLS failure...)."""


class G5kTimeout(G5kTransportError, TimeoutError):
    """A connect, read, write or pool timeout expired."""


class G5kHTTPError(G5kApiError):
    """The API answered with an error status.

    Attributes:
        status: The HTTP status code.
        url: The requested URL (without credentials).
        body: The response body as text (the API's errors are plain text).
    """

    def __init__(self, status: int, url: str, body: str, method: str = "GET") -> None:
        self.status = status
        self.url = url
        self.body = body
        self.method = method
        shown = body if len(body) <= _BODY_SHOWN else body[:_BODY_SHOWN] + "..."
        super().__init__(f"HTTP {status} on {method} {url}: {shown.strip()}")


class G5kAuthError(G5kHTTPError):
    """401 (bad or missing credentials) or 403 (not allowed to do this)."""


class G5kNotFound(G5kHTTPError):
    """404: the resource does not exist (or not in this branch or version)."""


class G5kDataError(G5kApiError):
    """The answer was not the JSON document expected."""


class G5kConfigError(ConfigurationError):
    """A configuration file or value is wrong (unknown key, bad type, syntax error)."""


class UnknownElementError(ExecoError, ValueError):
    """A site, cluster, host or network equipment that the reference data does not know."""


def http_error_for(status: int, url: str, body: str, method: str = "GET") -> G5kHTTPError:
    """Builds the most specific `G5kHTTPError` subclass for an error status."""
    if status in (401, 403):
        return G5kAuthError(status, url, body, method)
    if status == 404:
        return G5kNotFound(status, url, body, method)
    return G5kHTTPError(status, url, body, method)


@contextlib.contextmanager
def map_httpx_exceptions(url: str) -> Iterator[None]:
    """Translates httpx's exceptions raised inside the block into ours.

    Args:
        url: The URL being requested, for the message.
    """
    import httpx  # loaded with the first request, not with execo_g5k

    try:
        yield
    except httpx.TimeoutException as e:
        raise G5kTimeout(f"timeout on {url}: {type(e).__name__}") from e
    except httpx.TransportError as e:
        raise G5kTransportError(f"no answer from {url}: {_root_cause(e)}") from e


def _root_cause(error: BaseException) -> str:
    """The innermost described cause (e.g. the TLS verification failure under a ConnectError)."""
    described = f"{type(error).__name__}: {error}"
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if str(current):
            described = f"{type(current).__name__}: {current}"
        current = current.__cause__ or current.__context__
    return described
