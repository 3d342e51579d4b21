"""Open a page in headless Chromium and report what its console said, over the DevTools protocol.

Standard library only: a minimal WebSocket client (RFC 6455 text frames, client-masked) is
enough to talk to Chromium's DevTools endpoint, so the tests need no extra package and no
Playwright browser download.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    return next((path for path in map(shutil.which, BINARIES) if path), None)


class WebSocket:
    """Just enough of a WebSocket client for the DevTools protocol."""

    def __init__(self, url: str, timeout: float = 30.0):
        parsed = urlparse(url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parsed.path} HTTP/1.1\r\nHost: {parsed.hostname}:{parsed.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            response += chunk
        status = response.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise ConnectionError(f"DevTools refused the WebSocket: {status!r}")
        self.buffer = response.split(b"\r\n\r\n", 1)[1]

    def _read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(max(65536, size - len(self.buffer)))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text: str) -> None:
        self._send_frame(0x1, text.encode())

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            mask = self._read(4) if second & 0x80 else None
            payload = self._read(length)
            if mask:
                payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            message += payload
            if first & 0x80:
                return message.decode()

    def close(self) -> None:
        self.sock.close()


@dataclass
class PageReport:
    """What happened while a page loaded: console messages, exceptions, log entries, values."""

    console: list[dict] = field(default_factory=list)
    exceptions: list[dict] = field(default_factory=list)
    log: list[dict] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def errors(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, failed loads and other log errors."""
        found = [
            f"console.{m['type']}: {m}"
            for m in self.console
            if m["type"] in ("error", "warning", "assert")
        ]
        found += [f"exception: {e}" for e in self.exceptions]
        found += [
            f"log {e['level']} ({e.get('source')}): {e.get('text')}"
            for e in self.log
            if e["level"] in ("error", "warning")
        ]
        return found


def open_page(
    path: Path,
    expressions: dict[str, str],
    binary: str | None = None,
    timeout: float = 60.0,
    width: int | None = None,
    screenshot: Path | None = None,
) -> PageReport:
    """Load ``path`` in headless Chromium; evaluate each JavaScript expression once it has loaded.

    ``width``: the viewport's width in CSS pixels (a 900 px tall window); ``screenshot``: where to
    save a PNG of the whole page as laid out (as wide as its content, so overflow shows as width).
    """
    binary = binary or find_chromium()
    if binary is None:
        raise FileNotFoundError("chromium")
    profile = tempfile.mkdtemp(prefix="qualflow-chromium-")
    stderr = open(Path(profile) / "stderr.log", "wb")
    # its own process group: Chromium's helper processes (renderer, crash handler) end with it,
    # rather than writing into the profile while it is removed
    process = subprocess.Popen(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    try:
        return _drive(process, Path(profile), path, expressions, timeout, width, screenshot)
    finally:
        _end_group(process)
        stderr.close()
        for _ in range(40):  # a helper may still be closing its files
            try:
                shutil.rmtree(profile)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.25)


def _end_group(process: subprocess.Popen) -> None:
    import signal

    for sent, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # the main process is gone; its helpers may linger a moment
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _drive(
    process: subprocess.Popen,
    profile: Path,
    path: Path,
    expressions: dict[str, str],
    timeout: float,
    width: int | None = None,
    screenshot: Path | None = None,
) -> PageReport:
    deadline = time.monotonic() + timeout
    port_file = profile / "DevToolsActivePort"
    while not (port_file.exists() and port_file.read_text().strip()):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"Chromium did not start: {(profile / 'stderr.log').read_text(errors='replace')[-2000:]}"
            )
        time.sleep(0.05)
    port = int(port_file.read_text().split()[0])
    while True:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/json/list", timeout=5
            ) as response:
                targets = json.load(response)
            page = next(target for target in targets if target.get("type") == "page")
            break
        except (OSError, StopIteration, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    socket_ = WebSocket(page["webSocketDebuggerUrl"], timeout=timeout)
    report = PageReport()
    counter = iter(range(1, 1_000_000))

    def call(method: str, **params: Any) -> dict:
        number = next(counter)
        socket_.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(socket_.receive())
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            record(message)

    loaded = False

    def record(message: dict) -> None:
        nonlocal loaded
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled":
            report.console.append(
                {
                    "type": params["type"],
                    "args": [a.get("value", a.get("description")) for a in params.get("args", [])],
                }
            )
        elif method == "Runtime.exceptionThrown":
            report.exceptions.append(params.get("exceptionDetails", {}))
        elif method == "Log.entryAdded":
            report.log.append(params["entry"])
        elif method == "Page.loadEventFired":
            loaded = True

    try:
        for domain in ("Page", "Runtime", "Log"):
            call(f"{domain}.enable")
        if width is not None:
            call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=900,
                deviceScaleFactor=1,
                mobile=False,
            )
        url = path.resolve().as_uri()
        navigation = call("Page.navigate", url=url)
        if navigation.get("errorText"):
            raise RuntimeError(f"Chromium could not open {url}: {navigation['errorText']}")
        while not loaded:
            if time.monotonic() > deadline:
                raise TimeoutError("the page did not finish loading")
            record(json.loads(socket_.receive()))
        # Let late messages (deferred scripts, failed resource loads) arrive.
        socket_.sock.settimeout(0.5)
        try:
            while True:
                record(json.loads(socket_.receive()))
        except socket.timeout:
            pass
        socket_.sock.settimeout(timeout)
        shown = call("Runtime.evaluate", expression="document.URL", returnByValue=True)[
            "result"
        ].get("value")
        if shown != url:  # e.g. Chromium's own error page
            raise RuntimeError(f"Chromium shows {shown} instead of {url}")
        for name, expression in expressions.items():
            result = call(
                "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
            )
            if "exceptionDetails" in result:
                raise RuntimeError(f"evaluating {name}: {result['exceptionDetails']}")
            report.values[name] = result["result"].get("value")
        if screenshot is not None:
            size = call(
                "Runtime.evaluate",
                returnByValue=True,
                expression=(
                    "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
                ),
            )["result"]["value"]
            shot = call(
                "Page.captureScreenshot",
                format="png",
                captureBeyondViewport=True,
                clip={"x": 0, "y": 0, "width": size[0], "height": min(size[1], 16000), "scale": 1},
            )
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
    finally:
        socket_.close()
    return report
