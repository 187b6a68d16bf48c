"""A real GCS API on 127.0.0.1 (gcp-storage-emulator) for tests of gs:// paths."""

from __future__ import annotations

import contextlib
import os
import socket


@contextlib.contextmanager
def storage_emulator(bucket: str):
    """Start the emulator, point google-cloud-storage (and so Beam) at it, yield a client.

    Beam's GCS client always asks Google for default credentials first (four retries,
    about 20 s); we settle that once with "no credentials", which makes it connect
    anonymously, as it would fall back to anyway.
    """
    from apache_beam.internal.gcp import auth
    from gcp_storage_emulator.server import create_server
    from google.cloud import storage

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=bucket)
    server.start()
    saved = {k: os.environ.get(k) for k in ("STORAGE_EMULATOR_HOST", "NO_GCE_CHECK")}
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    os.environ["NO_GCE_CHECK"] = "true"
    cached = (auth._Credentials._credentials_init, auth._Credentials._credentials)
    auth._Credentials._credentials_init, auth._Credentials._credentials = True, None
    try:
        yield storage.Client.create_anonymous_client()
    finally:
        auth._Credentials._credentials_init, auth._Credentials._credentials = cached
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()
