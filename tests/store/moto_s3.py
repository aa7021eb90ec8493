"""An S3-compatible server on loopback for tests: moto's server mode, on a free port of 127.0.0.1.

It runs as its own process (so drivers, Ray workers and the test all reach it over HTTP) and is
stopped afterwards. Skips the calling test, saying why, where moto's server extra is not installed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class S3Server:
    port: int
    process: subprocess.Popen
    bucket: str = "naswot"

    def uri(self, prefix: str) -> str:
        """A store URI on this server (the query tells pyarrow where the server is)."""
        return (f"s3://{self.bucket}/{prefix}?endpoint_override=127.0.0.1:{self.port}&scheme=http"
                f"&region=us-east-1")

    def filesystem(self, **options):
        import pyarrow.fs as pafs

        return pafs.S3FileSystem(access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                 secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region="us-east-1",
                                 endpoint_override=f"127.0.0.1:{self.port}", scheme="http", **options)

    def objects(self, prefix: str) -> list[str]:
        """Every object key under ``prefix`` (hidden ones too)."""
        import pyarrow.fs as pafs

        infos = self.filesystem().get_file_info(pafs.FileSelector(f"{self.bucket}/{prefix}", recursive=True,
                                                                  allow_not_found=True))
        return sorted(i.path for i in infos if i.type == pafs.FileType.File)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[S3Server]:
    pytest.importorskip("moto.server", reason="moto's server mode is not installed (pip install 'moto[server]')")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **CREDENTIALS})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto server did not start on 127.0.0.1:{port}")
                time.sleep(0.2)
        server = S3Server(port, process)
        server.filesystem(allow_bucket_creation=True).create_dir(server.bucket)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
