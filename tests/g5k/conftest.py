from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from execo_g5k.config import G5kConfiguration

from .g5k_server import FakeG5kApi
from .tls import TlsFiles, make_tls_files

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NOW = 1774256400  # the fixture's "now" (MANIFEST.json)


class FakePasswords:
    """A `PasswordSource` that counts how often it is asked."""

    def __init__(self, passwords: dict[str, str] | None = None) -> None:
        self.passwords = passwords if passwords is not None else {"jdoe": "s3cret"}
        self.asked = 0

    def get_password(self, service: str, username: str) -> str | None:
        assert service == "grid5000_api"
        self.asked += 1
        return self.passwords.get(username)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def _session_server(tls_files: TlsFiles) -> Iterator[FakeG5kApi]:
    with FakeG5kApi(tls=(tls_files.server_cert, tls_files.server_key)) as server:
        yield server


@pytest.fixture
def g5k_server(_session_server: FakeG5kApi) -> Iterator[FakeG5kApi]:
    """The HTTPS fake API, with an empty request log and no faults."""
    _session_server.reset()
    yield _session_server
    _session_server.reset()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def g5k_config(g5k_server: FakeG5kApi, tls_files: TlsFiles, cache_dir: Path) -> G5kConfiguration:
    return G5kConfiguration(
        api_uri=g5k_server.root_url,
        api_version="stable",
        api_verify_ssl_cert=str(tls_files.ca_cert),
        api_cache_dir=str(cache_dir),
        api_retry_backoff=0.01,
        api_timeout=10.0,
    )
