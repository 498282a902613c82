"""`G5kApi`: the Grid'5000 REST API client on `httpx.AsyncClient`."""

from __future__ import annotations

import base64
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol, Self

import anyio
import anyio.to_thread

from . import config as _config_module
from ._errors import (
    G5kConfigError,
    G5kDataError,
    G5kTransportError,
    http_error_for,
    map_httpx_exceptions,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

    import httpx

    from ._config import G5kConfiguration
    from ._reference import G5kReference

__all__ = ["G5kApi", "PasswordSource", "KeyringPasswordSource"]

logger = logging.getLogger("execo_g5k.api")

_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_OK_STATUSES = frozenset({200, 304})
_WRITE_OK_STATUSES = frozenset({200, 201, 202, 204})


def _is_retryable(cause: BaseException | None) -> bool:
    """A connection that failed before any request was sent: safe to try again."""
    import httpx  # loaded with the first request, not with execo_g5k

    return isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError))


class PasswordSource(Protocol):
    """Where the API password comes from (the keyring by default; a fake in tests)."""

    def get_password(self, service: str, username: str) -> str | None:
        """The password of `username` for `service`, or None when there is none."""
        ...


class KeyringPasswordSource:
    """Reads passwords with `keyring`, once per (service, user) in this process."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        """The keyring's password, asked at most once per (service, user)."""
        key = (service, username)
        if key not in self._memo:
            import keyring  # imported lazily: its backend discovery is slow

            found = keyring.get_password(service, username)
            if found is None:
                return None
            self._memo[key] = found
        return self._memo[key]

    def __repr__(self) -> str:
        return "KeyringPasswordSource()"


_default_password_source = KeyringPasswordSource()


class _Secret:
    """A string that never shows in a repr or a log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<hidden>"


class G5kApi:
    """An async client of the Grid'5000 REST API; use it as ``async with G5kApi() as api:``.

    The base URL, credentials, TLS, timeouts and retries come from a `G5kConfiguration`
    (``execo_g5k.config.g5k_configuration`` by default). With ``api_username`` set, requests
    use HTTP basic auth with the password read once from the keyring (service
    ``api_keyring_service``) when the first request is sent; it never appears in a repr or
    a log. GET requests are retried on connection errors and 5xx answers, with an
    exponential backoff. Every failure is a `G5kApiError`.

    Args:
        config: The configuration; None means the one in force now.
        password_source: Where the password comes from; None means the keyring.
        transport: An httpx transport (tests of error paths use `httpx.MockTransport`).

    Attributes:
        config: The configuration used.
        requests_sent: How many HTTP requests were sent (retries included).
    """

    def __init__(
        self,
        config: G5kConfiguration | None = None,
        *,
        password_source: PasswordSource | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config if config is not None else _config_module.current_g5k_configuration()
        self._password_source = (
            password_source if password_source is not None else _default_password_source
        )
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._open = False
        self._auth: _Secret | None = None
        self._auth_lock = anyio.Lock()
        self._limiter = anyio.CapacityLimiter(self.config.api_concurrency)
        self.requests_sent = 0
        self.reference_cache: G5kReference | None = None  # loaded by _cache.load_reference

    @property
    def base_url(self) -> str:
        """The API base URL, ending with ``/``."""
        return self.config.base_url

    def __repr__(self) -> str:
        user = self.config.api_username
        return f"G5kApi(base_url={self.base_url!r}, username={user!r})"

    async def __aenter__(self) -> Self:
        self._open = True
        return self

    def _make_client(self) -> httpx.AsyncClient:
        import httpx  # loaded with the first request, not with execo_g5k

        # Made on the first request: a warm cache then costs no TLS context setup at all.
        timeout = httpx.Timeout(self.config.api_timeout, connect=self.config.api_connect_timeout)
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Accept": "application/json"},
            params=dict(self.config.api_additional_args),
            timeout=timeout,
            verify=self.config.ssl_verify(),
            transport=self._transport,
            follow_redirects=False,
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _auth_headers(self) -> dict[str, str]:
        user = self.config.api_username
        if user is None:
            return {}
        async with self._auth_lock:
            if self._auth is None:
                service = self.config.api_keyring_service
                password = await anyio.to_thread.run_sync(
                    self._password_source.get_password, service, user
                )
                if password is None:
                    raise G5kConfigError(
                        f"no password for {user!r} in the keyring (service {service!r}); "
                        f"store it with: keyring set {service} {user}"
                    )
                token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
                self._auth = _Secret(f"Basic {token}")
        return {"Authorization": self._auth.reveal()}

    def url_of(self, path: str) -> str:
        """The absolute URL of an API path (``sites/lyon`` or ``/sites/lyon``)."""
        return self.base_url + path.lstrip("/")

    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GETs an API path and returns its decoded JSON.

        Args:
            path: Path relative to the base URL (``sites/lyon/clusters``; ``""`` is the root).
            params: Query parameters, added to ``api_additional_args``.

        Raises:
            G5kHTTPError: An error status (after retries for 5xx).
            G5kTransportError: No answer (after retries for connection errors).
            G5kDataError: The body is not JSON.
            G5kConfigError: A username is set but the keyring has no password for it.
        """
        if not self._open:
            raise RuntimeError("G5kApi used outside of its 'async with' block")
        if self._client is None:
            self._client = self._make_client()
        client = self._client
        url = self.url_of(path)
        headers = await self._auth_headers()
        retries = self.config.api_retries
        for attempt in range(retries + 1):
            if attempt:
                await anyio.sleep(self.config.api_retry_backoff * 2 ** (attempt - 1))
            start = time.monotonic()
            try:
                with map_httpx_exceptions(url):
                    async with self._limiter:
                        self.requests_sent += 1
                        response = await client.get(
                            path.lstrip("/"), params=dict(params or {}), headers=headers
                        )
            except G5kTransportError as e:
                retryable = _is_retryable(e.__cause__)
                logger.debug("GET %s: %s (attempt %d)", url, e, attempt + 1)
                if not retryable or attempt == retries:
                    raise
                continue
            elapsed = time.monotonic() - start
            logger.debug("GET %s -> %d in %.3f s", url, response.status_code, elapsed)
            if response.status_code in _OK_STATUSES:
                try:
                    return response.json()
                except ValueError as e:
                    raise G5kDataError(f"GET {url}: the answer is not JSON: {e}") from e
            if response.status_code in _RETRY_STATUSES and attempt < retries:
                continue
            raise http_error_for(response.status_code, url, response.text)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """One request that changes something (never retried: it may have taken effect)."""
        if not self._open:
            raise RuntimeError("G5kApi used outside of its 'async with' block")
        if self._client is None:
            self._client = self._make_client()
        url = self.url_of(path)
        headers = await self._auth_headers()
        with map_httpx_exceptions(url):
            async with self._limiter:
                self.requests_sent += 1
                response = await self._client.request(
                    method, path.lstrip("/"), json=body, headers=headers
                )
        logger.debug("%s %s -> %d", method, url, response.status_code)
        if response.status_code not in _WRITE_OK_STATUSES:
            raise http_error_for(response.status_code, url, response.text, method)
        return response

    async def post_json(self, path: str, body: Any) -> Any:
        """POSTs a JSON document (a job, a deployment...) and returns the decoded answer.

        It is sent once: a POST is not retried, since it may have been carried out.

        Raises:
            G5kHTTPError: An error status (403 for an anonymous write, 400 for bad input).
            G5kTransportError: No answer.
            G5kDataError: The answer is not JSON.
        """
        response = await self._send_once("POST", path, body)
        try:
            return response.json()
        except ValueError as e:
            raise G5kDataError(f"POST {self.url_of(path)}: the answer is not JSON: {e}") from e

    async def delete(self, path: str) -> None:
        """DELETEs an API resource (cancels a job or a deployment); sent once.

        Raises:
            G5kHTTPError: An error status (404: no such resource; 403: not yours).
            G5kTransportError: No answer.
        """
        await self._send_once("DELETE", path)

    async def get_items(
        self, path: str, params: Mapping[str, str | int] | None = None
    ) -> list[dict[str, Any]]:
        """GETs a collection and returns all its items, following ``offset`` pages.

        Reference collections come in one page; jobs and deployments are capped by the
        server (500 items), so further pages are asked for until ``total`` is reached.
        """
        items: list[dict[str, Any]] = []
        query: dict[str, str | int] = dict(params or {})
        while True:
            page = await self.get_json(path, {**query, "offset": len(items)} if items else query)
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise G5kDataError(f"GET {self.url_of(path)}: not a collection")
            got: list[dict[str, Any]] = page["items"]
            items.extend(got)
            total = page.get("total")
            if not got or not isinstance(total, int) or len(items) >= total:
                return items
