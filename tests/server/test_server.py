#!/usr/bin/env python3
"""Tests of `visionbench serve` over real HTTP on loopback, one case per run.

usage: test_server.py CASE [sqlite|postgres]

Each case starts its own server on a free port with a temporary SQLite
database (or the PostgreSQL database in VB_TEST_POSTGRES_URL) and a
temporary --models-dir of symlinks to the shared models. Needs VB_CLI and
VB_SHARED_DIR (set by CTest); exits 77 (skipped) when the shared data or
the PostgreSQL URL is absent. Standard library only.
"""

import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
CLI = os.environ.get("VB_CLI", "")
SHARED = os.environ.get("VB_SHARED_DIR", "")
CARS = os.path.join(SHARED, "datasets", "kaggle-car-video")
BAD = os.path.join(SHARED, "datasets", "bad-inputs")
MODELS = os.path.join(SHARED, "models")

failures = []


def check(condition, message):
    """Records a failed check without stopping the case."""
    if not condition:
        failures.append(message)
        print("FAIL: " + message, flush=True)
    return condition


def b64(data):
    return base64.b64encode(data).decode("ascii")


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Server:
    """One `visionbench serve` process and a client for it."""

    def __init__(self, work, db, extra=(), key=None):
        self.work = work
        self.db = db
        self.extra = list(extra)
        self.key = key
        self.proc = None
        self.port = None
        self.log_path = os.path.join(work, "server.log")

    def start(self):
        offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        log = open(self.log_path, "ab")
        args = [CLI, "serve", "--listen", "127.0.0.1:0", "--db", self.db,
                "--models-dir", os.path.join(self.work, "models")] + self.extra
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        # The server logs the port it bound: "listening on 127.0.0.1:PORT".
        deadline = time.time() + 20
        while time.time() < deadline:
            with open(self.log_path, "r", errors="replace") as f:
                f.seek(offset)
                ports = re.findall(r"listening on 127\.0\.0\.1:(\d+)", f.read())
            if ports and self.proc.poll() is None:
                self.port = int(ports[-1])
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("server did not start; log:\n" + open(self.log_path).read())

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def request(self, method, path, body=None, headers=None, timeout=120):
        """Returns (status, parsed JSON or None, raw bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        hdrs = dict(headers or {})
        if self.key is not None and "Authorization" not in hdrs:
            hdrs["Authorization"] = "Bearer " + self.key
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            self.last_headers = dict(resp.getheaders())
        finally:
            conn.close()
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        return resp.status, doc, raw

    def raw_post(self, path, body, chunked=False):
        """Sends a POST over a plain socket and returns (status, parsed JSON).
        The server may reply and close before the whole body is sent, which
        http.client reports as a broken pipe instead of returning the reply."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" % path
        if self.key is not None:
            head += "Authorization: Bearer %s\r\n" % self.key
        if chunked:
            head += "Transfer-Encoding: chunked\r\n\r\n"
            payload = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 65536]), body[i:i + 65536])
                               for i in range(0, len(body), 65536)) + b"0\r\n\r\n"
        else:
            head += "Content-Length: %d\r\n\r\n" % len(body)
            payload = body

        # Send what the server takes, then read its reply until it closes.
        reply = b""
        try:
            sock.sendall(head.encode() + payload)
        except OSError:
            pass
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
                if b"\r\n\r\n" in reply and reply.rstrip().endswith(b"}"):
                    break
        except OSError:
            pass
        sock.close()

        # Parse the status line and the JSON body, unchunked when needed.
        status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0
        text = reply.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in reply else b""
        if b"Transfer-Encoding: chunked" in reply.split(b"\r\n\r\n", 1)[0]:
            text = b"".join(text.split(b"\r\n")[1::2])
        try:
            return status, json.loads(text)
        except ValueError:
            return status, None

    def wait_final(self, job_id, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, doc, _ = self.request("GET", "/status/" + job_id)
            if status == 200 and doc["status"] in ("COMPLETED", "FAILED", "CANCELLED",
                                                   "TIMED_OUT"):
                return doc
            time.sleep(0.1)
        return self.request("GET", "/status/" + job_id)[1]

    def wait_status(self, job_id, wanted, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            doc = self.request("GET", "/status/" + job_id)[1]
            if doc is not None and doc.get("status") == wanted:
                return True
            time.sleep(0.05)
        return False


def car_subset(work, count):
    """Copies count kaggle-car-video images with boxes and their CSV rows into
    work/images and work/gt.csv; returns (names, csv bytes)."""
    lines = open(os.path.join(CARS, "gt.csv")).read().splitlines()
    names = sorted({line.split(",")[0] for line in lines[1:]})[:count]
    rows = [lines[0]] + [line for line in lines[1:] if line.split(",")[0] in names]
    csv = ("\n".join(rows) + "\n").encode()
    os.makedirs(os.path.join(work, "images"), exist_ok=True)
    for name in names:
        shutil.copy(os.path.join(CARS, "images", name), os.path.join(work, "images", name))
    with open(os.path.join(work, "gt.csv"), "wb") as f:
        f.write(csv)
    return names, csv


def job_body(work, names, csv, models, options=None):
    body = {"input": {
        "images": [{"name": n, "data": b64(read(os.path.join(work, "images", n)))}
                   for n in names],
        "ground_truth_csv": b64(csv),
        "models": models}}
    if options is not None:
        body["input"]["options"] = options
    return body


def tiny_body(work, options=None):
    """One image and FastestDet: a job of well under a second."""
    names, csv = car_subset(work, 1)
    opts = {"warmup": 0, "threads": 1}
    opts.update(options or {})
    return job_body(work, names, csv, ["FastestDet"], opts)


def slow_body(work, repeat=100):
    """yolox_nano on 6 images with repeat timed passes: about 0.3 s a pass
    on one thread, so the default runs for half a minute."""
    names, csv = car_subset(work, 6)
    return job_body(work, names, csv, ["yolox_nano"],
                    {"warmup": 0, "repeat": repeat, "threads": 1})


def case_runsync_accuracy(server, work):
    names, csv = car_subset(work, 6)
    status, doc, raw = server.request("POST", "/runsync?wait=120000",
                                      job_body(work, names, csv, ["yolox_nano"], {"warmup": 1}))
    check(status == 200, "/runsync status %d: %s" % (status, raw[:300]))
    check(doc["status"] == "COMPLETED", "/runsync job status %s" % doc.get("status"))
    api = doc["output"]["results"]["yolox_nano"]["accuracy"]

    # The output names the job's files by their request fields.
    check(b"/tmp/visionbench-job" not in raw, "the output shows the job folder: %s" % raw[:300])
    dataset = doc["output"]["metadata"]["dataset"]
    check(dataset.get("images_dir") == "input.images", "images_dir %r" % dataset.get("images_dir"))
    check(dataset.get("ground_truth") == "input.ground_truth_csv",
          "ground_truth %r" % dataset.get("ground_truth"))

    # The same files through the command line.
    subprocess.run([CLI, "run", "--images", os.path.join(work, "images"), "--gt",
                    os.path.join(work, "gt.csv"), "--model",
                    os.path.join(work, "models", "yolox_nano.onnx"), "--warmup", "1",
                    "--no-progress", "--json", os.path.join(work, "cli.json")],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    cli = json.load(open(os.path.join(work, "cli.json")))["results"]["yolox_nano"]["accuracy"]
    for key in ("map", "map50", "map75", "precision", "recall", "f1"):
        check(api[key] == cli[key], "accuracy %s: API %r, CLI %r" % (key, api[key], cli[key]))
    check(isinstance(doc["delayTime"], int), "delayTime is not an integer")
    check(doc["executionTime"] > 0, "executionTime is %r" % doc["executionTime"])


def case_run_status(server, work):
    status, doc, raw = server.request("POST", "/run", tiny_body(work))
    check(status == 200, "/run status %d: %s" % (status, raw[:300]))
    check(doc["status"] == "IN_QUEUE", "/run returned status %s" % doc.get("status"))
    final = server.wait_final(doc["id"])
    check(final["status"] == "COMPLETED", "job ended %s: %s" % (final["status"],
                                                               final.get("error")))
    check("FastestDet" in final.get("output", {}).get("results", {}),
          "output has no FastestDet result")
    status, doc, _ = server.request("GET", "/status/00000000-0000-4000-8000-000000000000")
    check(status == 404 and doc.get("field") == "id", "unknown id gave %d %r" % (status, doc))
    status, doc, _ = server.request("GET", "/health")
    check(status == 200 and doc["jobs"]["completed"] >= 1, "/health after a job: %r" % doc)


def case_stream(server, work):
    names, csv = car_subset(work, 6)
    status, doc, _ = server.request("POST", "/run", job_body(work, names, csv, ["FastestDet"],
                                                             {"warmup": 1, "repeat": 2}))
    job_id = doc["id"]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    conn.request("GET", "/stream/" + job_id)
    resp = conn.getresponse()
    check(resp.status == 200, "/stream status %d" % resp.status)
    check(resp.getheader("Content-Type", "").startswith("text/event-stream"),
          "/stream content type %s" % resp.getheader("Content-Type"))
    text = resp.read().decode()
    conn.close()

    # Parse the SSE blocks: "event: NAME" and "data: JSON".
    events = []
    for block in text.split("\n\n"):
        name = re.search(r"^event: (\S+)$", block, re.M)
        data = re.search(r"^data: (.*)$", block, re.M)
        if name and data:
            events.append((name.group(1), json.loads(data.group(1))))
    check(len(events) >= 3, "only %d events" % len(events))
    check(events[-1][0] == "result", "last event is %s" % events[-1][0])
    check(events[-1][1].get("status") == "COMPLETED", "result %r" % events[-1][1].get("status"))

    progress = [e for n, e in events if n == "progress"]
    check(all(n == "progress" for n, _ in events[:-1]), "a result event came before the end")

    # Within one phase of one model, done never goes down; the timed pass
    # ("run") of a model comes after its warm-up.
    seen = {}
    order = []
    for e in progress:
        key = (e["model_index"], e["phase"])
        check(e["done"] >= seen.get(key, 0), "done went down in %r" % (key,))
        seen[key] = e["done"]
        if key not in order:
            order.append(key)
    phases = [p for _, p in order]
    check("run" in phases, "no run phase in %r" % phases)
    if "warmup" in phases and "run" in phases:
        check(phases.index("warmup") < phases.index("run"), "warmup after run: %r" % phases)

    # A second stream of the finished job sends its result at once.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", "/stream/" + job_id)
    again = conn.getresponse().read().decode()
    conn.close()
    check("event: result" in again, "stream of a finished job has no result")


def case_cancel(server, work):
    # One worker: the slow job runs, the second waits in the queue.
    status, running, _ = server.request("POST", "/run", slow_body(work))
    check(server.wait_status(running["id"], "IN_PROGRESS"), "slow job never started")
    status, queued, _ = server.request("POST", "/run", tiny_body(work))
    status, doc, _ = server.request("POST", "/cancel/" + queued["id"])
    check(status == 200 and doc["status"] == "CANCELLED", "cancel of a queued job: %r" % doc)
    status, doc, _ = server.request("POST", "/cancel/" + running["id"])
    check(status == 200 and doc["status"] == "CANCELLED", "cancel of a running job: %r" % doc)
    time.sleep(1.5)
    for job in (queued, running):
        doc = server.request("GET", "/status/" + job["id"])[1]
        check(doc["status"] == "CANCELLED", "job %s became %s" % (job["id"], doc["status"]))
    health = server.request("GET", "/health")[1]
    check(health["workers"]["running"] == 0, "a worker still runs: %r" % health)
    check_no_job_folder(running["id"])
    status, doc, _ = server.request("POST", "/retry/" + running["id"])
    check(status == 409, "retry of a cancelled job gave %d" % status)
    # The server goes on: a new job completes.
    status, doc, _ = server.request("POST", "/runsync?wait=60000", tiny_body(work))
    check(doc.get("status") == "COMPLETED", "job after cancels ended %r" % doc.get("status"))


def case_timeout(server, work):
    status, doc, _ = server.request("POST", "/run", slow_body(work))
    final = server.wait_final(doc["id"], timeout=60)
    check(final["status"] == "TIMED_OUT", "slow job ended %s" % final["status"])
    check("timeout" in final.get("error", ""), "error %r" % final.get("error"))
    time.sleep(0.5)
    health = server.request("GET", "/health")[1]
    check(health["workers"]["running"] == 0, "a worker still runs: %r" % health)
    status, doc, _ = server.request("POST", "/retry/" + final["id"])
    check(status == 200 and doc["status"] == "IN_QUEUE", "retry: %d %r" % (status, doc))
    health = server.request("GET", "/health")[1]
    check(health["jobs"]["retried"] == 1, "retried count %r" % health["jobs"])
    final = server.wait_final(final["id"], timeout=60)
    check(final["status"] == "TIMED_OUT", "retried job ended %s" % final["status"])
    check_no_job_folder(final["id"])
    check(final.get("retries") == 1, "retries %r" % final.get("retries"))


def case_concurrent(server, work):
    body = json.dumps(tiny_body(work)).encode()
    ids = []
    errors = []
    lock = threading.Lock()

    def submit():
        try:
            status, doc, raw = server.request("POST", "/run", body,
                                              {"Content-Type": "application/json"})
            with lock:
                if status == 200:
                    ids.append(doc["id"])
                else:
                    errors.append(raw)
        except Exception as e:  # noqa: BLE001 - any client error is a failure to record
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=submit) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "%d submits failed: %r" % (len(errors), errors[:3]))
    check(len(set(ids)) == 50, "%d distinct ids for 50 submits" % len(set(ids)))
    peak = 0
    deadline = time.time() + 150
    pending = set(ids)
    while pending and time.time() < deadline:
        health = server.request("GET", "/health")[1]
        peak = max(peak, health["workers"]["idle"] + health["workers"]["running"])
        for job_id in list(pending):
            doc = server.request("GET", "/status/" + job_id)[1]
            if doc["status"] in ("COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"):
                check(doc["status"] == "COMPLETED", "job %s ended %s: %s" % (
                    job_id, doc["status"], doc.get("error")))
                pending.discard(job_id)
        time.sleep(0.2)
    check(not pending, "%d jobs never reached a final state" % len(pending))
    check(peak <= 2, "%d workers ran with --workers-max 2" % peak)


def case_restart(server, work):
    # A completed job whose result must survive.
    status, done, _ = server.request("POST", "/runsync?wait=60000", tiny_body(work))
    check(done.get("status") == "COMPLETED", "first job ended %r" % done.get("status"))
    # 30 passes keep a job running for seconds even on an idle machine (about
    # 15 ms an image there), so the kill below finds it IN_PROGRESS.
    ids = [server.request("POST", "/run", slow_body(work, 30))[1]["id"] for _ in range(2)]
    ids += [server.request("POST", "/run", tiny_body(work))[1]["id"] for _ in range(3)]
    check(server.wait_status(ids[0], "IN_PROGRESS"), "first slow job never started")
    time.sleep(0.5)
    server.stop(signal.SIGKILL)
    time.sleep(0.5)

    # The workers die with the server; the restarted one recovers the jobs.
    server.extra = ["--workers-max", "2", "--job-timeout", "120"]
    server.start()
    for job_id in ids:
        final = server.wait_final(job_id, timeout=120)
        check(final["status"] in ("COMPLETED", "FAILED"),
              "job %s ended %s after the restart" % (job_id, final["status"]))
        check_no_job_folder(job_id)
    after = server.request("GET", "/status/" + done["id"])[1]
    check(after.get("output") == done.get("output"), "the stored result changed after restart")
    with open(server.log_path) as f:
        requeued = re.findall(r"(\d+) interrupted job\(s\) queued again", f.read())
    check(len(requeued) == 2 and int(requeued[1]) >= 1,
          "the restarted server queued no interrupted job again: %r" % requeued)


def worker_total(server):
    workers = server.request("GET", "/health")[1]["workers"]
    return workers["idle"] + workers["running"]


def wait_workers(server, wanted, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if worker_total(server) == wanted:
            return True
        time.sleep(0.1)
    return False


def case_autoscale(server, work):
    # --workers-min 1 keeps one worker while idle.
    check(wait_workers(server, 1), "%d workers at start, expected 1" % worker_total(server))

    # Queued jobs start a second worker, never a third.
    body = tiny_body(work, {"repeat": 5})
    ids = [server.request("POST", "/run", body)[1]["id"] for _ in range(4)]
    peak = 0
    for job_id in ids:
        while server.request("GET", "/status/" + job_id)[1]["status"] in ("IN_QUEUE",
                                                                        "IN_PROGRESS"):
            peak = max(peak, worker_total(server))
            time.sleep(0.05)
    check(peak == 2, "peak of %d workers, expected 2" % peak)

    # After --idle-timeout 1 the extra worker stops and the minimum stays.
    check(wait_workers(server, 1), "%d workers after idling, expected 1" % worker_total(server))
    time.sleep(1.5)
    check(worker_total(server) == 1, "%d workers later, expected 1" % worker_total(server))


def check_no_job_folder(job_id):
    """A killed worker's job folder is removed when the server reaps it."""
    path = "/tmp/visionbench-job-" + job_id
    deadline = time.time() + 5
    while os.path.exists(path) and time.time() < deadline:
        time.sleep(0.1)
    check(not os.path.exists(path), "job folder %s was left behind" % path)


def post_input(server, field_input):
    return server.request("POST", "/run", {"input": field_input})


def case_bad_requests(server, work):
    names, csv = car_subset(work, 1)
    good = job_body(work, names, csv, ["FastestDet"])["input"]
    image = good["images"][0]

    def expect(status, doc, code, field, what):
        check(status == code, "%s: status %d, expected %d (%r)" % (what, status, code, doc))
        check(doc is not None and isinstance(doc.get("error"), str),
              "%s: no JSON error" % what)
        if doc is not None and field is not None:
            check(doc.get("field") == field, "%s: field %r, expected %r" % (
                what, doc.get("field"), field))

    status, doc, _ = server.request("POST", "/run", b"{\"input\": [", {})
    expect(status, doc, 400, "body", "malformed JSON")
    status, doc, _ = server.request("POST", "/run", {"inputs": good})
    expect(status, doc, 400, "input", "missing input")
    status, doc, _ = post_input(server, dict(good, images="x"))
    expect(status, doc, 400, "input.images", "images not an array")
    status, doc, _ = post_input(server, {k: v for k, v in good.items() if k != "models"})
    expect(status, doc, 400, "input.models", "missing models")
    status, doc, _ = post_input(server, dict(good, models=["../../etc/passwd"]))
    expect(status, doc, 400, "input.models[0]", "model path")
    status, doc, _ = post_input(server, dict(good, models=["no_such_model"]))
    expect(status, doc, 400, "input.models[0]", "unknown model")
    status, doc, _ = post_input(server, dict(good, images=[image, 7]))
    expect(status, doc, 400, "input.images[1]", "image of wrong type")
    status, doc, _ = post_input(server, dict(good, images=[image, "@@not base64@@"]))
    expect(status, doc, 400, "input.images[1]", "invalid base64")
    status, doc, _ = post_input(server, dict(good, images=[{"name": "../x.jpg",
                                                            "data": image["data"]}]))
    expect(status, doc, 400, "input.images[0].name", "image name with a folder")
    status, doc, _ = post_input(server, dict(good, ground_truth_csv=123))
    expect(status, doc, 400, "input.ground_truth_csv", "CSV of wrong type")
    status, doc, _ = post_input(server, dict(good, ground_truth_csv="abc"))
    expect(status, doc, 400, "input.ground_truth_csv", "CSV of invalid base64")
    status, doc, _ = post_input(server, {k: v for k, v in good.items()
                                         if k != "ground_truth_csv"})
    expect(status, doc, 400, "input.ground_truth_csv", "missing ground truth")
    status, doc, _ = post_input(server, dict(good, options={"conf": "high"}))
    expect(status, doc, 400, "input.options.conf", "conf of wrong type")
    status, doc, _ = post_input(server, dict(good, options={"repeat": 0}))
    expect(status, doc, 400, "input.options.repeat", "repeat out of range")
    status, doc, _ = post_input(server, dict(good, options={"classes": ["/etc/passwd"]}))
    expect(status, doc, 400, "input.options.classes", "classes with a path")
    status, doc, _ = post_input(server, dict(good, options={"json": "/tmp/x"}))
    expect(status, doc, 400, "input.options.json", "unknown option")
    status, doc, _ = server.request("POST", "/runsync?wait=abc", {"input": good})
    expect(status, doc, 400, "wait", "bad wait")
    status, doc, _ = server.request("POST", "/runsync?wait=999999", {"input": good})
    expect(status, doc, 400, "wait", "wait above the maximum")
    status, doc, _ = server.request("GET", "/nowhere")
    expect(status, doc, 404, "path", "unknown route")
    for method, path, allow in [("GET", "/run", "POST"), ("POST", "/health", "GET"),
                                ("DELETE", "/status/x", "GET"), ("GET", "/cancel/x", "POST")]:
        status, doc, _ = server.request(method, path)
        expect(status, doc, 405, "method", "%s %s" % (method, path))
        check(server.last_headers.get("Allow") == allow,
              "%s %s: Allow %r, expected %r" % (method, path, server.last_headers.get("Allow"),
                                                allow))

    # Every broken file of the bad-inputs set, sent through the API.
    broken_images = ["truncated.jpg", "zero_bytes.jpg", "text_named.jpg", "bad_crc.png",
                     "bad_crc_ihdr.png"]
    for name in broken_images:
        data = read(os.path.join(BAD, "images", name))
        status, doc, _ = post_input(server, dict(good, images=[image, {
            "name": name, "data": b64(data)}]))
        expect(status, doc, 400, "input.images[1].data", "bad image " + name)
        if doc is not None and isinstance(doc.get("error"), str):
            check(doc["error"].count("input.images[1]") == 1,
                  "bad image %s: the field is named once: %r" % (name, doc["error"]))
    truncated = b64(read(os.path.join(BAD, "images", "truncated.jpg")))
    status, doc, _ = post_input(server, dict(good, images=[image, truncated]))
    expect(status, doc, 400, "input.images[1]", "bad bare image")
    if doc is not None and isinstance(doc.get("error"), str):
        check(doc["error"].startswith("input.images[1]: ") and
              doc["error"].count("input.images[1]") == 1,
              "bad bare image: the field is named once: %r" % doc["error"])
    broken_csvs = ["empty.csv", "missing_header.csv", "nan.csv", "latin1.csv", "utf16.csv",
                   "xmin_gt_xmax.csv"]
    for name in broken_csvs:
        data = read(os.path.join(BAD, "csv", name))
        status, doc, _ = post_input(server, dict(good, ground_truth_csv=b64(data)))
        expect(status, doc, 400, "input.ground_truth_csv", "bad CSV " + name)
    broken_coco = ["truncated.json", "negative_wh.json", "unknown_image_id.json",
                   "duplicate_image_ids.json", "short_bbox.json", "detections_list_not_gt.json"]
    no_csv = {k: v for k, v in good.items() if k != "ground_truth_csv"}
    for name in broken_coco:
        data = read(os.path.join(BAD, "coco", name))
        status, doc, _ = post_input(server, dict(no_csv, ground_truth_coco=b64(data)))
        expect(status, doc, 400, "input.ground_truth_coco", "bad COCO " + name)

    # Too large: the server runs with --max-body-mb 1.
    big = {"input": dict(good, images=[image, {"name": "big.jpg",
                                               "data": "A" * (2 << 20)}])}
    status, doc = server.raw_post("/run", json.dumps(big).encode())
    expect(status, doc, 413, "body", "oversized body")
    status, doc = server.raw_post("/run", json.dumps(big).encode(), chunked=True)
    expect(status, doc, 413, "body", "oversized chunked body")
    status, doc, _ = post_input(server, dict(good, models=["FastestDet"] * 9))
    expect(status, doc, 400, "input.models", "too many models")

    # Authentication: the key is required and compared.
    status, doc, _ = server.request("GET", "/health", headers={"Authorization": "Bearer wrong"})
    expect(status, doc, 401, "Authorization", "wrong key")
    status, doc, _ = server.request("GET", "/health", headers={"Authorization": ""})
    expect(status, doc, 401, "Authorization", "missing key")

    # The server still serves, and a good job still completes.
    status, doc, _ = server.request("GET", "/health")
    check(status == 200, "/health after bad requests: %d" % status)
    status, doc, _ = server.request("POST", "/runsync?wait=60000", {"input": good})
    check(doc.get("status") == "COMPLETED", "good job after bad requests: %r" % doc.get("status"))

    # A non-loopback address without a key is rejected at start.
    result = subprocess.run([CLI, "serve", "--listen", "0.0.0.0:0", "--models-dir",
                             os.path.join(work, "models"), "--db", server.db],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    check(result.returncode == 2, "non-loopback without a key exited %d" % result.returncode)
    check(b"api-key-file" in result.stderr, "message %r" % result.stderr)

    # A missing models folder is rejected at start, naming the folder.
    missing = os.path.join(work, "no-such-models")
    result = subprocess.run([CLI, "serve", "--listen", "127.0.0.1:0", "--models-dir", missing,
                             "--db", server.db],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    check(result.returncode == 2, "missing --models-dir exited %d" % result.returncode)
    check(missing.encode() in result.stderr, "message %r" % result.stderr)


CASES = {
    "runsync_accuracy": (case_runsync_accuracy, []),
    "run_status": (case_run_status, []),
    "stream": (case_stream, []),
    "cancel": (case_cancel, ["--workers-max", "1"]),
    "timeout": (case_timeout, ["--job-timeout", "2", "--workers-max", "1"]),
    "concurrent": (case_concurrent, ["--workers-max", "2"]),
    "autoscale": (case_autoscale, ["--workers-min", "1", "--workers-max", "2",
                                   "--idle-timeout", "1"]),
    "restart": (case_restart, ["--workers-max", "2", "--job-timeout", "120"]),
    "bad_requests": (case_bad_requests, ["--max-body-mb", "1"]),
}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in CASES:
        print("usage: test_server.py CASE [sqlite|postgres]; cases: " + ", ".join(CASES))
        return 2
    name = sys.argv[1]
    backend = sys.argv[2] if len(sys.argv) > 2 else "sqlite"
    if not SHARED or not os.path.isdir(CARS) or not os.path.isdir(MODELS):
        print("skipped: shared data folder not found (set VB_SHARED_DIR; got %r)" % SHARED)
        return SKIP
    if not CLI:
        print("VB_CLI is not set")
        return 1

    db = os.environ.get("VB_TEST_POSTGRES_URL", "") if backend == "postgres" else ""
    if backend == "postgres" and not db:
        print("skipped: VB_TEST_POSTGRES_URL is not set")
        return SKIP
    work = tempfile.mkdtemp(prefix="vb-server-%s-" % name)
    os.makedirs(os.path.join(work, "models"))
    for model in ("yolox_nano", "FastestDet"):
        os.symlink(os.path.join(MODELS, model + ".onnx"),
                   os.path.join(work, "models", model + ".onnx"))
    if backend != "postgres":
        db = "sqlite:" + os.path.join(work, "jobs.db")

    fn, extra = CASES[name]
    key = None
    if name == "bad_requests":
        key = "test-key-0123456789abcdef"
        with open(os.path.join(work, "key"), "w") as f:
            f.write(key + "\n")
        extra = extra + ["--api-key-file", os.path.join(work, "key")]
    server = Server(work, db, extra, key)
    try:
        server.start()
        fn(server, work)
    except Exception as e:  # noqa: BLE001 - report any error as a failure with the log
        failures.append(repr(e))
        print("FAIL: %r" % e)
    finally:
        server.stop()
        # Sanitizer builds report into the log of the server and its workers.
        with open(server.log_path, errors="replace") as f:
            log = f.read()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            check(marker not in log, "the server log contains a sanitizer report: " + marker)
        if failures:
            print("---- server log ----")
            print(open(server.log_path, errors="replace").read()[-6000:])
        shutil.rmtree(work, ignore_errors=True)
    print("%s: %d failure(s)" % (name, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
