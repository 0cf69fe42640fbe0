"""The wire: a TLS socket verified against a CA, one JSON-RPC message per line, replies matched by id.

Replies may come out of order (the server runs a connection's calls concurrently), so every read keeps what is
not the awaited reply: other replies for pipelined calls, and notifications (`events.event`), which `events()`
hands out in arrival order.
"""
from __future__ import annotations

import collections
import decimal
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Deque, Dict, Iterator, List, Optional, Sequence, Tuple

from .errors import RPCError, error_for


class _Clear:
    """Sent as JSON null: clears an optional value in an update (None leaves the param out)."""

    def __repr__(self) -> str:
        return "CLEAR"


CLEAR: Any = _Clear()


@dataclass(frozen=True)
class Event:
    """A notification the server pushed: its method (`events.event`, `events.dropped`) and params."""

    method: str
    params: Dict[str, Any]


class ProtocolError(Exception):
    """The server sent something that is not a JSON-RPC message, or closed the connection."""


def _encode(value: Any) -> str:
    """JSON text; `decimal.Decimal` goes out as an exact number (amounts are numeric, never floats)."""
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError("amounts must be finite")
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(str(k)) + ":" + _encode(v) for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _decode(line: bytes) -> Any:
    """A message; numbers with a fraction become `decimal.Decimal`, so amounts stay exact."""
    try:
        return json.loads(line, parse_float=decimal.Decimal)
    except ValueError as error:
        raise ProtocolError(f"not JSON: {line[:200]!r}") from error


class Connection:
    """One TLS connection. Not thread-safe: use one per thread (they are cheap), or pipeline on one."""

    def __init__(self, sock: ssl.SSLSocket, timeout: float) -> None:
        self._sock = sock
        self._sock.settimeout(timeout)
        self._buffer = bytearray()
        self._next_id = 0
        self._replies: Dict[Any, Dict[str, Any]] = {}
        self._events: Deque[Event] = collections.deque()

    @classmethod
    def open(
        cls,
        host: str,
        port: int,
        *,
        cafile: str,
        certfile: Optional[str] = None,
        keyfile: Optional[str] = None,
        server_hostname: Optional[str] = None,
        timeout: float = 30.0,
    ) -> "Connection":
        """Connects and completes TLS, verifying the server's certificate against `cafile` (and its name against
        `server_hostname`, default `host`). `certfile`/`keyfile`: a client certificate for mutual TLS."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if certfile:
            context.load_cert_chain(certfile, keyfile)
        raw = socket.create_connection((host, port), timeout=timeout)
        try:
            sock = context.wrap_socket(raw, server_hostname=server_hostname or host)
        except BaseException:
            raw.close()
            raise
        return cls(sock, timeout)

    def close(self) -> None:
        self._sock.close()

    # -- sending

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _send(self, message: Any) -> None:
        self._sock.sendall(_encode(message).encode("utf-8") + b"\n")

    @staticmethod
    def _request(method: str, params: Any, request_id: Any) -> Dict[str, Any]:
        request: Dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            request["params"] = params
        return request

    # -- receiving

    def _read_message(self) -> Any:
        # Our own buffer rather than a file object: a timeout (events()) leaves it consistent.
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return _decode(line)
            data = self._sock.recv(65536)
            if not data:
                raise ProtocolError("the server closed the connection")
            self._buffer += data

    def _keep(self, message: Any) -> None:
        if isinstance(message, list):  # a batch reply
            self._replies[tuple(sorted(str(m.get("id")) for m in message))] = {"batch": message}
        elif "id" in message and ("result" in message or "error" in message):
            self._replies[message["id"]] = message
        elif "method" in message:
            self._events.append(Event(message["method"], message.get("params") or {}))
        else:
            raise ProtocolError(f"unexpected message: {message!r}")

    def _reply(self, request_id: Any) -> Dict[str, Any]:
        while request_id not in self._replies:
            self._keep(self._read_message())
        return self._replies.pop(request_id)

    @staticmethod
    def _outcome(reply: Dict[str, Any]) -> Any:
        if "error" in reply:
            raise error_for(reply["error"])
        return reply.get("result")

    # -- calls

    def call(self, method: str, params: Any = None) -> Any:
        """Calls `method` and returns its result, or raises the `RPCError` subclass of its error code."""
        request_id = self._new_id()
        self._send(self._request(method, params, request_id))
        return self._outcome(self._reply(request_id))

    def pipeline(self, calls: Sequence[Tuple[str, Any]]) -> List[Any]:
        """Sends every call before reading any reply (one round trip's latency for all of them); returns, in the
        order of `calls`, each result or the `RPCError` it failed with (not raised)."""
        ids = [self._new_id() for _ in calls]
        for (method, params), request_id in zip(calls, ids):
            self._send(self._request(method, params, request_id))
        outcomes: List[Any] = []
        for request_id in ids:
            try:
                outcomes.append(self._outcome(self._reply(request_id)))
            except RPCError as error:
                outcomes.append(error)
        return outcomes

    def batch(self, calls: Sequence[Tuple[str, Any]]) -> List[Any]:
        """One JSON-RPC batch (a JSON array): like `pipeline`, in one message."""
        ids = [self._new_id() for _ in calls]
        self._send([self._request(method, params, request_id) for (method, params), request_id in zip(calls, ids)])
        key = tuple(sorted(str(i) for i in ids))
        while key not in self._replies:
            self._keep(self._read_message())
        replies = {reply.get("id"): reply for reply in self._replies.pop(key)["batch"]}
        outcomes: List[Any] = []
        for request_id in ids:
            reply = replies.get(request_id)
            if reply is None:
                raise ProtocolError(f"the batch reply has no answer for id {request_id}")
            try:
                outcomes.append(self._outcome(reply))
            except RPCError as error:
                outcomes.append(error)
        return outcomes

    def events(self, timeout: Optional[float] = None) -> Iterator[Event]:
        """Pushed notifications in arrival order, waiting for more (up to `timeout` seconds each; None: the
        connection's timeout). Ends when a wait times out."""
        while True:
            while self._events:
                yield self._events.popleft()
            previous = self._sock.gettimeout()
            if timeout is not None:
                self._sock.settimeout(timeout)
            try:
                self._keep(self._read_message())
            except (socket.timeout, TimeoutError):
                return
            finally:
                self._sock.settimeout(previous)
