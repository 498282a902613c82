"""Every public name of execo 2.8.2 exists here, or docs/from_execo.md says what replaces it.

The lists are those of FEATURES.md (§1.1 ``execo``, §3.1 ``execo_g5k``, §4 ``execo_engine``).
For each package, the page has one table row per name: *same* and *changed* names must
exist (and be in ``__all__``); *renamed* and *dropped* ones must name a replacement (or
say why there is none), and every backquoted ``package.name`` there must exist.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).parents[1] / "docs" / "from_execo.md"

EXECO = [
    "logger",
    "configuration",
    "default_connection_params",
    "SSH",
    "TAKTUK",
    "SCP",
    "CHAINPUT",
    "sleep",
    "Timer",
    "format_date",
    "format_duration",
    "get_seconds",
    "get_unixts",
    "Host",
    "Process",
    "SshProcess",
    "get_process",
    "ProcessLifecycleHandler",
    "ProcessOutputHandler",
    "PortForwarder",
    "Serial",
    "SerialSsh",
    "STDOUT",
    "STDERR",
    "ExpectOutputHandler",
    "Action",
    "wait_any_actions",
    "wait_all_actions",
    "Remote",
    "Put",
    "Get",
    "TaktukRemote",
    "TaktukPut",
    "TaktukGet",
    "Local",
    "ParallelActions",
    "SequentialActions",
    "default_action_factory",
    "get_remote",
    "get_fileput",
    "get_fileget",
    "ActionLifecycleHandler",
    "ChainPut",
    "filter_bad_hosts",
    "RemoteSerial",
    "Report",
    "ProcessesFailed",
    "ActionsFailed",
    "__version__",
]

EXECO_G5K = [
    "g5k_configuration",
    "default_frontend_connection_params",
    "default_oarsh_oarcp_params",
    "OarSubmission",
    "oarsub",
    "oardel",
    "get_current_oar_jobs",
    "get_oar_job_info",
    "wait_oar_job_start",
    "get_oar_job_nodes",
    "get_oar_job_subnets",
    "get_oar_job_kavlan",
    "oarsubgrid",
    "Deployment",
    "Kadeployer",
    "deploy",
    "KaconsoleProcess",
    "get_kavlan_host_name",
    "G5kAutoPortForwarder",
    "get_planning",
    "compute_slots",
    "find_first_slot",
    "find_max_slot",
    "find_free_slot",
    "get_jobs_specs",
    "distribute_hosts",
    "g5k_charter_time",
    "get_g5k_sites",
    "get_site_clusters",
    "get_site_hosts",
    "get_site_network_equipments",
    "get_site_attributes",
    "get_g5k_clusters",
    "get_cluster_hosts",
    "get_cluster_site",
    "get_cluster_attributes",
    "get_cluster_network_equipments",
    "get_cluster_queues",
    "get_cluster_jobtypes",
    "get_g5k_hosts",
    "get_host_site",
    "get_host_cluster",
    "get_host_attributes",
    "get_host_network_equipments",
    "get_host_shortname",
    "get_host_longname",
    "get_host_interface",
    "canonical_host_name",
    "get_network_equipment_attributes",
    "get_network_equipment_site",
    "APIConnection",
    "APIException",
    "group_hosts",
    "get_resource_attributes",
    "get_hosts_metric",
    "get_next_charter_period",
    "g5k_charter_remaining",
    "g5k_graph",
    "treemap",
]

EXECO_ENGINE = [
    "logger",
    "Engine",
    "slugify",
    "redirect_outputs",
    "copy_outputs",
    "HashableDict",
    "sweep",
    "ParamSweeper",
    "geom",
    "igeom",
    "sweep_stats",
]

PACKAGES = {"execo": EXECO, "execo_g5k": EXECO_G5K, "execo_engine": EXECO_ENGINE}
STATUSES = {"same", "changed", "renamed", "dropped"}
_ROW = re.compile(r"^\| `([^`]+)` \| (\w+) \|(.*)\|$")
_DOTTED = re.compile(r"`((?:execo|execo_g5k|execo_engine)\.[A-Za-z_][\w.]*)`")


def _tables() -> dict[str, dict[str, tuple[str, str]]]:
    """``{package: {name: (status, note)}}`` from the page's ``## `package``` sections."""
    tables: dict[str, dict[str, tuple[str, str]]] = {}
    section: str | None = None
    for line in PAGE.read_text().splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            section = title.strip("`") if title.strip("`") in PACKAGES else None
            continue
        m = _ROW.match(line)
        if section is not None and m is not None:
            name, status, note = m.group(1), m.group(2), m.group(3).strip()
            assert name not in tables.setdefault(section, {}), f"{name} listed twice"
            tables[section][name] = (status, note)
    return tables


def _resolves(dotted: str) -> bool:
    try:
        importlib.import_module(dotted)
        return True
    except ImportError:
        pass
    module_name, _, attr = dotted.rpartition(".")
    while module_name:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module_name, _, rest = module_name.rpartition(".")
            attr = f"{rest}.{attr}"
            continue
        obj: object = module
        for part in attr.split("."):
            if not hasattr(obj, part):
                return False
            obj = getattr(obj, part)
        return True
    return False


def test_the_page_lists_exactly_the_names_of_execo() -> None:
    tables = _tables()
    for package, names in PACKAGES.items():
        assert sorted(tables.get(package, {})) == sorted(names), package


@pytest.mark.parametrize("package", list(PACKAGES))
def test_each_name_exists_or_has_a_replacement(package: str) -> None:
    module = importlib.import_module(package)
    for name, (status, note) in _tables()[package].items():
        assert status in STATUSES, (name, status)
        if status in ("same", "changed"):
            assert hasattr(module, name), f"{package}.{name} is listed as {status}"
            assert name == "__version__" or name in module.__all__, (package, name)
        else:
            assert note, f"{package}.{name} is {status} but no replacement or reason is given"
            assert not hasattr(module, name), f"{package}.{name} exists: not {status}"
        for dotted in _DOTTED.findall(note):
            assert _resolves(dotted), f"{package}.{name}: {dotted} does not exist"


def test_replacements_named_in_the_submodules_table_exist() -> None:
    text = PAGE.read_text().split("## Also in execo 2.8.2's submodules")[1].split("\n## ")[0]
    for line in text.splitlines():
        if line.startswith("| `execo"):
            here = line.split("|")[2]
            for dotted in _DOTTED.findall(here):
                assert _resolves(dotted), f"{dotted} (in: {line})"
