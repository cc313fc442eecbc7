"""Slack's Socket Mode side for the tests: a WebSocket server (RFC 6455, just what Socket Mode
uses) on a free loopback port. It says hello, answers pings, pushes envelopes (a slash command,
a button click) and collects the app's acknowledgements."""

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
        self._client: socket.socket | None = None
        self._lock = threading.Lock()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._stop = True
        self._listener.close()
        if self._client is not None:
            self._client.close()

    def send(self, kind: str, payload: dict[str, Any]) -> str:
        """Push one envelope; its id (the ack carries it back)."""
        envelope_id = str(uuid.uuid4())
        self._send_frame(0x1, json.dumps({"envelope_id": envelope_id, "type": kind,
                                          "payload": payload,
                                          "accepts_response_payload": True}).encode())
        return envelope_id

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
                return
            request += chunk
        key = next(line.split(":", 1)[1].strip() for line in request.decode().split("\r\n")
                   if line.lower().startswith("sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        client.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        self._client = client
        self._send_frame(0x1, json.dumps({"type": "hello", "num_connections": 1}).encode())
        self.connected.set()
        try:
            while not self._stop:
                opcode, payload = self._read_frame(client)
                if opcode == 0x9:
                    self._send_frame(0xA, payload)
                elif opcode == 0x1:
                    message = json.loads(payload)
                    self.acks[message["envelope_id"]] = message.get("payload") or {}
                elif opcode == 0x8:
                    return
        except (OSError, ConnectionError):
            return

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        assert self._client is not None
        with self._lock:
            self._client.sendall(header + payload)

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
