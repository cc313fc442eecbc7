"""Slack's Socket Mode side for the tests: a WebSocket server (RFC 6455, just what Socket Mode
uses) on a free loopback port. It says hello, answers pings, pushes envelopes (a slash command,
a button click) and collects the app's acknowledgements. Like Slack, it keeps every open
connection (one app may hold several, one per replica) and spreads envelopes across them."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
import uuid
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class SocketModeServer:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"ws://127.0.0.1:{self.port}/link/?ticket=emulated"
        self.acks: dict[str, dict[str, Any]] = {}
        self.connected = threading.Event()
        self.clients: list[socket.socket] = []  # open connections, oldest first
        self.sent: dict[str, int] = {}  # envelope id -> the connection it went to (its index)
        self._next = 0
        self._lock = threading.Lock()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._stop = True
        self._listener.close()
        for client in list(self.clients):
            client.close()

    def send(self, kind: str, payload: dict[str, Any], *, to: int | None = None) -> str:
        """Push one envelope on the next open connection in turn (or connection `to`); its
        id (the ack carries it back)."""
        envelope_id = str(uuid.uuid4())
        with self._lock:
            clients = list(self.clients)
        assert clients, "no app connected"
        if to is None:
            to, self._next = self._next % len(clients), self._next + 1
        self.sent[envelope_id] = to
        self._send_frame(0x1, json.dumps({"envelope_id": envelope_id, "type": kind,
                                          "payload": payload,
                                          "accepts_response_payload": True}).encode(),
                         clients[to])
        return envelope_id

    def wait_connections(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.clients) < count:
            assert time.monotonic() < deadline, f"{len(self.clients)} of {count} connected"
            time.sleep(0.05)

    def ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while envelope_id not in self.acks:
            assert time.monotonic() < deadline, "the app never acknowledged the envelope"
            time.sleep(0.02)
        return self.acks[envelope_id]

    # -- the wire ---------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            request += chunk
        key = next(line.split(":", 1)[1].strip() for line in request.decode().split("\r\n")
                   if line.lower().startswith("sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        client.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        with self._lock:
            self.clients.append(client)
        self._send_frame(0x1, json.dumps({"type": "hello",
                                          "num_connections": len(self.clients)}).encode(),
                         client)
        self.connected.set()
        try:
            while not self._stop:
                opcode, payload = self._read_frame(client)
                if opcode == 0x9:
                    self._send_frame(0xA, payload, client)
                elif opcode == 0x1:
                    message = json.loads(payload)
                    self.acks[message["envelope_id"]] = message.get("payload") or {}
                elif opcode == 0x8:
                    return
        except (OSError, ConnectionError):
            return
        finally:
            with self._lock:
                if client in self.clients:
                    self.clients.remove(client)
            client.close()

    def _send_frame(self, opcode: int, payload: bytes, client: socket.socket) -> None:
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        with self._lock:
            client.sendall(header + payload)

    @staticmethod
    def _read_frame(client: socket.socket) -> tuple[int, bytes]:
        def exactly(n: int) -> bytes:
            data = b""
            while len(data) < n:
                chunk = client.recv(n - len(data))
                if not chunk:
                    raise ConnectionError("closed")
                data += chunk
            return data

        first, second = exactly(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", exactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", exactly(8))[0]
        mask = exactly(4) if second & 0x80 else b"\0\0\0\0"
        data = exactly(size)
        return first & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(data))
