"""`python -m sim --port 8088`: serve a simulated Asterisk until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from sim.asterisk import SimAsterisk
from sim.server import SimServer


async def _serve(host: str, port: int, username: str, password: str) -> None:
    server = await SimServer(
        SimAsterisk(), username=username, password=password, host=host, port=port
    ).start()
    print(f"simulated Asterisk ARI on {server.url}/ari", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--username", default="callcenter")
    parser.add_argument("--password", default="secret")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.username, args.password))


if __name__ == "__main__":
    main()
