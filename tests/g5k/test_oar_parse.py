"""The pure core of the OAR layer on real OAR 2.5.9 outputs (tests/data/oar)."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from execo_g5k.oar import (
    OarJob,
    OarJobInfo,
    OarSubmission,
    format_oar_date,
    format_oar_duration,
    oar_date_to_unixts,
    oar_duration_to_seconds,
    oarsub_argv,
    parse_g5k_subnets,
    parse_kavlan,
    parse_oarstat_json,
    parse_oarsub_output,
)

DATA = Path(__file__).parent.parent / "data" / "oar"
INDEX = {
    line.split("\t")[0]: (int(line.split("\t")[1]), line.split("\t")[2])
    for line in (DATA / "INDEX.tsv").read_text().splitlines()
}


def sample(name: str) -> str:
    return (DATA / name).read_text()


def info(name: str) -> OarJobInfo:
    jobs = parse_oarstat_json(sample(name))
    ((job_id, fields),) = jobs.items()
    return OarJobInfo.from_json(job_id, fields)


@pytest.mark.parametrize(
    ("name", "job_id", "error"),
    [
        ("oarsub_batch.txt", 3, None),
        ("oarsub_reservation.txt", 5, None),
        ("oarsub_t_deploy.txt", None, None),
        ("oarsub_reservation_past.txt", 4, "Reservation not valid --> KO (Reservation too old)"),
        ("oarsub_too_many_nodes.txt", None, "There are not enough resources for your request"),
        ("oarsub_bad_property.txt", None, "There are not enough resources for your request"),
        ("oarsub_t_bogus.txt", None, "[ADMISSION RULE] Error: unknown job type: bogus"),
        ("oarsub_bad_syntax.txt", None, "Cannot recognize the resource description"),
        ("oarsub_reservation_bad_date.txt", None, "Syntax error near the -r"),
        ("oarsub_third_reservation.txt", None, "[ADMISSION RULE]"),
    ],
)
def test_oarsub_outputs(name, job_id, error):
    exit_code, _ = INDEX[name]
    outcome = parse_oarsub_output(sample(name), exit_code)
    if name == "oarsub_t_deploy.txt":
        assert outcome.error is None and outcome.job_id is not None
        return
    assert outcome.job_id == job_id
    if error is None:
        assert outcome.error is None
    else:
        assert outcome.error is not None and error in outcome.error
        assert "OAR_JOB_ID" not in outcome.error
        assert "Modify resource description" not in outcome.error


def test_running_job():
    i = info("oarstat_fj_J_running.json")
    assert (i.job_id, i.state, i.name, i.owner) == (3, "Running", "mybatch", "oartest")
    assert i.start_date == 1795534946.0 == i.scheduled_start
    assert i.submission_date == 1795534945.0
    assert i.walltime == 300.0
    assert i.end_date == 1795534946.0 + 300
    assert i.nodes == ("node-1", "node-2")
    assert i.reservation is None and i.stop_date is None and not i.ended
    # execo's dict view
    assert i["state"] == "Running" and i["walltime"] == 300.0
    assert i.get("start_date") == 1795534946.0
    assert i.get("nope", 7) == 7


def test_waiting_job_takes_its_walltime_from_the_message():
    i = info("oarstat_fj_J_waiting.json")
    assert i.state == "Waiting"
    assert i.start_date is None and i.scheduled_start is None and i.predicted_start is None
    assert i.walltime == 300.0
    assert i.end_date is None
    with pytest.raises(KeyError):
        i["start_date"]


def test_scheduled_reservation():
    i = info("oarstat_fj_J_reservation_scheduled.json")
    assert i.state == "Waiting" and i.reservation == "Scheduled"
    assert i.scheduled_start == 1795534996.0 == i.predicted_start
    assert i.reserved_nodes == ("node-3",)
    assert i.nodes == ()


def test_deleted_and_terminated_jobs():
    deleted = info("oarstat_fj_J_deleted.json")
    assert deleted.state == "Error" and deleted.ended and deleted.exit_code is None
    assert deleted.stop_date == 1795534995.0
    assert ("FRAG_JOB_REQUEST", "User oartest requested to frag the job 3") in deleted.events
    done = info("oarstat_fj_J_terminated_exit3.json")
    assert done.state == "Terminated" and done.exit_code == 768 and done.exit_status == 3


def test_listings_and_empty_outputs():
    jobs = parse_oarstat_json(sample("oarstat_u_J.json"))
    assert sorted(jobs) == [3, 5, 6, 7, 8, 9, 10]
    infos = {j: OarJobInfo.from_json(j, f) for j, f in jobs.items()}
    assert infos[9].queue == "besteffort" and infos[8].types == ("deploy",)
    assert infos[6].command is None and infos[5].reservation == "Scheduled"
    assert infos[7].walltime == 60.0  # from "W=0:1:0": -u without -f has no walltime
    assert parse_oarstat_json(sample("oarstat_fj_J_unknown.json")) == {}
    assert parse_oarstat_json("") == {}
    assert parse_oarstat_json(sample("oarstat_s_j_J_running.json")) == {3: {"state": "Running"}}
    with pytest.raises(ValueError, match="not an object"):
        parse_oarstat_json("[1, 2]")


def test_text_dates_need_their_zone():
    # oarstat -fj (text) prints local dates; the JSON has the epoch of the same instant.
    text = sample("oarstat_fj_running_TZ_Paris.txt")
    line = next(ln for ln in text.splitlines() if "startTime" in ln)
    paris = oar_date_to_unixts(line.split("=", 1)[1], "Europe/Paris")
    assert paris == info("oarstat_fj_J_running.json").start_date
    utc = next(ln for ln in sample("oarstat_fj_running.txt").splitlines() if "startTime" in ln)
    assert oar_date_to_unixts(utc.split("=", 1)[1]) == paris


@given(st.integers(min_value=1, max_value=10_000 * 3600))
def test_walltime_round_trip(seconds):
    text = format_oar_duration(seconds)
    assert oar_duration_to_seconds(text) == seconds
    _, m, s = text.split(":")
    assert len(m) == len(s) == 2 and int(m) < 60 and int(s) < 60


def test_walltime_forms():
    assert format_oar_duration("100:00:00") == "100:00:00"  # more than 24 h is fine
    assert format_oar_duration(datetime.timedelta(minutes=90)) == "1:30:00"
    assert format_oar_duration(0.2) == "0:00:01"
    assert oar_duration_to_seconds("0:5:0") == 300
    for bad in (0, -5, "abc", "1:xx:00"):
        with pytest.raises(ValueError, match="duration"):
            format_oar_duration(bad)


@given(st.integers(min_value=0, max_value=4_000_000_000))
def test_reservation_dates_are_utc(ts):
    text = format_oar_date(ts)
    parsed = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.UTC)
    assert parsed.timestamp() == ts


def test_submission_normalizes_and_validates():
    s = OarSubmission(
        resources=["{cluster='paravance'}/nodes=3", "{type='kavlan-local'}/vlan=1"],
        walltime="1:00:00",
        job_type="deploy",
        reservation_date="2030-01-01T10:00:00Z",
        additional_options="-O out.txt -E 'err file'",
    )
    assert s.resource_request == "{cluster='paravance'}/nodes=3+{type='kavlan-local'}/vlan=1"
    assert s.walltime_seconds == 3600.0
    assert s.job_types == ("deploy",)
    assert (
        s.reservation_unixts == datetime.datetime(2030, 1, 1, 10, tzinfo=datetime.UTC).timestamp()
    )
    assert s.options == ("-O", "out.txt", "-E", "err file")
    assert hash(s) == hash(dataclasses.replace(s))
    assert OarSubmission("nodes=1+nodes=2").resource_request == "nodes=1+nodes=2"
    for bad in (["nodes=1", ""], "nodes=1+", "+nodes=1", "nodes=1,walltime=1:00:00"):
        with pytest.raises(ValueError, match=r"resource|walltime"):
            OarSubmission(bad)
    with pytest.raises(ValueError, match="positive duration"):
        OarSubmission("nodes=1", walltime=-1)
    with pytest.raises(ValueError, match="duration"):
        OarSubmission("nodes=1", walltime="tomorrow")
    with pytest.raises(TypeError):
        OarSubmission("nodes=1", name=3)  # type: ignore[arg-type]


def test_oarsub_argv():
    s = OarSubmission(
        ["{cluster='a'}/nodes=3", "{type='kavlan-local'}/vlan=1"],
        walltime=5400,
        job_type=["deploy", "allow_classic_ssh"],
        sql_properties="wattmeter='YES' AND memnode > 1024",
        queue="production",
        reservation_date=1_900_000_000,
        directory="/home/me/my dir",
        project="p",
        name="xp; rm -rf /",
        additional_options=["-O", "o.txt"],
    )
    assert oarsub_argv(s, key_file="/k") == [
        "oarsub", "-O", "o.txt",
        "-l", "{cluster='a'}/nodes=3+{type='kavlan-local'}/vlan=1,walltime=1:30:00",
        "-k", "-i", "/k",
        "-t", "deploy", "-t", "allow_classic_ssh", "-t", "origin=execo",
        "-p", "wattmeter='YES' AND memnode > 1024",
        "-q", "production",
        "-r", "2030-03-17 17:46:40",
        "-d", "/home/me/my dir",
        "--project", "p",
        "-n", "xp; rm -rf /",
        "sleep 31536000",
    ]  # fmt: skip
    assert oarsub_argv(OarSubmission(walltime=60, command="true"), origin=None) == [
        "oarsub", "-l", "walltime=0:01:00", "true"
    ]  # fmt: skip
    assert oarsub_argv(OarSubmission(job_type="origin=me"))[1:3] == ["-t", "origin=me"]


def test_oar_job_unpacks_like_execo_pairs():
    job_id, site = OarJob(12, "lyon")
    assert (job_id, site) == (12, "lyon")
    assert OarJob(3) == (3, None)


def test_subnets_and_kavlan_outputs():
    pairs, params = parse_g5k_subnets(
        "10.158.0.1\t00:16:3e:9e:00:01\r\n10.158.0.2\t00:16:3e:9e:00:02\r\n",
        "10.158.0.0/22\t10.158.3.255\t255.255.252.0\t10.159.255.254\t10.158.0.0\t"
        "dns.lyon.grid5000.fr\t172.16.47.254\n",
    )
    assert pairs == [("10.158.0.1", "00:16:3e:9e:00:01"), ("10.158.0.2", "00:16:3e:9e:00:02")]
    assert params["gateway"] == "10.159.255.254" and params["dns_ip"] == "172.16.47.254"
    assert parse_g5k_subnets("", "garbage") == ([], {})
    assert parse_kavlan("4\r\n") == [4]
    assert parse_kavlan("") == []
    assert parse_kavlan("no vlan for this job\n") == []
