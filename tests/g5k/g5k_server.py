"""A real HTTP(S) server on loopback that behaves like the Grid'5000 API on the fixture data.

It serves ``tests/data/g5k_api`` the way g5k-api does (see its README.md): the collection
envelope, hrefs carrying the version segment the client used, the ``queues`` filter of
clusters, the jobs collection with its filters and its page cap, the status filters, plain
text errors, HTTP basic auth (401 on bad credentials, 403 on anonymous writes), kwollect
metrics from ``tests/data/g5k_metrics``, and deployments: ``POST /sites/{site}/deployments``
creates one (``processing``, as g5k-api answers, README "Deployments"); it turns
``terminated`` after `deployment_polls` GETs, with a ``result`` where the nodes of
`deployment_failures` are ``KO`` (with their error) and the others ``OK``, or ends with
`deployment_final_status` (``error``...); ``DELETE`` cancels it (owner only). Every request
is logged for the tests to assert on; faults (5xx answers) and latency can be injected.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable

DATA = Path(__file__).parent.parent / "data"
VERSIONS = ("stable", "sid", "3.0")
DEFAULT_QUEUES = {"admin", "default"}


@dataclasses.dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # without the version segment, e.g. "sites/lyon/clusters"
    query: dict[str, str]
    user: str | None
    status: int
    start: float
    end: float


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that refuse our certificate or hang up are expected in tests


class HttpAnswer(Exception):
    def __init__(self, status: int, body: str) -> None:
        self.status = status
        self.body = body


def _load(path: Path) -> Any:
    with path.open("rb") as f:
        return json.load(f)


class FakeG5kApi:
    """The server; use as a context manager. Attributes are read and set by the tests."""

    def __init__(
        self,
        *,
        tls: tuple[Path, Path] | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        self.users = users if users is not None else {"jdoe": "s3cret"}
        self.anonymous_allowed = True
        self.latency = 0.0
        self.jobs_page_cap = 500
        self.faults: dict[str, list[int]] = {}
        self.log: list[LoggedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.deployment_polls = 1
        self.deployment_failures: dict[str, str] = {}
        self.deployment_final_status = "terminated"
        self.deployments: dict[str, dict[str, Any]] = {}  # uid -> document
        self.deployment_requests: list[dict[str, Any]] = []
        self._polls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._tls = tls
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self._server.socket = ctx.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def root_url(self) -> str:
        scheme = "https" if self._tls else "http"
        host, port = self._server.server_address[:2]
        return f"{scheme}://{host!s}:{port}/"

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self.faults.clear()
            self.latency = 0.0
            self.jobs_page_cap = 500
            self.anonymous_allowed = True
            self.in_flight = self.max_in_flight = 0
            self.deployment_polls = 1
            self.deployment_failures = {}
            self.deployment_final_status = "terminated"
            self.deployments.clear()
            self.deployment_requests.clear()
            self._polls.clear()

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.log]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # ---- request handling (runs in the server's threads) ---------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                if isinstance(self.request, ssl.SSLSocket):
                    self.request.do_handshake()
                super().setup()

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                api._handle(self, "GET")

            def do_POST(self) -> None:
                api._handle(self, "POST")

            def do_DELETE(self) -> None:
                api._handle(self, "DELETE")

        return Handler

    def _user(self, handler: BaseHTTPRequestHandler) -> str | None:
        header = handler.headers.get("Authorization")
        if header is None:
            if not self.anonymous_allowed:
                raise HttpAnswer(401, "Authorization Required")
            return None
        scheme, _, token = header.partition(" ")
        try:
            user, _, password = base64.b64decode(token).decode().partition(":")
        except ValueError:
            raise HttpAnswer(401, "Authorization Required") from None
        if scheme != "Basic" or self.users.get(user) != password:
            raise HttpAnswer(401, "Authorization Required")
        return user

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        start = time.monotonic()
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        split = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        version, _, rel = unquote(split.path).lstrip("/").partition("/")
        rel = rel.strip("/")
        user: str | None = None
        content_type = "text/plain; charset=utf-8"
        length = int(handler.headers.get("Content-Length") or 0)
        payload = handler.rfile.read(length) if length else b""
        extra_headers: dict[str, str] = {}
        try:
            if self.latency:
                time.sleep(self.latency)
            user = self._user(handler)
            if version not in VERSIONS:
                raise HttpAnswer(404, f"Cannot find resource /{version}")
            with self._lock:
                fault = self.faults.get(rel)
                status = fault.pop(0) if fault else None
            if status is not None:
                raise HttpAnswer(status, "Service Unavailable: injected fault")
            status = 200
            if method != "GET":
                if user is None:
                    raise HttpAnswer(403, "You are not authorized to access this resource")
                status, doc = self._write(method, rel, payload, user, version, extra_headers)
            else:
                doc = self._route(rel, query)
            body = b"" if doc is None else json.dumps(doc).encode()
            body = body.replace(b'"/stable/', f'"/{version}/'.encode())
            if "application/json" in handler.headers.get("Accept", ""):
                content_type = "application/json"
            else:
                kind = "collection" if isinstance(doc, dict) and "items" in doc else "item"
                content_type = f"application/vnd.grid5000.{kind}+json"
        except HttpAnswer as answer:
            status, body = answer.status, answer.body.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Cache-Control", "public, max-age=60, must-revalidate")
        if status == 401:
            handler.send_header("WWW-Authenticate", 'Basic realm="Grid5000"')
        for name, value in extra_headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
        with self._lock:
            self.in_flight -= 1
            self.log.append(
                LoggedRequest(method, rel, query, user, status, start, time.monotonic())
            )

    # ---- deployments (deployments_controller.rb, app/models/grid5000/deployment.rb) --------

    def _write(
        self,
        method: str,
        rel: str,
        payload: bytes,
        user: str,
        version: str,
        headers: dict[str, str],
    ) -> tuple[int, Any]:
        parts = rel.split("/")
        if (
            method == "POST"
            and len(parts) == 3
            and parts[0] == "sites"
            and parts[2] == "deployments"
        ):
            doc = self._create_deployment(parts[1], payload, user)
            headers["Location"] = (
                f"{self.root_url}{version}/sites/{parts[1]}/deployments/{doc['uid']}"
            )
            return 201, doc
        if method == "DELETE" and len(parts) == 4 and parts[2] == "deployments":
            with self._lock:
                existing = self.deployments.get(parts[3])
                if existing is None:
                    raise HttpAnswer(404, f"Couldn't find Grid5000::Deployment with ID={parts[3]}")
                doc = existing
                if doc["user_uid"] != user:
                    raise HttpAnswer(403, "You are not authorized to access this resource")
                if doc["status"] in ("waiting", "processing"):
                    doc["status"] = "canceled"
                    doc["updated_at"] = int(time.time())
            headers["Location"] = f"{self.root_url}{version}/{rel}"
            return 202, None
        raise HttpAnswer(405, "Method not allowed")

    def _create_deployment(self, site: str, payload: bytes, user: str) -> dict[str, Any]:
        try:
            request = json.loads(payload or b"{}")
        except ValueError:
            raise HttpAnswer(400, "Request body is not valid JSON") from None
        nodes = request.get("nodes")
        if (
            not isinstance(nodes, list)
            or not nodes
            or not all(isinstance(n, str) and n.endswith(f".{site}.grid5000.fr") for n in nodes)
        ):
            raise HttpAnswer(400, "nodes must be a non-empty list of node FQDN")
        if not isinstance(request.get("environment"), str):
            raise HttpAnswer(400, "environment must be given")
        now = int(time.time())
        doc: dict[str, Any] = {
            "uid": f"D-{uuid.uuid4()}",
            "site_uid": site,
            "user_uid": user,
            "environment": request["environment"],
            "status": "processing",
        }
        key = request.get("key")
        if isinstance(key, str) and not key.startswith(("http://", "https://")):
            sha = hashlib.sha1(key.encode()).hexdigest()
            key = f"https://api.grid5000.fr/stable/sites/{site}/files/{user}-key-{sha}"
        if key:
            doc["key"] = key
        doc["nodes"] = nodes
        if "vlan" in request:
            doc["vlan"] = request["vlan"]
        doc.update(
            {
                "disable_disk_partitioning": False,
                "disable_bootloader_install": False,
                "ignore_nodes_deploying": False,
                "created_at": now,
                "updated_at": now,
                "arch": request.get("arch", "x86_64"),
                "links": [
                    {
                        "rel": "self",
                        "href": f"/stable/sites/{site}/deployments/{doc['uid']}",
                        "type": "application/vnd.grid5000.item+json",
                    },
                    {
                        "rel": "parent",
                        "href": f"/stable/sites/{site}",
                        "type": "application/vnd.grid5000.item+json",
                    },
                ],
            }
        )
        with self._lock:
            self.deployment_requests.append(request)
            self.deployments[doc["uid"]] = doc
            self._polls[doc["uid"]] = 0
            copy: dict[str, Any] = json.loads(json.dumps(doc))
            return copy

    def _deployment(self, site: str, uid: str) -> Any:
        with self._lock:
            doc = self.deployments.get(uid)
            if doc is None or doc["site_uid"] != site:
                return None
            if doc["status"] == "processing":
                self._polls[uid] += 1
                if self._polls[uid] >= self.deployment_polls:
                    self._finish_deployment(doc)
            return json.loads(json.dumps(doc))

    def _finish_deployment(self, doc: dict[str, Any]) -> None:
        doc["status"] = self.deployment_final_status
        doc["updated_at"] = int(time.time())
        if doc["status"] == "error":
            doc["output"] = "Kadeploy error: the deployment failed\nNodes not reachable"
            return
        result: dict[str, Any] = {}
        for node in doc["nodes"]:
            error = self.deployment_failures.get(node)
            if error is None:
                result[node] = {"macro": None, "micro": None, "state": "OK"}
            else:
                result[node] = {
                    "macro": "SetDeploymentEnvUntrusted",
                    "micro": "wait_reboot",
                    "state": "KO",
                    "error": error,
                }
        doc["result"] = result

    def _file(self, rel: str) -> Any:
        if rel == "":
            return _load(DATA / "g5k_api" / "stable.json")
        for tree in ("stable", "synthesized/stable"):
            path = DATA / "g5k_api" / tree / f"{rel}.json"
            if path.is_file():
                return _load(path)
        raise HttpAnswer(404, f"Cannot find resource /{rel}")

    def _route(self, rel: str, query: dict[str, str]) -> Any:
        parts = rel.split("/")
        routes: list[tuple[Callable[[list[str]], bool], Callable[[], Any]]] = [
            (lambda p: len(p) == 3 and p[2] == "clusters", lambda: self._clusters(rel, query)),
            (lambda p: len(p) == 4 and p[2] == "clusters", lambda: self._cluster(rel, query)),
            (lambda p: len(p) == 3 and p[2] == "jobs", lambda: self._jobs(parts[1], query)),
            (lambda p: len(p) == 4 and p[2] == "jobs", lambda: self._job(parts[1], parts[3])),
            (lambda p: p[-1] == "status", lambda: self._status(rel, query)),
            (lambda p: len(p) == 3 and p[2] == "metrics", lambda: self._metrics(parts, query)),
        ]
        if parts[0] == "sites" and len(parts) == 4 and parts[2] == "deployments":
            created = self._deployment(parts[1], parts[3])
            if created is not None:
                return created
        if parts[0] == "sites":
            for matches, answer in routes:
                if matches(parts):
                    return answer()
        return self._file(rel)

    @staticmethod
    def _queues(query: dict[str, str]) -> set[str] | None:
        wanted = query.get("queues", "admin,default")
        return None if wanted == "all" else set(wanted.split(","))

    def _clusters(self, rel: str, query: dict[str, str]) -> Any:
        doc = self._file(rel)
        wanted = self._queues(query)
        if wanted is not None:
            doc["items"] = [c for c in doc["items"] if wanted & set(c.get("queues", []))]
            doc["total"] = len(doc["items"])
        return doc

    def _cluster(self, rel: str, query: dict[str, str]) -> Any:
        doc = self._file(rel)
        wanted = self._queues(query)
        if wanted is not None and not wanted & set(doc.get("queues", [])):
            raise HttpAnswer(404, f"Cannot find resource /{rel}")
        return doc

    def _job(self, site: str, uid: str) -> Any:
        try:
            return self._file(f"sites/{site}/jobs/{uid}")
        except HttpAnswer:
            raise HttpAnswer(404, f"Couldn't find Job with ID={uid}") from None

    def _jobs(self, site: str, query: dict[str, str]) -> Any:
        doc = self._file(f"sites/{site}/jobs")
        items = doc["items"]
        if "state" in query:
            states = {s.lower() for s in query["state"].split(",")}
            items = [j for j in items if j["state"] in states]
        for key, field in (("user", "user_uid"), ("name", "name"), ("queue", "queue")):
            if key in query:
                items = [j for j in items if j.get(field) == query[key]]
        if query.get("resources") == "yes":
            items = [self._job(site, str(j["uid"])) for j in items]
        offset = int(query.get("offset", 0))
        limit = min(int(query.get("limit", 50)), self.jobs_page_cap)
        return {
            "total": len(items),
            "offset": offset,
            "items": items[offset : offset + limit],
            "links": doc["links"],
        }

    def _status(self, rel: str, query: dict[str, str]) -> Any:
        doc = self._file(rel)
        for section in ("nodes", "disks", "vlans", "subnets"):
            if query.get(section) == "no":
                doc.pop(section, None)
        for entries in (v for k, v in doc.items() if k not in ("uid", "links")):
            for entry in entries.values():
                if query.get("waiting") == "no":
                    entry["reservations"] = [
                        r for r in entry["reservations"] if r["state"] != "waiting"
                    ]
                if query.get("job_details") == "no":
                    entry.pop("reservations", None)
        if "network_address" in query and "nodes" in doc:
            doc["nodes"] = {k: v for k, v in doc["nodes"].items() if k == query["network_address"]}
        return doc

    def _metrics(self, parts: list[str], query: dict[str, str]) -> Any:
        path = DATA / "g5k_metrics" / f"{parts[1]}.json"
        if not path.is_file():
            raise HttpAnswer(404, f"Cannot find resource /{'/'.join(parts)}")
        points: list[dict[str, Any]] = _load(path)
        nodes = set(query.get("nodes", "").split(","))
        metrics = set(query.get("metrics", "").split(",")) if "metrics" in query else None
        start = query.get("start_time")
        end = query.get("end_time")
        return [
            p
            for p in points
            if p["device_id"] in nodes
            and (metrics is None or p["metric_id"] in metrics)
            and (start is None or _ts(p["timestamp"]) >= _ts(start))
            and (end is None or _ts(p["timestamp"]) <= _ts(end))
        ]


def _ts(iso: str) -> float:
    import datetime

    return datetime.datetime.fromisoformat(iso).timestamp()
