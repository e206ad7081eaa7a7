#!/usr/bin/python3
# test/lib/httpd.py — a small real HTTP server for the job engine's tests (run it with Debian's
# /usr/bin/python3; it needs nothing outside the standard library).
#
#   /usr/bin/python3 test/lib/httpd.py PORT_FILE [LOG_FILE]
#
# Listens on 127.0.0.1, on a port the system picks, and writes that port to PORT_FILE (written
# to a temporary name and renamed, so a reader never sees half of it).  Logs one line per
# request to LOG_FILE (default: stderr), never to the network.  Exits on SIGTERM or SIGINT.
#
#   GET /file/<n>/<seed>      n bytes of a deterministic pattern, with Content-Length: the
#                             concatenation of SHA-256(seed ":" i) for i = 0, 1, 2 ... cut to n
#                             bytes (in Perl: Digest::SHA::sha256("$seed:$i")).  Optional
#                             ?delay_ms=D pauses D ms before each 16 KiB chunk of the body, so
#                             that a batch of downloads takes a while.
#   GET /sha256/<n>/<seed>    the hex SHA-256 of what /file/<n>/<seed> sends, as text.
#   GET /slow/<n>             Content-Length n, then 1 KiB of zeros every 100 ms.
#   GET /flaky/<key>/<n>      503 to the first two requests for a key, then as /file/<n>/<key>.
#   GET /hits/<key>           how often /flaky/<key>/... was asked, and when (epoch seconds):
#                             "<count> <first> <last>" (for the tests' timing of retries).
#   GET /status/<code>        that status with a short text body.
#   GET /redirect?to=<url>    302 to the (percent-encoded) url.
#   GET /counted/<key>        "ok", counting the requests for key; /hits/<key> reads the count.
#   anything else             404.
import hashlib
import http.server
import os
import signal
import sys
import threading
import urllib.parse
import time

CHUNK = 16384


def pattern(n, seed):
    """The first n bytes of SHA-256(seed:0) SHA-256(seed:1) ..."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(("%s:%d" % (seed, i)).encode()).digest()
        i += 1
    return bytes(out[:n])


class State:
    lock = threading.Lock()
    flaky = {}  # key -> [count, first time, last time]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pg_mlops-test-httpd/1"

    def log_message(self, fmt, *args):
        log.write("%.3f %s %s\n" % (time.time(), self.address_string(), fmt % args))
        log.flush()

    def send_body(self, code, body, ctype="text/plain", delay_ms=0):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        for off in range(0, len(body), CHUNK):
            if delay_ms:
                time.sleep(delay_ms / 1000.0)
            self.wfile.write(body[off:off + CHUNK])
            self.wfile.flush()

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError):
            # the client went away (a cancelled download): nothing to answer
            self.close_connection = True
            self.log_message("client closed the connection during %s", self.path)

    def route(self):
        path, _, query = self.path.partition("?")
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        parts = path.strip("/").split("/")
        try:
            delay_ms = int(params.get("delay_ms", "0"))
            if parts[0] == "file" and len(parts) == 3:
                self.send_body(200, pattern(int(parts[1]), parts[2]), "application/octet-stream",
                               delay_ms)
            elif parts[0] == "sha256" and len(parts) == 3:
                self.send_body(200, hashlib.sha256(pattern(int(parts[1]), parts[2])).hexdigest().encode())
            elif parts[0] == "slow" and len(parts) == 2:
                self.slow(int(parts[1]))
            elif parts[0] == "flaky" and len(parts) == 3:
                key, n = parts[1], int(parts[2])
                now = time.time()
                with State.lock:
                    hit = State.flaky.setdefault(key, [0, now, now])
                    hit[0] += 1
                    hit[2] = now
                    count = hit[0]
                if count <= 2:
                    self.send_body(503, b"service unavailable, try again\n")
                else:
                    self.send_body(200, pattern(n, key), "application/octet-stream", delay_ms)
            elif parts[0] == "hits" and len(parts) == 2:
                with State.lock:
                    hit = State.flaky.get(parts[1], [0, 0.0, 0.0])
                    text = "%d %.6f %.6f" % tuple(hit)
                self.send_body(200, text.encode())
            elif parts[0] == "redirect" and "to" in params:
                self.send_response(302)
                self.send_header("Location", urllib.parse.unquote(params["to"]))
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts[0] == "counted" and len(parts) == 2:
                now = time.time()
                with State.lock:
                    hit = State.flaky.setdefault(parts[1], [0, now, now])
                    hit[0] += 1
                    hit[2] = now
                self.send_body(200, b"ok\n")
            elif parts[0] == "status" and len(parts) == 2:
                code = int(parts[1])
                self.send_body(code, ("status %d\n" % code).encode())
            else:
                self.send_body(404, b"not found\n")
        except ValueError:
            self.send_body(404, b"not found\n")

    def slow(self, n):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        sent = 0
        block = b"\0" * 1024
        while sent < n:
            part = block[:min(1024, n - sent)]
            self.wfile.write(part)
            self.wfile.flush()
            sent += len(part)
            if sent < n:
                time.sleep(0.1)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        log.write("%.3f error serving %s: %r\n" % (time.time(), client_address, sys.exc_info()[1]))
        log.flush()


def main():
    global log
    if len(sys.argv) not in (2, 3):
        sys.stderr.write("usage: httpd.py PORT_FILE [LOG_FILE]\n")
        return 2
    log = open(sys.argv[2], "a") if len(sys.argv) == 3 else sys.stderr
    server = Server(("127.0.0.1", 0), Handler)

    def stop(signum, frame):
        log.write("%.3f stopping on signal %d\n" % (time.time(), signum))
        log.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, sys.argv[1])
    log.write("%.3f listening on 127.0.0.1:%d, pid %d\n" % (time.time(), server.server_address[1], os.getpid()))
    log.flush()
    server.serve_forever()
    return 0


log = sys.stderr

if __name__ == "__main__":
    sys.exit(main())
