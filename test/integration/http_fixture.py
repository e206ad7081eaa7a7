#!/usr/bin/env python3
"""http_fixture.py LOG -- a local JSON API for test/integration/http_kinds.sh.

Listens on 127.0.0.1 (a free port, printed as "port N" on stdout) and appends every request
it gets to LOG as one JSON line: time (epoch seconds), method, path, headers, body.

  POST /api/runs                 {"id": <body.model>, "status": "queued"}
  PUT  <any>                      {"got": <the body as text>, "content_type": ...}
  GET  /api/runs/<id>            the first poll of every run answers 429 with Retry-After: 1;
                                 then "running" for 3 polls; then "done" with an output, or,
                                 for id "bad", "failed" with error "model exploded"; id "slow"
                                 runs forever
  GET  /api/big                  a JSON answer of about 2 MB
  GET  /api/text                 a plain-text answer
  GET  /api/away                 302 to http://192.0.2.1/ (outside mlops.allowed_hosts)
  GET  /reverse?lat=..&lon=..    Nominatim's reverse geocoding (format=jsonv2): a display_name
                                 and an address made of the coordinates; lat 13.13 answers 429
                                 with Retry-After: 2 the first time it is asked
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOG = sys.argv[1]
lock = threading.Lock()
polls = {}
throttled = set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, body):
        entry = {"time": time.time(), "method": self.command, "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": body.decode("utf-8", "replace")}
        with lock, open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def answer(self, status, obj=None, headers=None, raw=None, ctype="application/json"):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.record(body)
        if self.path == "/api/runs":
            model = json.loads(body or b"{}").get("model", "run")
            return self.answer(200, {"id": model, "status": "queued"})
        self.answer(404, {"error": "no such endpoint"})

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.record(body)
        self.answer(200, {"got": body.decode(), "content_type": self.headers.get("Content-Type")})

    def do_GET(self):
        self.record(b"")
        url = urlparse(self.path)
        if url.path.startswith("/api/runs/"):
            rid = url.path.rsplit("/", 1)[1]
            with lock:
                n = polls.get(rid, 0) + 1
                polls[rid] = n
            if n == 1:
                return self.answer(429, {"error": "slow down"}, {"Retry-After": "1"})
            if rid == "slow" or n <= 4:
                return self.answer(200, {"id": rid, "status": "running", "poll": n})
            if rid == "bad":
                return self.answer(200, {"id": rid, "status": "failed", "error": "model exploded"})
            return self.answer(200, {"id": rid, "status": "done", "output": {"sites": 3}, "poll": n})
        if url.path == "/api/big":
            return self.answer(200, {"pad": "x" * 2_000_000})
        if url.path == "/api/text":
            return self.answer(200, raw=b"plain words", ctype="text/plain")
        if url.path == "/api/away":
            return self.answer(302, {}, {"Location": "http://192.0.2.1/api/runs"})
        if url.path == "/reverse":
            q = parse_qs(url.query)
            lat, lon = q["lat"][0], q["lon"][0]
            with lock:
                first = float(lat) == 13.13 and lat not in throttled
                throttled.add(lat)
            if first:
                return self.answer(429, {"error": "Too Many Requests"}, {"Retry-After": "2"})
            return self.answer(200, {"place_id": 1, "lat": lat, "lon": lon,
                                     "display_name": f"Place at {lat}, {lon}",
                                     "address": {"road": f"Road {lat}", "country": "Testland"}})
        self.answer(404, {"error": "no such endpoint"})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
