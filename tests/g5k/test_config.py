"""execo_g5k.config: defaults, the ~/.execo.conf.py loader, no import-time side effects."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from execo_g5k import G5kConfigError, G5kConfiguration
from execo_g5k import config as g5k_config_module


def test_defaults_and_base_url():
    config = G5kConfiguration()
    assert config.base_url == "https://api.grid5000.fr/stable/"
    assert config.api_verify_ssl_cert is True
    assert G5kConfiguration(api_version="sid").base_url == "https://api.grid5000.fr/sid/"
    legacy = G5kConfiguration(api_uri="https://api.grid5000.fr/3.0/", api_version=None)
    assert legacy.base_url == "https://api.grid5000.fr/3.0/"


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert G5kConfiguration().cache_dir == tmp_path / "execo"
    assert G5kConfiguration(api_cache_dir="~/x").cache_dir == tmp_path.home() / "x"


def test_additional_args_cannot_be_changed_in_place():
    args = {"branch": "testing"}
    config = G5kConfiguration(api_additional_args=args)
    args["branch"] = "master"
    assert config.api_additional_args == {"branch": "testing"}
    with pytest.raises(TypeError):
        config.api_additional_args["branch"] = "x"  # type: ignore[index]


def _write(tmp_path, text: str):
    path = tmp_path / "execo.conf.py"
    path.write_text(textwrap.dedent(text))
    return path


def test_reads_the_g5k_dict_of_an_execo_file(tmp_path):
    path = _write(
        tmp_path,
        """
        import os
        configuration = {"log_level": 10}            # the core's: ignored here
        default_connection_params = {"user": "root"}  # the core's: ignored here
        g5k_configuration = {
            "api_username": "jdoe",
            "default_frontend": "lyon",
            "oar_job_key_file": os.path.join("/home/jdoe", ".ssh", "id_ed25519"),
            "api_timeout": 12,
            "api_additional_args": {"branch": "testing"},
        }
        """,
    )
    config = g5k_config_module.read_g5k_configuration(path)
    assert config.api_username == "jdoe"
    assert config.default_frontend == "lyon"
    assert config.oar_job_key_file == "/home/jdoe/.ssh/id_ed25519"
    assert config.api_timeout == 12
    assert dict(config.api_additional_args) == {"branch": "testing"}


def test_unknown_key_names_key_and_file(tmp_path):
    path = _write(tmp_path, "g5k_configuration = {'api_usrname': 'jdoe'}\n")
    with pytest.raises(G5kConfigError, match=r"execo\.conf\.py.*unknown key 'api_usrname'"):
        g5k_config_module.read_g5k_configuration(path)


def test_wrong_type_names_key_and_file(tmp_path):
    path = _write(tmp_path, "g5k_configuration = {'api_timeout': '30'}\n")
    with pytest.raises(G5kConfigError, match=r"execo\.conf\.py.*'api_timeout'.*int or float"):
        g5k_config_module.read_g5k_configuration(path)
    path = _write(tmp_path, "g5k_configuration = {'api_retries': True}\n")
    with pytest.raises(G5kConfigError, match="api_retries"):
        g5k_config_module.read_g5k_configuration(path)


def test_broken_file_is_an_error_naming_it(tmp_path):
    path = _write(tmp_path, "g5k_configuration = {\n")
    with pytest.raises(G5kConfigError, match=r"execo\.conf\.py"):
        g5k_config_module.read_g5k_configuration(path)
    path = _write(tmp_path, "g5k_configuration = ['api_timeout']\n")
    with pytest.raises(G5kConfigError, match="must be a dict"):
        g5k_config_module.read_g5k_configuration(path)


def test_missing_file_or_dict_gives_the_defaults(tmp_path):
    assert g5k_config_module.read_g5k_configuration(tmp_path / "nope") == G5kConfiguration()
    path = _write(tmp_path, "configuration = {}\n")
    assert g5k_config_module.read_g5k_configuration(path) == G5kConfiguration()


def test_load_installs_the_configuration(tmp_path):
    path = _write(tmp_path, "g5k_configuration = {'default_frontend': 'nancy'}\n")
    previous = g5k_config_module.current_g5k_configuration()
    try:
        loaded = g5k_config_module.load_g5k_configuration(path)
        assert g5k_config_module.current_g5k_configuration() is loaded
        assert loaded.default_frontend == "nancy"
    finally:
        g5k_config_module.set_g5k_configuration(previous)


def test_importing_reads_no_file(tmp_path):
    marker = tmp_path / "executed"
    (tmp_path / ".execo.conf.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    env = {**os.environ, "HOME": str(tmp_path)}
    code = "import execo_g5k, execo_g5k.config, execo_g5k.api; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout == "ok\n", out.stderr
    assert not marker.exists()


async def test_g5k_configuration_is_settable_at_run_time_the_seed_way(tmp_path, monkeypatch):
    """execo 2.8.2's user guide: ``g5k_configuration['oar_job_key_file'] = ...`` takes effect
    for the calls made afterwards (here: the argv oarsub gets), over the typed configuration."""
    import execo_g5k
    from execo_g5k.oar import OarSubmission, oarsub

    fake = tmp_path / "oarsub"  # records its argv, answers like oarsub
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/argv\necho OAR_JOB_ID=42\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv("OAR_JOB_KEY_FILE", raising=False)
    assert execo_g5k.g5k_configuration is g5k_config_module.g5k_configuration
    g5k_configuration = execo_g5k.g5k_configuration
    previous = g5k_config_module.current_g5k_configuration()
    try:
        g5k_configuration["default_frontend"] = None  # run oarsub here
        assert await oarsub([(OarSubmission(resources="nodes=1"), None)]) == [(42, None)]
        assert "-k" not in (tmp_path / "argv").read_text().split()
        key = str(tmp_path / "id_jobkey")
        g5k_configuration["oar_job_key_file"] = key
        assert g5k_configuration["oar_job_key_file"] == key
        assert g5k_config_module.current_g5k_configuration().oar_job_key_file == key
        assert isinstance(g5k_configuration.current, G5kConfiguration)
        await oarsub([(OarSubmission(resources="nodes=1"), None)])
        argv = (tmp_path / "argv").read_text().split()
        assert argv[argv.index("-i") + 1] == key
        g5k_configuration["api_timeout"] = 12
        assert g5k_config_module.current_g5k_configuration().api_timeout == 12
        assert dict(g5k_configuration)["default_timeout"] == 900.0
        assert len(g5k_configuration) == len(dict(g5k_configuration))
    finally:
        g5k_config_module.set_g5k_configuration(previous)


def test_g5k_configuration_refuses_bad_keys_and_values():
    from execo_g5k import g5k_configuration

    before = g5k_config_module.current_g5k_configuration()
    with pytest.raises(G5kConfigError, match=r"unknown key 'oar_job_keyfile'.*oar_job_key_file"):
        g5k_configuration["oar_job_keyfile"] = "/k"
    with pytest.raises(KeyError, match="unknown key 'nope'"):
        g5k_configuration["nope"]
    assert g5k_configuration.get("nope") is None
    with pytest.raises(G5kConfigError, match=r"'api_timeout'.*int or float"):
        g5k_configuration["api_timeout"] = "30"
    with pytest.raises(G5kConfigError, match="api_retries"):
        g5k_configuration["api_retries"] = -1
    with pytest.raises(G5kConfigError, match="cannot be deleted"):
        del g5k_configuration["api_timeout"]
    assert g5k_config_module.current_g5k_configuration() is before


def test_g5k_configuration_still_reads_as_the_frozen_value():
    """Code written for the frozen value: attributes, dataclasses.replace, set/restore.

    It works at run time; typed code is told by mypy to use current_g5k_configuration()
    (hence the ignores below)."""
    import dataclasses

    from execo_g5k import G5kApi, g5k_configuration

    assert g5k_config_module.g5k_configuration is g5k_configuration
    assert g5k_configuration.polling_interval == g5k_configuration["polling_interval"]
    assert g5k_configuration.base_url == "https://api.grid5000.fr/stable/"
    fast: G5kConfiguration = dataclasses.replace(g5k_configuration, polling_interval=1.0)  # type: ignore[assignment]
    made: object = fast
    assert type(made) is G5kConfiguration and fast.polling_interval == 1.0
    previous = g5k_config_module.set_g5k_configuration(fast)
    try:
        assert g5k_configuration["polling_interval"] == 1.0
        assert g5k_config_module.set_g5k_configuration(g5k_configuration) is fast  # type: ignore[arg-type]
        assert g5k_config_module.current_g5k_configuration() is fast
        assert G5kApi(g5k_configuration).base_url == fast.base_url  # type: ignore[arg-type]
    finally:
        g5k_config_module.set_g5k_configuration(previous)
    with pytest.raises(AttributeError):
        _ = g5k_configuration.no_such_setting
