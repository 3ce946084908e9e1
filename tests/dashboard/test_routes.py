#!/usr/bin/env python3
"""Checks the dashboard's routes of `visionbench serve` over HTTP on loopback: the
assets from VB_WEB_DIR, the page shown when the dashboard is not built, and the
parameter checks and API key of GET /runs and GET /runs/{id}. Needs no browser
and no shared data. VB_CLI names the visionbench executable."""
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

CLI = os.environ.get("VB_CLI")
KEY = "dashboard-test-key"
FAILURES = []


def check(condition, description):
    if not condition:
        FAILURES.append(description)
        print("FAIL: " + description)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, key=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": "Bearer " + key} if key else {}
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), body


def start_server(tmp, web_dir, port):
    key_file = os.path.join(tmp, "key")
    with open(key_file, "w") as f:
        f.write(KEY + "\n")
    models = os.path.join(tmp, "models")
    os.makedirs(models, exist_ok=True)
    env = dict(os.environ, VB_WEB_DIR=web_dir)
    log = open(os.path.join(tmp, "server-%d.log" % port), "w")
    proc = subprocess.Popen([CLI, "serve", "--listen", "127.0.0.1:%d" % port,
                             "--db", "sqlite:" + os.path.join(tmp, "db-%d.sqlite" % port),
                             "--models-dir", models, "--api-key-file", key_file],
                            env=env, stdout=log, stderr=log)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            request(port, "GET", "/health", KEY)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("the server did not start; see " + log.name)


def check_assets(port, index_html):
    status, headers, body = request(port, "GET", "/")
    check(status == 200, "GET / without a key is 200, got %d" % status)
    check(body == index_html, "GET / returns index.html")
    check(headers.get("Content-Type", "").startswith("text/html"), "GET / is text/html")
    check("default-src 'self'" in headers.get("Content-Security-Policy", ""),
          "GET / sends a same-origin Content-Security-Policy")
    status, headers, _ = request(port, "GET", "/assets/app.js")
    check(status == 200, "GET /assets/app.js is 200, got %d" % status)
    check(headers.get("Content-Type", "").startswith("text/javascript"), "app.js is text/javascript")
    status, headers, _ = request(port, "GET", "/assets/vendor/lib.css")
    check(status == 200 and headers.get("Content-Type", "").startswith("text/css"),
          "a nested asset is served as text/css")
    status, _, _ = request(port, "HEAD", "/index.html")
    check(status == 200, "HEAD /index.html is 200, got %d" % status)
    for path in ["/assets/../secret.txt", "/assets/.hidden", "/assets/a//b.js", "/assets/a%20b.js",
                 "/assets/"]:
        status, _, _ = request(port, "GET", path)
        check(status == 400, "GET %s is 400, got %d" % (path, status))
    status, _, _ = request(port, "GET", "/assets/missing.js")
    check(status == 404, "a missing asset is 404, got %d" % status)
    status, headers, _ = request(port, "POST", "/")
    check(status == 405, "POST / is 405, got %d" % status)
    check(headers.get("Allow") == "GET, HEAD", "POST / sends Allow: GET, HEAD: %r" % headers)


def check_history(port):
    status, _, _ = request(port, "GET", "/runs")
    check(status == 401, "GET /runs without the key is 401, got %d" % status)
    status, _, body = request(port, "GET", "/runs", KEY)
    check(status == 200 and json.loads(body) == {"runs": []}, "GET /runs lists no runs: %r" % body)
    status, _, body = request(port, "GET", "/runs?detail=1&limit=500", KEY)
    check(status == 200, "GET /runs?detail=1 is 200, got %d" % status)
    cases = [("/runs?limit=0", "limit"), ("/runs?limit=abc", "limit"),
             ("/runs?limit=10001", "limit"), ("/runs?detail=1&limit=501", "limit"),
             ("/runs?model=a/b", "model"), ("/runs?dataset=abc", "dataset"),
             ("/runs/not-a-uuid", "id")]
    for path, field in cases:
        status, _, body = request(port, "GET", path, KEY)
        error = json.loads(body) if body.startswith(b"{") else {}
        check(status == 400, "GET %s is 400, got %d" % (path, status))
        check(error.get("field") == field, "GET %s names the field %s: %r" % (path, field, body))
    status, _, body = request(port, "GET", "/runs/00000000-0000-4000-8000-000000000000", KEY)
    check(status == 404, "an unknown run is 404, got %d" % status)
    status, headers, _ = request(port, "POST", "/runs", KEY)
    check(status == 405, "POST /runs is 405, got %d" % status)
    check(headers.get("Allow") == "GET, HEAD", "POST /runs sends Allow: GET, HEAD: %r" % headers)


def check_not_built(port):
    status, headers, body = request(port, "GET", "/")
    check(status == 404, "GET / without a built dashboard is 404, got %d" % status)
    check(b"Dashboard not built" in body, "the page says the dashboard is not built")
    check(b"--target dashboard" in body and b"web/build.sh" in body, "the page says how to build it")
    status, _, body = request(port, "GET", "/health", KEY)
    check(status == 200, "the API works without the dashboard, /health is %d" % status)


def main():
    if not CLI or not os.path.exists(CLI):
        print("SKIP: VB_CLI does not name the visionbench executable")
        return 77
    with tempfile.TemporaryDirectory(prefix="vb-dashboard-routes-") as tmp:
        web = os.path.join(tmp, "web")
        os.makedirs(os.path.join(web, "assets", "vendor"))
        index_html = b"<!doctype html><title>test dashboard</title>\n"
        with open(os.path.join(web, "index.html"), "wb") as f:
            f.write(index_html)
        with open(os.path.join(web, "assets", "app.js"), "w") as f:
            f.write("console.log('app');\n")
        with open(os.path.join(web, "assets", "vendor", "lib.css"), "w") as f:
            f.write("body {}\n")
        with open(os.path.join(tmp, "secret.txt"), "w") as f:
            f.write("outside the web folder\n")

        servers = []
        try:
            port = free_port()
            servers.append(start_server(tmp, web, port))
            check_assets(port, index_html)
            check_history(port)
            port = free_port()
            servers.append(start_server(tmp, os.path.join(tmp, "not-built"), port))
            check_not_built(port)
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(timeout=20)
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES))
        return 1
    print("PASS dashboard routes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
