"""The substitution engine (FEATURES §2): a pure function, property-tested."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from execo import Host, Remote, SubstitutionError, substitute
from execo._core._substitution import substitute_all

HOSTS = [Host(f"n-{i}") for i in range(6)]


def test_host_and_wraparound() -> None:
    targets = ["t1", "t2", "t3"]
    got = [substitute("{{{host}}}->{{targets}}", HOSTS, i, {"targets": targets}) for i in range(6)]
    assert got == ["n-0->t1", "n-1->t2", "n-2->t3", "n-3->t1", "n-4->t2", "n-5->t3"]


def test_hosts_in_sequences_give_addresses() -> None:
    assert substitute("{{hs}}", HOSTS, 1, {"hs": HOSTS[::-1]}) == "n-4"


def test_one_pass_results_not_substituted_again() -> None:
    assert substitute("{{files}}", HOSTS, 0, {"files": ["x_{{{host}}}"]}) == "x_{{{host}}}"
    # no re.sub backslash hazard (a host address cannot hold one: Host refuses it)
    assert substitute("{{names}}", HOSTS, 0, {"names": ["a\\1"]}) == "a\\1"


def test_expressions_can_compute() -> None:
    ns = {"hosts2": HOSTS[:3]}
    assert substitute("{{[h.address for h in hosts2]}}", HOSTS, 4, ns) == "n-1"


@pytest.mark.parametrize(
    ("template", "match"),
    [("{{missing}}", "missing"), ("{{5}}", "sequence"), ("{{[]}}", "empty"), ("{{1/0}}", "1/0")],
)
def test_errors_name_the_expression(template: str, match: str) -> None:
    with pytest.raises(SubstitutionError, match=match):
        substitute(template, HOSTS, 0, {})


def test_remote_fails_before_anything_starts() -> None:
    with pytest.raises(SubstitutionError, match="not_defined_here"):
        Remote("echo {{not_defined_here}}", HOSTS)


def test_remote_captures_callers_namespace() -> None:
    targets = ["a", "b"]
    r = Remote("ping {{targets}}", HOSTS[:3])
    assert [p.cmd for p in r.processes] == ["ping a", "ping b", "ping a"]
    del targets
    r2 = Remote("x {{t}}", HOSTS[:1], namespace={"t": ["explicit"]})
    assert r2.processes[0].cmd == "x explicit"


@given(
    n_hosts=st.integers(1, 20),
    seq=st.lists(st.integers(), min_size=1, max_size=10),
    prefix=st.text(alphabet="abc {}", max_size=5),
)
def test_property_index_wraps(n_hosts: int, seq: list[int], prefix: str) -> None:
    hosts = [Host(f"h{i}") for i in range(n_hosts)]
    template = prefix.replace("{", "(").replace("}", ")") + "{{seq}}"
    out = substitute_all(template, hosts, {"seq": seq})
    assert out == [template.replace("{{seq}}", str(seq[i % len(seq)])) for i in range(n_hosts)]


@given(st.text(max_size=40))
def test_property_text_without_braces_is_unchanged(text: str) -> None:
    text = text.replace("{", "").replace("}", "")
    assert substitute(text, HOSTS, 0, {}) == text
