"""A local HTTP endpoint that answers like the Azure Batch service and records every request, so
tests drive the real ``azure.batch.BatchClient`` and assert exactly what it would send.

Knows: create/get pool (404 PoolNotFound for pools it was not told about), list nodes (as the test
sets them, with their recent tasks), disable scheduling on a node, create/get/update/delete job, add task collections (413 RequestBodyTooLarge over 1 MB, 400 over
100 tasks, per-task results with injected client errors), list tasks (states the test sets), task
files, task counts, job preparation/release task status per node and node files (both as the test
sets them).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

MAX_BODY = 1024 * 1024
MAX_TASKS = 100


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body) if self.body else None


@dataclass
class BatchRecorder:
    pools: dict = field(default_factory=dict)  # id -> pool JSON
    jobs: dict = field(default_factory=dict)  # id -> job JSON
    tasks: dict = field(default_factory=dict)  # job id -> {task id -> task JSON}
    files: dict = field(default_factory=dict)  # (job, task, name) -> bytes
    preparation: dict = field(default_factory=dict)  # job id -> [BatchJobPreparationAndReleaseTaskStatus JSON]
    node_files: dict = field(default_factory=dict)  # (pool, node, path) -> bytes
    fail_tasks: dict = field(default_factory=dict)  # task id -> error code to answer with
    busy: dict = field(default_factory=dict)  # task id -> how many more times to answer "servererror"
    disabled: dict = field(default_factory=dict)  # (pool, node) -> disable-scheduling body
    nodes: dict = field(default_factory=dict)  # pool id -> [BatchNode JSON] (list nodes), as the test sets them
    deny: bool = False  # answer every request 403 AuthenticationFailed (expired credentials)
    requests: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "BatchRecorder":
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Recorded(self.command, unquote(parts.path), parse_qs(parts.query), dict(self.headers), body)
                with recorder.lock:
                    recorder.requests.append(req)
                status, payload = recorder.answer(req)
                data = b"" if payload is None else (payload if isinstance(payload, bytes) else json.dumps(payload).encode())
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream" if isinstance(payload, bytes) else
                                 "application/json;odata=minimalmetadata")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("request-id", "00000000-0000-0000-0000-000000000000")
                self.send_header("ETag", "0x1")
                self.send_header("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")
                self.send_header("DataServiceId", "http://localhost/x")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    # ---- the service ---------------------------------------------------------------------------

    @staticmethod
    def error(status: int, code: str, message: str):
        return status, {"odata.metadata": "x", "code": code, "message": {"lang": "en-US", "value": message}}

    def answer(self, req: Recorded):
        seg = [s for s in req.path.split("/") if s]
        if self.deny:
            return self.error(403, "AuthenticationFailed", "Server failed to authenticate the request.")
        with self.lock:
            if seg == ["pools"] and req.method == "POST":
                pool = req.json
                if pool["id"] in self.pools:
                    return self.error(409, "PoolExists", "The specified pool already exists.")
                self.pools[pool["id"]] = pool
                return 201, None
            if len(seg) == 5 and seg[0] == "pools" and seg[2] == "nodes" and seg[4] == "disablescheduling":
                self.disabled[(seg[1], seg[3])] = req.json
                for node in self.nodes.get(seg[1], []):
                    if node["id"] == seg[3]:
                        node["schedulingState"] = "disabled"
                return 200, None
            if len(seg) == 3 and seg[0] == "pools" and seg[2] == "nodes":
                return 200, {"value": self.nodes.get(seg[1], [])}
            if len(seg) >= 5 and seg[0] == "pools" and seg[2] == "nodes" and seg[4] == "files":
                data = self.node_files.get((seg[1], seg[3], "/".join(seg[5:])))
                if data is None:
                    return self.error(404, "FileNotFound", "The specified file does not exist.")
                return 200, data
            if len(seg) == 2 and seg[0] == "pools":
                if seg[1] not in self.pools:
                    return self.error(404, "PoolNotFound", "The specified pool does not exist.")
                if req.method == "DELETE":
                    del self.pools[seg[1]]
                    return 202, None
                return 200, dict(self.pools[seg[1]], state="active", allocationState="steady")
            if seg == ["jobs"] and req.method == "POST":
                job = req.json
                if job["poolInfo"].get("poolId") not in self.pools:
                    return self.error(400, "PoolNotFound", "The specified pool does not exist.")
                if job["id"] in self.jobs:
                    return self.error(409, "JobExists", "The specified job already exists.")
                self.jobs[job["id"]] = dict(job, state="active")
                self.tasks[job["id"]] = {}
                return 201, None
            if len(seg) >= 2 and seg[0] == "jobs" and seg[1] not in self.jobs:
                return self.error(404, "JobNotFound", "The specified job does not exist.")
            if len(seg) == 2 and seg[0] == "jobs":
                if req.method == "DELETE":
                    del self.jobs[seg[1]]
                    return 202, None
                if req.method == "PATCH":
                    self.jobs[seg[1]].update(req.json)
                    return 200, None
                return 200, self.jobs[seg[1]]
            if len(seg) == 3 and seg[2] == "addtaskcollection":
                if len(req.body) > MAX_BODY:
                    return self.error(413, "RequestBodyTooLarge", "The request body is too large.")
                values = req.json["value"]
                if len(values) > MAX_TASKS:
                    return self.error(400, "TooManyTasks", "A collection holds at most 100 tasks.")
                results = []
                for task in values:
                    code = self.fail_tasks.get(task["id"])
                    if self.busy.get(task["id"]):
                        self.busy[task["id"]] -= 1
                        results.append({"status": "servererror", "taskId": task["id"],
                                        "error": {"code": "ServerBusy", "message": {"lang": "en-US", "value": "busy"}}})
                    elif code:
                        results.append({"status": "clienterror", "taskId": task["id"],
                                        "error": {"code": code, "message": {"lang": "en-US", "value": code}}})
                    else:
                        self.tasks[seg[1]][task["id"]] = dict(task, state="active")
                        results.append({"status": "success", "taskId": task["id"], "eTag": "0x1",
                                        "lastModified": "2026-01-01T00:00:00Z"})
                return 200, {"value": results}
            if len(seg) == 3 and seg[2] == "jobpreparationandreleasetaskstatus":
                return 200, {"value": self.preparation.get(seg[1], [])}
            if len(seg) == 3 and seg[2] == "tasks":
                return 200, {"value": list(self.tasks[seg[1]].values())}
            if len(seg) == 3 and seg[2] == "taskcounts":
                states = [t["state"] for t in self.tasks[seg[1]].values()]
                return 200, {"taskCounts": {"active": states.count("active"), "running": states.count("running"),
                                            "completed": states.count("completed"), "succeeded": 0, "failed": 0},
                             "taskSlotCounts": {"active": 0, "running": 0, "completed": 0, "succeeded": 0, "failed": 0}}
            if len(seg) == 6 and seg[2] == "tasks" and seg[4] == "files":
                data = self.files.get((seg[1], seg[3], seg[5]))
                if data is None:
                    return self.error(404, "FileNotFound", "The specified file does not exist.")
                return 200, data
        return self.error(400, "UnsupportedByRecorder", f"{req.method} {req.path}")
