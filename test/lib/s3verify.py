#!/usr/bin/python3
# test/lib/s3verify.py — an S3 endpoint for the tests that verifies AWS Signature Version 4: a
# small proxy in front of s3rver (which does not check V4 signatures).  Every request's
# signature is recomputed with botocore's signer (Debian's python3-botocore) from the raw
# method, path, query, signed headers and payload hash, as S3 does; a request that fails gets
# S3's error (XML, the status S3 gives) and never reaches s3rver; a valid one is forwarded to
# s3rver without its Authorization header (s3rver knows only its own key) and s3rver's answer is
# relayed.  Listens on 127.0.0.1 only; run by test/lib/s3verify.sh, stopped by PID.
#
#   /usr/bin/python3 test/lib/s3verify.py --upstream URL --keys FILE --port-file FILE
#                    [--log FILE] [--region us-east-1] [--service s3]
#
# FILE of --keys: one "ACCESS_KEY SECRET_KEY" pair a line (not on the command line: ps shows
# that).  Checks, in S3's order, with S3's codes:
#   no Authorization header, or not AWS4-HMAC-SHA256   403 AccessDenied
#   a malformed Authorization header                   400 AuthorizationHeaderMalformed
#   an access key not in FILE                          403 InvalidAccessKeyId
#   a scope whose region is not --region               400 AuthorizationHeaderMalformed
#   a scope whose service is not --service             400 AuthorizationHeaderMalformed
#   no x-amz-date, or a scope of another day           403 AccessDenied / 400 AuthorizationHeaderMalformed
#   x-amz-date more than 15 minutes off                403 RequestTimeTooSkewed
#   no x-amz-content-sha256                            400 InvalidRequest
#   host or an x-amz-* header present but not signed   403 AccessDenied
#   a signed header missing from the request           403 SignatureDoesNotMatch
#   a signature that is not the one recomputed         403 SignatureDoesNotMatch
#   a body whose SHA-256 is not x-amz-content-sha256   400 XAmzContentSHA256Mismatch
# The canonical URI and query are made as S3 makes them: the path and each query name and value
# percent-decoded, then encoded again (RFC 3986 unreserved characters kept, "/" kept in the
# path); so a client that signs a path it did not encode (a space, "+", "=") fails, as on S3.
# The log (one line a request: method, path, status, code) never holds a secret.
import argparse
import datetime
import hashlib
import hmac
import http.client
import http.server
import os
import socketserver
import sys
import threading
import urllib.parse
import uuid
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "transfer-encoding", "upgrade", "expect"}


class S3Error(Exception):
    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


class RawHeadersSigner(S3SigV4Auth):
    """botocore's S3 signer, told which headers were signed (the request's SignedHeaders)."""

    def __init__(self, credentials, service, region, signed, raw_headers):
        super().__init__(credentials, service, region)
        self._signed = signed
        self._raw = raw_headers

    def headers_to_sign(self, request):
        m = HTTPHeaders()
        for name in self._signed:
            values = self._raw.get_all(name) or []
            if not values:
                raise S3Error(403, "SignatureDoesNotMatch",
                              "The request signature we calculated does not match the signature you "
                              "provided. Check your key and signing method.",
                              Detail=f"signed header {name} is not in the request")
            for v in values:
                m[name] = v
        return m


def s3_quote(s, safe):
    return urllib.parse.quote(s, safe=safe)  # keeps A-Za-z0-9 - . _ ~ and safe


def canonical_target(raw_target):
    """S3's canonical URI and query string of the request target, as S3 computes them."""
    path, _, query = raw_target.partition("?")
    cpath = s3_quote(urllib.parse.unquote(path, errors="strict"), "/")
    pairs = []
    if query:
        for pair in query.split("&"):
            k, _, v = pair.partition("=")
            pairs.append((s3_quote(urllib.parse.unquote(k), ""), s3_quote(urllib.parse.unquote(v), "")))
    cquery = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    return cpath, cquery


def parse_authorization(value):
    scheme, _, rest = value.partition(" ")
    if scheme != "AWS4-HMAC-SHA256":
        raise S3Error(403, "AccessDenied", "Only AWS4-HMAC-SHA256 signatures are accepted here.")
    parts = {}
    for item in rest.split(","):
        k, sep, v = item.strip().partition("=")
        if not sep:
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          "The authorization header is malformed; the authorization component "
                          f"\"{item.strip()}\" is malformed.")
        parts[k] = v
    for k in ("Credential", "SignedHeaders", "Signature"):
        if k not in parts:
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          f"The authorization header is malformed; it has no {k}.")
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise S3Error(400, "AuthorizationHeaderMalformed",
                      "The authorization header is malformed; the Credential is mal-formed; "
                      "expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
    return scope, parts["SignedHeaders"].split(";"), parts["Signature"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "s3verify"

    def log_message(self, fmt, *args):  # no default stderr lines: our own log below
        pass

    def _log(self, status, code):
        line = f"{self.command} {self.path} {status} {code}\n"
        with self.server.log_lock:
            self.server.log.write(line)
            self.server.log.flush()

    def _send_error(self, e):
        body = ['<?xml version="1.0" encoding="UTF-8"?>', "<Error>",
                f"<Code>{escape(e.code)}</Code>", f"<Message>{escape(e.message)}</Message>"]
        for k, v in e.extra.items():
            body.append(f"<{k}>{escape(str(v))}</{k}>")
        body.append(f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>")
        data = "".join(body).encode()
        self.send_response(e.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self._log(e.status, e.code)

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        n = int(self.headers.get("Content-Length") or 0)
        chunks = []
        while n > 0:
            c = self.rfile.read(min(n, 1 << 20))
            if not c:
                break
            chunks.append(c)
            n -= len(c)
        return b"".join(chunks)

    def _verify(self, body):
        srv = self.server
        auth = self.headers.get("Authorization")
        if auth is None:
            raise S3Error(403, "AccessDenied", "Access Denied (this endpoint takes signed requests only)")
        scope, signed, signature = parse_authorization(auth)
        access_key, day, region, service, _ = scope
        secret = srv.keys.get(access_key)
        if secret is None:
            raise S3Error(403, "InvalidAccessKeyId",
                          "The AWS Access Key Id you provided does not exist in our records.",
                          AWSAccessKeyId=access_key)
        if region != srv.region:
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          f"The authorization header is malformed; the region '{region}' is wrong; "
                          f"expecting '{srv.region}'", Region=srv.region)
        if service != srv.service:
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          f"The authorization header is malformed; incorrect service \"{service}\". "
                          f"This endpoint belongs to \"{srv.service}\".")
        amz_date = self.headers.get("x-amz-date")
        if amz_date is None:
            raise S3Error(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise S3Error(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
        if day != amz_date[:8]:
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          f"The authorization header is malformed; Invalid credential date \"{day}\". "
                          "This date is not the same as X-Amz-Date: \"" + amz_date[:8] + "\".")
        now = datetime.datetime.now(datetime.timezone.utc)
        if abs((now - when).total_seconds()) > 15 * 60:
            raise S3Error(403, "RequestTimeTooSkewed",
                          "The difference between the request time and the current time is too large.")
        payload = self.headers.get("x-amz-content-sha256")
        if payload is None:
            raise S3Error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        present = {k.lower() for k in self.headers.keys()}
        unsigned = sorted(h for h in present if (h.startswith("x-amz-") or h == "host") and h not in signed)
        if unsigned:
            raise S3Error(403, "AccessDenied", "There were headers present in the request which were not signed",
                          HeadersNotSigned=", ".join(unsigned))
        if signed != sorted(signed):
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          "The authorization header is malformed; SignedHeaders are not sorted.")

        cpath, cquery = canonical_target(self.path)
        request = AWSRequest(method=self.command, url="http://verifier" + cpath + ("?" + cquery if cquery else ""))
        request.headers["X-Amz-Content-SHA256"] = payload
        request.context["timestamp"] = amz_date
        signer = RawHeadersSigner(Credentials(access_key, secret), srv.service, srv.region, signed, self.headers)
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        expected = signer.signature(string_to_sign, request)
        if not hmac.compare_digest(expected, signature):
            raise S3Error(403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you provided. "
                          "Check your key and signing method.",
                          AWSAccessKeyId=access_key, StringToSign=string_to_sign,
                          SignatureProvided=signature, CanonicalRequest=canonical)
        if payload not in ("UNSIGNED-PAYLOAD",) and hashlib.sha256(body).hexdigest() != payload.lower():
            raise S3Error(400, "XAmzContentSHA256Mismatch",
                          "The provided 'x-amz-content-sha256' header does not match what was computed.",
                          ClientComputedContentSHA256=payload,
                          S3ComputedContentSHA256=hashlib.sha256(body).hexdigest())

    def _forward(self, body):
        u = self.server.upstream
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in HOP_BY_HOP and k.lower() not in ("authorization", "content-length")}
        headers["Content-Length"] = str(len(body))
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        length = resp.getheader("Content-Length")
        self.send_header("Content-Length", length if self.command == "HEAD" and length else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self._log(resp.status, "forwarded")

    def _handle(self):
        try:
            body = self._read_body()
            self._verify(body)
        except S3Error as e:
            self._send_error(e)
            return
        self._forward(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_MKCOL = _handle


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--service", default="s3")
    a = ap.parse_args()
    keys = {}
    with open(a.keys) as f:
        for line in f:
            if line.strip():
                k, s = line.split()
                keys[k] = s
    srv = Server(("127.0.0.1", 0), Handler)
    srv.keys = keys
    srv.region = a.region
    srv.service = a.service
    srv.upstream = urllib.parse.urlsplit(a.upstream)
    srv.log = open(a.log, "a")
    srv.log_lock = threading.Lock()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
