"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

No websocket, no port, no extra package: Chromium reads commands from fd 3 and writes answers and
events to fd 4, each a JSON text ending in NUL. The page itself stays script-free: the measuring
expression is evaluated by the test through ``Runtime.evaluate``, which a page's
Content-Security-Policy does not govern. Every wait is on a message from Chromium, bounded by a
deadline, never a sleep.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

DEADLINE_S = 60.0


def _high(fds: tuple[int, int]) -> tuple[int, int]:
    """The pipe's ends moved above 10, so that putting them at 3 and 4 in the child cannot
    overwrite one with the other (``dup2`` onto itself would also keep close-on-exec)."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved[0], moved[1]


class Chromium:
    def __init__(self, binary: str, profile: Path) -> None:
        to_child_r, self._to_child = _high(os.pipe())
        self._from_child, from_child_w = _high(os.pipe())

        def plumb() -> None:  # in the child: the pipe ends as fds 3 and 4
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        command = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            "--disable-extensions", f"--user-data-dir={profile}", "--remote-debugging-pipe",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # the page must need no network: give it none
            "about:blank",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, preexec_fn=plumb, close_fds=False,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        with contextlib.suppress(OSError, TimeoutError, RuntimeError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_child)
        os.close(self._from_child)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_child], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the debugging pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(message))

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + DEADLINE_S
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == ident:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return dict(answer.get("result", {}))
            self.events.append(answer)

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + DEADLINE_S
        for index, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(index)
        while True:
            event = self._read_message(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)


MEASURE = """JSON.stringify({
  scrollWidth: document.documentElement.scrollWidth,
  clientWidth: document.documentElement.clientWidth,
  height: document.documentElement.scrollHeight,
  stickingOut: [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5
                 && !e.closest('.scroll'))
    .slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 60)),
})"""


def render(
    binary: str,
    profile: Path,
    url: str,
    width: int,
    screenshot: Path,
    *,
    top: int = 0,
    height: int = 6000,
    media: str = "screen",
    pdf: Path | None = None,
) -> dict[str, Any]:
    """Open ``url`` in a window ``width`` px wide (``media="print"``: as printed); measure it,
    screenshot it whole (and print it to ``pdf``), and return the measures with every request,
    script error and console error seen."""
    with Chromium(binary, profile) as browser:
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            browser.send(f"{domain}.enable", session)
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=width,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        browser.send("Emulation.setEmulatedMedia", session, media=media)
        browser.send("Page.navigate", session, url=url)
        browser.wait_for("Page.loadEventFired")
        measured = browser.send("Runtime.evaluate", session, expression=MEASURE, returnByValue=True)
        measures = dict(json.loads(measured["result"]["value"]))
        shot = browser.send(
            "Page.captureScreenshot", session, format="png", captureBeyondViewport=True,
            clip={"x": 0, "y": top, "width": width, "height": min(measures["height"] - top, height), "scale": 1},
        )  # fmt: skip
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        if pdf is not None:
            pdf.write_bytes(
                base64.b64decode(browser.send("Page.printToPDF", session, printBackground=True)["data"])
            )
        events = browser.events
        measures["requests"] = [
            e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"
        ]
        measures["exceptions"] = [e["params"] for e in events if e.get("method") == "Runtime.exceptionThrown"]
        measures["console_errors"] = [
            e["params"]["entry"]["text"]
            for e in events
            if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
        ] + [
            str(e["params"].get("args"))
            for e in events
            if e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") == "error"
        ]
        return measures
