"""A stand-in for baresip 1.0.0 with ``ctrl_tcp``, for the unit tests of :mod:`console.phone`.

Run as ``python fake_baresip.py -f DIR`` like baresip. It reads ``DIR/config`` and
``DIR/accounts`` (refusing an accounts file other users could read, as a reminder of what
the console promises), "registers" at once (``wrong`` as password: 401), and answers the
commands the console uses with the replies and events baresip sent in
``tests/console/baresip_ctrl_tcp.txt`` (same order, same texts). Test-only commands play the
PBX's part: ``fake_ring`` (params ``NAME|URI``: an incoming call), ``fake_peer_hangup``, and
``fake_garbage`` (a broken netstring). With ``FAKE_BARESIP_LEAK=1`` it prints the account
line with its password, as a verbose baresip could, so the tests can check it is masked.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import sys
import uuid
from pathlib import Path
from typing import Any

AOR = "sip:1001@127.0.0.1:5060"


def netstring(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
    return str(len(body)).encode() + b":" + body + b","


class Fake:
    def __init__(self, directory: Path) -> None:
        config = (directory / "config").read_text()
        listen = re.search(r"(?m)^ctrl_tcp_listen\s+(\S+):(\d+)$", config)
        assert listen is not None, "no ctrl_tcp_listen"
        self.host, self.port = listen.group(1), int(listen.group(2))
        accounts = directory / "accounts"
        mode = stat.S_IMODE(accounts.stat().st_mode)
        if mode & 0o077:
            print(f"fake baresip: accounts file mode {mode:o} is readable by others")
            sys.exit(3)
        line = accounts.read_text()
        password = re.search(r";auth_pass=([^;\s]*)", line)
        self.password = password.group(1) if password else ""
        self.auto = ";answermode=auto" in line
        if os.environ.get("FAKE_BARESIP_LEAK") == "1":
            print(f"account: {line.strip()}", flush=True)
        self.registered = self.password != "wrong"
        self.call: dict[str, str] | None = None
        self.established = False
        self.muted = False
        self.writer: asyncio.StreamWriter | None = None
        self.done = asyncio.Event()

    def send(self, message: dict[str, Any]) -> None:
        if self.writer is not None:
            self.writer.write(netstring(message))

    def event(self, kind: str, klass: str = "call", param: str | None = None) -> None:
        message: dict[str, Any] = {"event": True, "type": kind, "class": klass, "accountaor": AOR}
        if self.call is not None and klass in ("call", "other"):
            message |= {
                "direction": "incoming",
                "peeruri": self.call["uri"],
                "peerdisplayname": self.call["name"],
                "id": self.call["id"],
            }
        if param is not None:
            message["param"] = param
        self.send(message)

    def reply(self, token: object, ok: bool, data: str) -> None:
        self.send({"response": True, "ok": ok, "data": data, "token": token})

    def answer_call(self) -> None:
        self.event("CALL_REMOTE_SDP", "other", "offer")
        self.event("CALL_LOCAL_SDP", "other", "answer")

    def close_call(self, why: str) -> None:
        self.event("CALL_CLOSED", param=why)
        self.call, self.established, self.muted = None, False, False

    def handle(self, message: dict[str, Any]) -> None:
        name, token, params = message.get("command"), message.get("token"), message.get("params")
        if name == "reginfo":
            state = (
                "\x1b[32mOK \x1b[;m Asterisk PBX 22.10.1"
                if self.registered
                else "\x1b[33mzzz\x1b[;m"
            )
            self.reply(token, True, f"\n--- User Agents (1) ---\n> {AOR}  {state} Expires 59s\n\n")
        elif name == "accept":
            if self.call is None or self.established:
                self.reply(token, False, "Invalid argument")
                return
            self.answer_call()
            self.reply(token, True, f"{AOR}: Answering incoming call\n")
            self.established = True
            self.event("CALL_ESTABLISHED", param=self.call["uri"])
        elif name == "hangup":
            if self.call is not None:
                self.close_call("Connection reset by user")
            self.reply(token, True, "")
        elif name in ("hold", "resume"):
            ok = self.call is not None and self.established
            self.reply(token, ok, "" if ok else "Invalid argument")
        elif name == "mute":
            self.muted = not self.muted
            self.reply(token, True, "\ncall muted\n" if self.muted else "\ncall un-muted\n")
        elif name == "sndcode":
            self.reply(token, True, "")
        elif name == "quit":
            self.event("SHUTDOWN", "application")
            self.event("UNREGISTERING", "register")
            self.reply(token, True, "Quit\n")
            self.send({"event": True, "type": "EXIT", "class": "application"})
            self.done.set()
        elif name == "fake_ring":
            display, _, uri = str(params).partition("|")
            self.call = {"name": display, "uri": uri, "id": str(uuid.uuid4())}
            if self.auto:
                self.answer_call()
                self.established = True
                self.event("CALL_ESTABLISHED", param=uri)
            else:
                self.event("CALL_INCOMING", param=uri)
            self.reply(token, True, "")
        elif name == "fake_peer_hangup":
            if self.call is not None:
                self.close_call("Connection reset by peer")
            self.reply(token, True, "")
        elif name == "fake_garbage":
            if self.writer is not None:
                self.writer.write(b"12x:{}")
        else:
            self.reply(token, False, f"command not found ({name})\n")

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        if not self.registered:
            self.event("REGISTER_FAIL", "register", "401 Unauthorized")
        while not reader.at_eof():
            try:
                size = await reader.readuntil(b":")
                body = await reader.readexactly(int(size[:-1]) + 1)
            except (asyncio.IncompleteReadError, ValueError):
                break
            self.handle(json.loads(body[:-1]))
            await writer.drain()

    async def run(self) -> None:
        print("baresip v1.0.0 Copyright (C) 2010 - 2020 Alfred E. Heggestad et al.", flush=True)
        server = await asyncio.start_server(self.client, self.host, self.port)
        print("Populated 1 account\nbaresip is ready.", flush=True)
        if not self.registered:
            print(
                f"\x1b[31mreg: {AOR}: 401 Unauthorized (Asterisk PBX 22.10.1)\n\x1b[;m", flush=True
            )
        async with server:
            await self.done.wait()
            await asyncio.sleep(0.05)
        print("ua: stop all (forced=0)", flush=True)


def main() -> None:
    directory = Path(sys.argv[sys.argv.index("-f") + 1])
    asyncio.run(Fake(directory).run())


if __name__ == "__main__":
    main()
