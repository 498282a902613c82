"""The pure core of the OAR layer: submissions, argv builders, dates and output parsers.

Nothing here runs a command. Dates are unix timestamps: OAR's JSON output (``oarstat -J``)
gives epoch seconds, and the one date we write (``oarsub -r``) is formatted in UTC for an
``oarsub`` run with ``TZ=UTC0`` — no Europe/Paris assumption anywhere.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from execo._core._time import DateLike, DurationLike, get_seconds, get_unixts

from ._hostnames import natural_sort_key

__all__ = [
    "OAR_FINAL_STATES",
    "OarJob",
    "OarJobInfo",
    "OarSubmission",
    "OarsubOutcome",
    "format_oar_date",
    "format_oar_duration",
    "oar_date_to_unixts",
    "oar_duration_to_seconds",
    "oarsub_argv",
    "parse_g5k_subnets",
    "parse_kavlan",
    "parse_oarstat_json",
    "parse_oarsub_output",
]

OAR_FINAL_STATES = frozenset({"Terminated", "Error"})
"""OAR states after which a job never runs again."""

_NO_COMMAND = "sleep 31536000"  # what execo submits when no command is given (a year)


class OarJob(NamedTuple):
    """A submitted OAR job: its id and the site (frontend) it lives on (None: the default).

    A tuple, so that ``for job_id, site in jobs`` reads as in execo.
    """

    job_id: int
    site: str | None = None


def format_oar_duration(duration: DurationLike) -> str:
    """``H:MM:SS`` for OAR (hours may exceed 24); seconds are rounded up.

    Raises:
        ValueError: Not a duration, or not positive.
    """
    seconds = get_seconds(duration)
    if seconds is None or seconds <= 0:
        raise ValueError(f"an OAR walltime must be a positive duration, got {duration!r}")
    total = int(-(-seconds // 1))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def oar_duration_to_seconds(text: str) -> float:
    """Seconds of an OAR duration ``H:M:S`` (``0:5:0`` and ``100:00:00`` included)."""
    seconds = get_seconds(text)
    if seconds is None:
        raise ValueError(f"not an OAR duration: {text!r}")
    return seconds


def format_oar_date(date: DateLike) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in **UTC**, for an ``oarsub -r`` run with ``TZ=UTC0``."""
    ts = get_unixts(date)
    if ts is None:
        raise ValueError("no date given")
    dt = datetime.datetime.fromtimestamp(int(-(-ts // 1)), datetime.UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def oar_date_to_unixts(text: str, tz: str = "UTC") -> float:
    """The timestamp of an OAR text date ``YYYY-MM-DD HH:MM:SS`` read in zone `tz`.

    Only needed to read OAR's *text* outputs, which print local dates of the machine that
    ran them (``Europe/Paris`` on Grid'5000); the JSON outputs used by this package give
    epoch seconds.
    """
    import zoneinfo

    naive = datetime.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    return naive.replace(tzinfo=zoneinfo.ZoneInfo(tz)).timestamp()


def _str_tuple(value: str | Sequence[str] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = (value,) if isinstance(value, str) else tuple(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"{what} must be non-empty strings, got {value!r}")
    return tuple(item.strip() for item in items)


def _resources(value: str | Sequence[str] | None) -> str | None:
    groups = [g for part in _str_tuple(value, "resources") for g in part.split("+")]
    if not groups:
        return None
    for group in groups:
        if not group.strip():
            raise ValueError(f"empty resource group in {value!r}")
        if re.search(r"(^|[,/])\s*walltime\s*=", group):
            raise ValueError(f"give the walltime as walltime=, not in the resources: {value!r}")
    return "+".join(g.strip() for g in groups)


@dataclasses.dataclass(frozen=True, slots=True)
class OarSubmission:
    """What to ask ``oarsub`` for (execo's ``OarSubmission``, frozen and checked).

    Values are normalized when the object is built, so a bad walltime or an empty resource
    group fails here, not on the frontend. Derive variants with `dataclasses.replace`.

    Attributes:
        resources: ``-l`` resource request without the walltime; a list is joined with
            ``+`` (``["{cluster='a'}/nodes=3", "{type='kavlan-local'}/vlan=1"]``).
            Stored as the joined string, or None (OAR's default: one resource).
        walltime: Seconds, ``"H:MM:SS"`` (hours may exceed 24) or a timedelta. Stored as
            seconds (float), or None (OAR's default walltime).
        job_type: ``-t`` types (a string or a list). Stored as a tuple.
        sql_properties: ``-p`` SQL properties.
        queue: ``-q`` queue.
        reservation_date: ``-r`` advance reservation start: a timestamp, a datetime (naive
            means local time) or a date string (see `execo.get_unixts`). Stored as a
            timestamp, or None (a batch job).
        directory: ``-d`` working directory of the job.
        project: ``--project``.
        name: ``-n`` job name.
        additional_options: More oarsub arguments, an argv list or a string (shell-split).
            Stored as a tuple.
        command: The job's command; None means ``sleep 31536000`` (the job then holds its
            nodes until its walltime, as in execo).
    """

    resources: str | Sequence[str] | None = None
    walltime: DurationLike = None
    job_type: str | Sequence[str] | None = None
    sql_properties: str | None = None
    queue: str | None = None
    reservation_date: DateLike = None
    directory: str | None = None
    project: str | None = None
    name: str | None = None
    additional_options: str | Sequence[str] | None = None
    command: str | None = None

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "resources", _resources(self.resources))
        if self.walltime is not None:
            format_oar_duration(self.walltime)  # validates
            setattr_(self, "walltime", get_seconds(self.walltime))
        setattr_(self, "job_type", _str_tuple(self.job_type, "job types"))
        if self.reservation_date is not None:
            setattr_(self, "reservation_date", get_unixts(self.reservation_date))
        options = self.additional_options
        if isinstance(options, str):
            options = shlex.split(options)
        setattr_(self, "additional_options", tuple(options or ()))
        for name in ("sql_properties", "queue", "directory", "project", "name", "command"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"OarSubmission.{name} must be a str or None, got {value!r}")

    @property
    def resource_request(self) -> str | None:
        """The ``-l`` resources (joined), without the walltime."""
        assert self.resources is None or isinstance(self.resources, str)
        return self.resources

    @property
    def walltime_seconds(self) -> float | None:
        """The walltime in seconds, or None."""
        assert self.walltime is None or isinstance(self.walltime, float)
        return self.walltime

    @property
    def job_types(self) -> tuple[str, ...]:
        """The ``-t`` types."""
        assert isinstance(self.job_type, tuple)
        return self.job_type

    @property
    def reservation_unixts(self) -> float | None:
        """The reservation start as a timestamp, or None."""
        assert self.reservation_date is None or isinstance(self.reservation_date, float)
        return self.reservation_date

    @property
    def options(self) -> tuple[str, ...]:
        """The additional oarsub arguments."""
        assert isinstance(self.additional_options, tuple)
        return self.additional_options


def oarsub_argv(
    submission: OarSubmission,
    *,
    key_file: str | None = None,
    origin: str | None = "execo",
) -> list[str]:
    """The ``oarsub`` argv for `submission` (pure; each value is one argv word).

    Args:
        submission: What to submit.
        key_file: Job key file (``-k -i``), if any.
        origin: Adds the Grid'5000 job type ``origin=<origin>`` (as execo does); None to
            leave it out (stock OAR's admission rules refuse unknown types).
    """
    argv = ["oarsub", *submission.options]
    resources = submission.resource_request
    walltime = submission.walltime_seconds
    parts = [p for p in (resources, walltime and f"walltime={format_oar_duration(walltime)}") if p]
    if parts:
        argv += ["-l", ",".join(parts)]
    if key_file:
        argv += ["-k", "-i", key_file]
    types = list(dict.fromkeys(submission.job_types))
    if origin and not any(t.startswith("origin=") for t in types):
        types.append(f"origin={origin}")
    for job_type in types:
        argv += ["-t", job_type]
    if submission.sql_properties:
        argv += ["-p", submission.sql_properties]
    if submission.queue:
        argv += ["-q", submission.queue]
    if submission.reservation_unixts is not None:
        argv += ["-r", format_oar_date(submission.reservation_unixts)]
    if submission.directory:
        argv += ["-d", submission.directory]
    if submission.project:
        argv += ["--project", submission.project]
    if submission.name:
        argv += ["-n", submission.name]
    argv.append(submission.command if submission.command is not None else _NO_COMMAND)
    return argv


class OarsubOutcome(NamedTuple):
    """What an ``oarsub`` run said: the job id, and why it failed (None when it did not).

    ``job_id`` can be set on a failure: a refused advance reservation gets an id and an
    exit code of 10 (such a job is in the Error state; it is deleted anyway).
    """

    job_id: int | None
    error: str | None


_JOB_ID = re.compile(r"^OAR_JOB_ID=(-?\d+)\s*$", re.MULTILINE)
_NOISE = re.compile(r"^\[ADMISSION RULE\] Modify resource description|^Reservation mode|^\s*$")


def parse_oarsub_output(output: str, exit_code: int | None = 0) -> OarsubOutcome:
    """The job id and failure reason from ``oarsub``'s output (stdout and stderr together).

    Args:
        output: What oarsub printed.
        exit_code: Its exit code; non-zero is a failure even when an id was printed.
    """
    ids = [int(m) for m in _JOB_ID.findall(output)]
    job_id = ids[-1] if ids and ids[-1] > 0 else None
    failed = exit_code != 0 or job_id is None or "--> KO" in output
    if not failed:
        return OarsubOutcome(job_id, None)
    reasons = [
        line.strip()
        for line in output.replace("\r", "").splitlines()
        if not _NOISE.search(line) and not _JOB_ID.match(line)
    ]
    reason = "; ".join(reasons) or f"oarsub exited with {exit_code} and printed no job id"
    return OarsubOutcome(job_id, reason)


def parse_oarstat_json(output: str) -> dict[int, dict[str, Any]]:
    """``oarstat -J`` output as ``{job_id: fields}``; OAR prints nothing when no job matches.

    Raises:
        ValueError: The output is not the JSON object of jobs.
    """
    text = output.strip()
    if not text:
        return {}
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"oarstat -J printed a {type(data).__name__}, not an object")
    jobs: dict[int, dict[str, Any]] = {}
    for key, fields in data.items():
        if isinstance(fields, dict):
            jobs[int(key)] = fields
        else:  # oarstat -s -j ID -J: {"3": "Running"}
            jobs[int(key)] = {"state": fields}
    return jobs


def _epoch(value: object) -> float | None:
    """OAR's epoch fields use 0 (or null) for "not yet"."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


_MESSAGE_WALLTIME = re.compile(r"(?:^|,)W=(\d+:\d+:\d+)")


@dataclasses.dataclass(frozen=True, slots=True)
class OarJobInfo:
    """One job as ``oarstat -fj ID -J`` describes it; dates are unix timestamps.

    Reads like execo's dict too: ``info["state"]``, ``info.get("start_date")`` (the keys
    ``state``, ``start_date``, ``scheduled_start``, ``walltime``, ``name``).

    Attributes:
        job_id: The job id.
        state: OAR's state: ``Waiting``, ``Launching``, ``Running``, ``Terminated``,
            ``Error``, ``Hold``...
        name: ``-n`` name, if any.
        owner: The user.
        queue: The queue.
        project: The project.
        types: The job types (``deploy``, ``allow_classic_ssh``...).
        command: The command.
        submission_date: When it was submitted.
        start_date: When it started (or, for a scheduled advance reservation, when it will
            start); None while unknown.
        scheduled_start: The scheduler's predicted start; None when none yet.
        stop_date: When it stopped; None while it has not.
        walltime: Seconds; read from the job's message while OAR has no value yet.
        reservation: ``Scheduled``, ``toSchedule``... for advance reservations; None for
            batch jobs.
        exit_code: The raw wait status OAR stores (``exit 3`` gives 768); None if none.
        nodes: The assigned hosts (``assigned_network_address``), naturally sorted.
        reserved_nodes: The hosts an advance reservation holds before it starts.
        message: OAR's message about the job.
        events: The job's events (``FRAG_JOB_REQUEST``, ``SWITCH_INTO_ERROR_STATE``...) as
            ``(type, description)`` pairs.
        raw: The whole JSON object.
    """

    job_id: int
    state: str
    name: str | None = None
    owner: str | None = None
    queue: str | None = None
    project: str | None = None
    types: tuple[str, ...] = ()
    command: str | None = None
    submission_date: float | None = None
    start_date: float | None = None
    scheduled_start: float | None = None
    stop_date: float | None = None
    walltime: float | None = None
    reservation: str | None = None
    exit_code: int | None = None
    nodes: tuple[str, ...] = ()
    reserved_nodes: tuple[str, ...] = ()
    message: str | None = None
    events: tuple[tuple[str, str], ...] = ()
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, job_id: int, fields: Mapping[str, Any]) -> OarJobInfo:
        """Builds it from one job object of ``oarstat -J`` (``-f`` gives every field)."""
        message = fields.get("message") or None
        walltime = fields.get("walltime")
        seconds = float(walltime) if isinstance(walltime, int | float) and walltime else None
        if seconds is None and message:
            m = _MESSAGE_WALLTIME.search(message)
            seconds = oar_duration_to_seconds(m.group(1)) if m else None
        reserved = fields.get("reserved_resources") or {}
        reserved_nodes = {
            str(r["network_address"])
            for r in (reserved.values() if isinstance(reserved, dict) else ())
            if isinstance(r, dict) and r.get("network_address")
        }
        reservation = fields.get("reservation")
        exit_code = fields.get("exit_code")
        return cls(
            job_id=int(fields.get("Job_Id", job_id)),
            state=str(fields.get("state", "Unknown")),
            name=fields.get("name") or None,
            owner=fields.get("owner") or fields.get("job_user") or None,
            queue=fields.get("queue") or None,
            project=fields.get("project") or None,
            types=tuple(fields.get("types") or ()),
            command=fields.get("command") or None,
            submission_date=_epoch(fields.get("submissionTime")),
            start_date=_epoch(fields.get("startTime")),
            scheduled_start=_epoch(fields.get("scheduledStart")),
            stop_date=_epoch(fields.get("stopTime")),
            walltime=seconds,
            reservation=None if reservation in (None, "None") else str(reservation),
            exit_code=exit_code if isinstance(exit_code, int) else None,
            nodes=tuple(sorted(fields.get("assigned_network_address") or (), key=natural_sort_key)),
            reserved_nodes=tuple(sorted(reserved_nodes, key=natural_sort_key)),
            message=message,
            events=tuple(
                (str(e.get("type", "")), str(e.get("description", "")))
                for e in fields.get("events") or ()
                if isinstance(e, dict)
            ),
            raw=fields,
        )

    @property
    def predicted_start(self) -> float | None:
        """`start_date` if known, else `scheduled_start`."""
        return self.start_date if self.start_date is not None else self.scheduled_start

    @property
    def end_date(self) -> float | None:
        """The start plus the walltime (None while either is unknown)."""
        start = self.predicted_start
        return None if start is None or self.walltime is None else start + self.walltime

    @property
    def ended(self) -> bool:
        """In a final state (``Terminated`` or ``Error``)."""
        return self.state in OAR_FINAL_STATES

    @property
    def exit_status(self) -> int | None:
        """The job command's exit status (``exit_code >> 8``), None if it has none."""
        return None if self.exit_code is None else (self.exit_code >> 8) & 0xFF

    def _execo_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"state": self.state}
        for key in ("start_date", "scheduled_start", "walltime", "name"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d

    def __getitem__(self, key: str) -> object:
        return self._execo_dict()[key]

    def get(self, key: str, default: object = None) -> object:
        """execo's ``dict.get`` on the keys of its job info dict."""
        return self._execo_dict().get(key, default)


def parse_g5k_subnets(
    ip_mac_output: str, params_output: str
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """``g5k-subnets -i -m -j ID`` and ``g5k-subnets -a -j ID`` outputs.

    Returns:
        ``[(ip, mac)]`` and the network parameters (``ip_prefix``, ``broadcast``,
        ``netmask``, ``gateway``, ``network``, ``dns_hostname``, ``dns_ip``).
    """
    pairs = []
    for line in ip_mac_output.replace("\r", "").splitlines():
        words = line.split()
        if len(words) >= 2:
            pairs.append((words[0], words[1]))
    keys = ("ip_prefix", "broadcast", "netmask", "gateway", "network", "dns_hostname", "dns_ip")
    params: dict[str, str] = {}
    for line in params_output.replace("\r", "").splitlines():
        fields = line.split("\t")
        if len(fields) == len(keys):
            params = dict(zip(keys, (f.strip() for f in fields), strict=True))
            break
    return pairs, params


def parse_kavlan(output: str) -> list[int]:
    """The vlan ids printed by ``kavlan -j ID -V`` (one per line); [] when there is none."""
    vlans = []
    for line in output.replace("\r", "").splitlines():
        word = line.strip()
        if word.isdigit():
            vlans.append(int(word))
    return vlans
