"""The local stack's limits layer on the wire: an HTTP proxy on 127.0.0.1 in front of moto server (or any endpoint
that speaks the AWS APIs). DynamoDB requests meet `local.aws_limits.AwsLimits` (the rules, in that one file); every
other request (S3, SQS, Secrets Manager, moto's own API) passes through untouched, bodies streamed. Requests go to the
upstream over keep-alive connections shared by the proxy's threads, so the layer stays cheap in every test.
"""

from __future__ import annotations

import json
import queue
import shutil
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.client import HTTPConnection, HTTPResponse, HTTPSConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from typing import Any
from urllib.parse import urlsplit

from local.aws_limits import AwsLimits, Json

TARGET = "DynamoDB_20120810."

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
}


class _Pool:
    """Keep-alive connections to the upstream, shared by the proxy's threads."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        kind = HTTPSConnection if parts.scheme == "https" else HTTPConnection
        self._connect = partial(kind, parts.hostname or "127.0.0.1", parts.port, timeout=600, blocksize=65536)
        self._idle: queue.LifoQueue[HTTPConnection] = queue.LifoQueue()

    @contextmanager
    def exchange(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Iterator[HTTPResponse]:
        """Send one request; yield the answer (read it), then keep the connection for the next."""
        try:
            connection, reused = self._idle.get_nowait(), True
        except queue.Empty:
            connection, reused = self._connect(), False
        try:
            connection.request(method, path, body, headers)
            answer = connection.getresponse()
        except ConnectionError:  # an idle connection the upstream closed: once more on a fresh one, if we can
            connection.close()
            if not reused or not isinstance(body, bytes | None):
                raise
            connection = self._connect()
            connection.request(method, path, body, headers)
            answer = connection.getresponse()
        try:
            yield answer
            answer.read()  # whatever is left (a HEAD answer's nothing), so the connection can be used again
        except BaseException:
            connection.close()
            raise
        if answer.will_close:
            connection.close()
        else:
            self._idle.put(connection)


class _UpstreamStore:
    """Store asked of the upstream directly; key schemas are cached by the server."""

    def __init__(self, server: _Server, authorization: str) -> None:
        self._server, self._authorization = server, authorization

    def hash_keys(self, table: str) -> dict[str, str]:
        known = self._server.schemas.get(table)
        if known is None:
            described = self._call("DescribeTable", {"TableName": table}).get("Table", {})
            indexes = described.get("GlobalSecondaryIndexes", []) + described.get("LocalSecondaryIndexes", [])
            if not described:
                return {}  # no such table (yet): the upstream will say so
            known = {"": _hash_of(described["KeySchema"])}
            known.update({index["IndexName"]: _hash_of(index["KeySchema"]) for index in indexes})
            self._server.schemas[table] = known
        return known

    def stored_item(self, table: str, key: Json) -> Json | None:
        item: Json | None = self._call("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}).get("Item")
        return item

    def _call(self, op: str, request: Json) -> Json:
        body = json.dumps(request).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TARGET + op}
        headers |= {"Content-Length": str(len(body))} | (
            {"Authorization": self._authorization} if self._authorization else {}
        )
        with self._server.pool.exchange("POST", "/", body, headers) as answer:
            data = answer.read()
        return json.loads(data) if answer.status == 200 else {}


def _hash_of(schema: list[Json]) -> str:
    return str(next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, upstream: str, limits: AwsLimits) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pool, self.limits = _Pool(upstream), limits
        self.schemas: dict[str, dict[str, str]] = {}

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a process killed, a keep-alive connection reset) is no error of the proxy's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Limited:
    """The first `left` bytes of a stream (a request body, streamed to the upstream)."""

    def __init__(self, stream: BufferedIOBase, left: int) -> None:
        self._stream, self._left = stream, left

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._stream.read(size) if size else b""
        self._left -= len(data)
        return data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # a header write then a body write must not wait for a delayed ACK
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a line per request would swamp the output."""

    def relay(self) -> None:
        """DynamoDB requests meet the limits; every other request goes through as it is."""
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith(TARGET):
            self._dynamodb(target.removeprefix(TARGET))
            return
        body = self._body()
        with self.server.pool.exchange(self.command, self.path, body, self._headers(body)) as answer:
            self._send(answer)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = relay  # noqa: N815 - http.server's names

    def _dynamodb(self, op: str) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = json.loads(raw or b"{}")
        if op in ("CreateTable", "DeleteTable", "UpdateTable"):
            self.server.schemas.pop(request.get("TableName", ""), None)
        store = _UpstreamStore(self.server, self.headers.get("Authorization", ""))
        verdict = self.server.limits.check(op, request, store)
        if verdict.refusal:
            self._answer(400, json.dumps(verdict.refusal).encode())
            return
        body = raw if verdict.request is None else json.dumps(verdict.request).encode()
        with self.server.pool.exchange("POST", self.path, body, self._headers(body)) as answer:
            data = answer.read()
            if answer.status == 200 and verdict.charge:
                verdict.charge(json.loads(data))
            if answer.status == 200 and verdict.unprocessed:
                data = _with_unprocessed(json.loads(data), verdict.unprocessed)
            self._send(answer, data)

    def _body(self) -> bytes | _Limited | None:
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            return self._dechunked()
        length = int(self.headers.get("Content-Length") or 0)
        return _Limited(self.rfile, length) if length > 1 << 20 else (self.rfile.read(length) if length else None)

    def _dechunked(self) -> bytes:
        parts = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            parts.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return b"".join(parts)

    def _headers(self, body: bytes | _Limited | None) -> dict[str, str]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        if isinstance(body, bytes):
            headers["Content-Length"] = str(len(body))
        return headers

    def _send(self, answer: HTTPResponse, data: bytes | None = None) -> None:
        if data is None and answer.getheader("Content-Length") is None and self.command != "HEAD":
            data = answer.read()
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer.getheaders():
            lower = name.lower()
            if lower not in _HOP_BY_HOP and not (data is not None and lower in ("content-length", "x-amz-crc32")):
                self.send_header(name, value)
        if data is not None:
            self.send_header("Content-Length", str(len(data)))
            if answer.getheader("x-amz-crc32"):
                self.send_header("x-amz-crc32", str(zlib.crc32(data)))
        self.end_headers()
        if data is not None:
            self.wfile.write(data)
        elif self.command != "HEAD":
            shutil.copyfileobj(answer, self.wfile, 65536)

    def _answer(self, status: int, data: bytes) -> None:
        self.send_response_only(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amzn-RequestId", f"aws-limits-{time.monotonic_ns()}")
        self.send_header("x-amz-crc32", str(zlib.crc32(data)))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _with_unprocessed(answer: Json, throttled: dict[str, list[Json]]) -> bytes:
    """A BatchWriteItem answer with the items the limits kept back added to its UnprocessedItems."""
    unprocessed = answer.setdefault("UnprocessedItems", {})
    for table, writes in throttled.items():
        unprocessed.setdefault(table, []).extend(writes)
    return json.dumps(answer).encode()


class LimitsProxy:
    """An HTTP proxy on 127.0.0.1 in front of `upstream`: DynamoDB requests meet `limits`, the rest pass through."""

    def __init__(self, upstream: str, limits: AwsLimits) -> None:
        self._server = _Server(upstream, limits)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-limits", daemon=True)

    @property
    def endpoint(self) -> str:
        """The URL to give boto3 instead of the upstream's."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LimitsProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
