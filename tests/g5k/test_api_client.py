"""G5kApi against the real loopback HTTPS server (and MockTransport for transport errors)."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import httpx
import pytest

from execo_g5k import (
    G5kApi,
    G5kApiError,
    G5kAuthError,
    G5kConfigError,
    G5kDataError,
    G5kHTTPError,
    G5kNotFound,
    G5kTimeout,
    G5kTransportError,
)
from execo_g5k.config import G5kConfiguration

from .conftest import FakePasswords

if TYPE_CHECKING:
    from .g5k_server import FakeG5kApi


async def test_get_root_over_https_with_the_test_ca(g5k_config, g5k_server: FakeG5kApi):
    async with G5kApi(g5k_config) as api:
        root = await api.get_json("")
    assert root["uid"] == "grid5000"
    assert root["version"] == "9ebe1b1e12d4496acf54e276f6885445a57f8c04"
    assert g5k_server.paths() == [""]


async def test_tls_is_verified_by_default(g5k_config):
    # The system CAs do not know the test CA: the request must fail, not go through.
    config = dataclasses.replace(g5k_config, api_verify_ssl_cert=True, api_retries=0)
    async with G5kApi(config) as api:
        with pytest.raises(G5kTransportError) as info:
            await api.get_json("")
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)


async def test_hrefs_follow_the_version_segment_used(g5k_config, g5k_server):
    config = dataclasses.replace(g5k_config, api_version="3.0")
    async with G5kApi(config) as api:
        sites = await api.get_json("sites")
    assert api.base_url.endswith("/3.0/")
    assert {link["href"] for link in sites["links"]} == {"/3.0/sites", "/3.0/"}


async def test_basic_auth_password_asked_once_and_hidden(g5k_config, g5k_server):
    passwords = FakePasswords()
    config = dataclasses.replace(g5k_config, api_username="jdoe")
    async with G5kApi(config, password_source=passwords) as api:
        await api.get_json("sites")
        await api.get_json("sites/lyon")
        assert "s3cret" not in repr(api)
        assert "s3cret" not in repr(vars(api))
    assert passwords.asked == 1
    assert [r.user for r in g5k_server.log] == ["jdoe", "jdoe"]


async def test_wrong_password_is_an_auth_error_with_the_body(g5k_config, g5k_server):
    config = dataclasses.replace(g5k_config, api_username="jdoe")
    passwords = FakePasswords({"jdoe": "wrong"})
    async with G5kApi(config, password_source=passwords) as api:
        with pytest.raises(G5kAuthError) as info:
            await api.get_json("sites")
    assert info.value.status == 401
    assert info.value.body == "Authorization Required"
    assert info.value.url.endswith("/stable/sites")
    assert "wrong" not in str(info.value)


async def test_anonymous_refused_outside_grid5000(g5k_config, g5k_server):
    g5k_server.anonymous_allowed = False
    async with G5kApi(g5k_config) as api:
        with pytest.raises(G5kAuthError, match="401"):
            await api.get_json("sites")


async def test_missing_keyring_password_is_a_clear_error(g5k_config, g5k_server):
    config = dataclasses.replace(g5k_config, api_username="nobody")
    async with G5kApi(config, password_source=FakePasswords({})) as api:
        with pytest.raises(G5kConfigError, match="keyring set grid5000_api nobody"):
            await api.get_json("sites")
    assert g5k_server.log == []


async def test_not_found_carries_the_plain_text_body(g5k_config):
    async with G5kApi(g5k_config) as api:
        with pytest.raises(G5kNotFound) as info:
            await api.get_json("sites/foo")
    assert info.value.status == 404
    assert info.value.body == "Cannot find resource /sites/foo"
    assert isinstance(info.value, G5kHTTPError)


async def test_5xx_answers_are_retried(g5k_config, g5k_server):
    g5k_server.faults["sites"] = [503, 502]
    async with G5kApi(g5k_config) as api:
        sites = await api.get_json("sites")
        assert api.requests_sent == 3
    assert sites["total"] == 3
    assert [r.status for r in g5k_server.log] == [503, 502, 200]


async def test_5xx_after_the_last_retry_raises(g5k_config, g5k_server):
    g5k_server.faults["sites"] = [500] * 5
    config = dataclasses.replace(g5k_config, api_retries=2)
    async with G5kApi(config) as api:
        with pytest.raises(G5kHTTPError) as info:
            await api.get_json("sites")
    assert info.value.status == 500
    assert "injected fault" in info.value.body
    assert len(g5k_server.log) == 3


async def test_4xx_answers_are_not_retried(g5k_config, g5k_server):
    async with G5kApi(g5k_config) as api:
        with pytest.raises(G5kNotFound):
            await api.get_json("sites/lyon/clusters/nope")
    assert len(g5k_server.log) == 1


async def test_pagination_follows_offsets_of_capped_collections(g5k_config, g5k_server):
    g5k_server.jobs_page_cap = 2
    async with G5kApi(g5k_config) as api:
        jobs = await api.get_items("sites/lyon/jobs", {"limit": 1073741824})
    assert [j["uid"] for j in jobs] == [2301004, 2301003, 2301002, 2301001, 2300990]
    assert [r.query.get("offset") for r in g5k_server.log] == [None, "2", "4"]


async def test_additional_args_on_every_request(g5k_config, g5k_server):
    config = dataclasses.replace(g5k_config, api_additional_args={"branch": "master"})
    async with G5kApi(config) as api:
        await api.get_json("sites", {"deep": "false"})
    assert g5k_server.log[0].query == {"branch": "master", "deep": "false"}


async def test_used_outside_its_block_is_an_error(g5k_config):
    api = G5kApi(g5k_config)
    with pytest.raises(RuntimeError, match="async with"):
        await api.get_json("")


# ---- error paths with httpx.MockTransport -------------------------------------------------


def _mock_api(handler, **changes) -> G5kApi:
    config = G5kConfiguration(api_uri="https://api.example/", api_retry_backoff=0, **changes)
    return G5kApi(config, transport=httpx.MockTransport(handler))


async def test_403_is_an_auth_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, text="You are not authorized to access this resource")

    async with _mock_api(handler) as api:
        with pytest.raises(G5kAuthError) as info:
            await api.get_json("sites/lyon/jobs/1")
    assert info.value.status == 403


async def test_timeouts_are_builtin_timeouts_too():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with _mock_api(handler) as api:
        with pytest.raises(TimeoutError) as info:
            await api.get_json("sites")
    assert isinstance(info.value, G5kTimeout)
    assert isinstance(info.value, G5kApiError)
    assert api.requests_sent == 1  # read timeouts are not retried


async def test_connection_errors_are_retried_then_raised():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    async with _mock_api(handler, api_retries=2) as api:
        with pytest.raises(G5kTransportError, match="refused"):
            await api.get_json("sites")
    assert len(calls) == 3


async def test_a_body_that_is_not_json_is_a_data_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>maintenance</html>")

    async with _mock_api(handler) as api:
        with pytest.raises(G5kDataError):
            await api.get_json("sites")


async def test_keyring_source_asks_the_keyring_once(g5k_config, g5k_server, monkeypatch):
    import keyring

    from execo_g5k import KeyringPasswordSource

    calls = []

    def fake_get_password(service: str, username: str) -> str | None:
        calls.append((service, username))
        return "s3cret"

    monkeypatch.setattr(keyring, "get_password", fake_get_password)
    source = KeyringPasswordSource()
    config = dataclasses.replace(g5k_config, api_username="jdoe")
    for _ in range(2):
        async with G5kApi(config, password_source=source) as api:
            await api.get_json("")
    assert calls == [("grid5000_api", "jdoe")]
    assert "s3cret" not in repr(source)


async def test_the_fake_answers_writes_like_g5k_api(g5k_config, g5k_server):
    """The fake refuses anonymous writes with 403 (plain text), as g5k-api does."""
    async with httpx.AsyncClient(verify=g5k_config.ssl_verify()) as client:
        response = await client.post(g5k_config.base_url + "sites/lyon/jobs", json={})
    assert response.status_code == 403
    assert response.text == "You are not authorized to access this resource"
    assert response.headers["content-type"].startswith("text/plain")


async def test_the_api_password_reaches_no_log_repr_or_error(
    g5k_config, g5k_server, caplog: pytest.LogCaptureFixture
):
    config = dataclasses.replace(g5k_config, api_username="jdoe")
    with caplog.at_level(logging.DEBUG):  # every logger: execo's, httpx's, httpcore's
        async with G5kApi(config, password_source=FakePasswords()) as api:
            await api.get_json("sites")
            shown = [repr(api), repr(vars(api)), repr(api.config)]
        async with G5kApi(config, password_source=FakePasswords({"jdoe": "wr0ng-pw"})) as api:
            with pytest.raises(G5kAuthError) as info:
                await api.get_json("sites")
            shown += [repr(api), repr(vars(api))]
    shown += [caplog.text, str(info.value), repr(info.value), repr(info.value.__dict__)]
    for secret in ("s3cret", "wr0ng-pw"):
        assert not any(secret in text for text in shown), secret


async def test_execo_api_connection(g5k_config, g5k_server, tls_files) -> None:
    """execo's APIConnection(base_uri, username, additional_args) and APIException."""
    from execo_g5k import APIConnection, APIException, G5kApiError
    from execo_g5k import config as g5k_config_module

    assert APIException is G5kApiError
    previous = g5k_config_module.set_g5k_configuration(g5k_config)
    try:
        base = g5k_server.root_url + "3.0/"
        async with APIConnection(
            base, "jdoe", additional_args={"branch": "master"}, password_source=FakePasswords()
        ) as api:
            assert api.base_url == base
            sites = await api.get("sites")
            assert [s["uid"] for s in sites["items"]] == ["lyon", "nancy", "rennes"]
            with pytest.raises(APIException, match="HTTP 404"):
                await api.get("sites/atlantis")
            with pytest.raises(APIException, match="HTTP 405 on POST"):
                await api.post("sites", {"x": 1})
        (last, *_) = reversed(g5k_server.log)
        assert last.user == "jdoe" and g5k_server.log[0].query["branch"] == "master"
        assert dict(g5k_config_module.current_g5k_configuration().api_additional_args) == {}
    finally:
        g5k_config_module.set_g5k_configuration(previous)
