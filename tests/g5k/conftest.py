from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest
import trio

from execo_g5k import G5kApi, get_api_reference
from execo_g5k.config import G5kConfiguration

from .g5k_server import FakeG5kApi
from .tls import TlsFiles, make_tls_files

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
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


@pytest.fixture(scope="session")
def _warm_cache_dir(
    _session_server: FakeG5kApi, tls_files: TlsFiles, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A cache directory filled once for the tests that only read the reference data."""
    directory = tmp_path_factory.mktemp("warm_cache")
    config = G5kConfiguration(
        api_uri=_session_server.root_url,
        api_verify_ssl_cert=str(tls_files.ca_cert),
        api_cache_dir=str(directory),
    )

    async def fill() -> None:
        async with G5kApi(config) as api:
            await get_api_reference(api)

    trio.run(fill)
    return directory


@pytest.fixture
async def api(
    g5k_config: G5kConfiguration, _warm_cache_dir: Path, g5k_server: FakeG5kApi
) -> AsyncIterator[G5kApi]:
    """An open client whose reference data is already cached (no request needed)."""
    config = dataclasses.replace(g5k_config, api_cache_dir=str(_warm_cache_dir))
    async with G5kApi(config) as api:
        yield api


from .oar_cluster import BRING_UP, oar, oar_cluster  # noqa: E402, F401


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if "seconds" in BRING_UP:
        already = " (it was already running)" if BRING_UP["was_running"] else ""
        terminalreporter.write_line(
            f"real OAR server: scripts/oar_up.sh took {BRING_UP['seconds']:.1f} s{already}"
        )
