"""execo's ``APIConnection`` and ``APIException``, over `G5kApi` and `G5kApiError`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import config as _config_module
from ._client import G5kApi, PasswordSource
from ._errors import G5kApiError

if TYPE_CHECKING:
    import httpx

__all__ = ["APIConnection", "APIException"]

APIException = G5kApiError
"""execo's name for the API's errors: `G5kApiError` (and its subclasses)."""


class APIConnection(G5kApi):
    """execo's ``APIConnection``: a `G5kApi` made from execo's arguments (async).

    ``async with APIConnection() as api: sites = await api.get("sites")``. There is no
    ``password`` argument: it comes from the keyring (or `password_source`), never from a
    script. `additional_args` are added to a copy of the configuration's
    ``api_additional_args`` (execo changed the configuration's dict in place).

    Args:
        base_uri: The API's base URL with its version (``https://api.grid5000.fr/3.0/``);
            None: the configuration's.
        username: Grid'5000 login; None: ``g5k_configuration["api_username"]``.
        additional_args: More query parameters for every request.
        timeout: Seconds per request; None: ``g5k_configuration["api_timeout"]``.
        password_source: Where the password comes from (default: the keyring).
        transport: An httpx transport (tests).
    """

    def __init__(
        self,
        base_uri: str | None = None,
        username: str | None = None,
        *,
        additional_args: Mapping[str, str] | None = None,
        timeout: float | None = None,
        password_source: PasswordSource | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        config = _config_module.current_g5k_configuration()
        changes: dict[str, Any] = {}
        if base_uri is not None:
            changes.update(api_uri=base_uri, api_version=None)
        if username is not None:
            changes["api_username"] = username
        if additional_args:
            changes["api_additional_args"] = {**config.api_additional_args, **additional_args}
        if timeout is not None:
            changes["api_timeout"] = timeout
        super().__init__(
            dataclasses.replace(config, **changes),
            password_source=password_source,
            transport=transport,
        )

    async def get(self, rel: str) -> Any:
        """GETs an API path (relative to the base URL) and returns its decoded JSON."""
        return await self.get_json(rel)

    async def post(self, rel: str, json: Any) -> Any:
        """POSTs a JSON document to an API path and returns the decoded answer."""
        return await self.post_json(rel, json)
