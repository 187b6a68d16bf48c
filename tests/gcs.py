"""A real GCS API on 127.0.0.1 (gcp-storage-emulator) for tests of gs:// paths."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from http import HTTPStatus

_LOCK = threading.Lock()


def _object_name(request):
    if "object_id" in request.params:
        return request.params["object_id"]
    if "name" in request.query:
        return request.query["name"][0]
    return request.data["meta"].get("name")


def _honouring_preconditions(handler):
    """The emulator ignores ``ifGenerationMatch``; the real GCS does not, and publication
    relies on it: check it (atomically with the handler) before the emulator acts."""
    from gcp_storage_emulator.exceptions import NotFound

    def handle(request, response, storage, *args, **kwargs):
        want = request.query.get("ifGenerationMatch")
        if not want:
            return handler(request, response, storage, *args, **kwargs)
        with _LOCK:
            try:
                current = str(storage.get_file_obj(request.params["bucket_name"],
                                                   _object_name(request))["generation"])
            except NotFound:
                current = "0"
            if want[0] != current:
                response.status = HTTPStatus.PRECONDITION_FAILED
                response.json({"error": {"code": 412, "message": "Precondition Failed",
                                         "errors": [{"reason": "conditionNotMet",
                                                     "message": "Precondition Failed"}]}})
                return None
            return handler(request, response, storage, *args, **kwargs)

    handle.honours_preconditions = True
    return handle


def _patch_emulator() -> None:
    from gcp_storage_emulator import server

    for i, (pattern, methods) in enumerate(server.HANDLERS):
        patched = {m: h if getattr(h, "honours_preconditions", False) or h.__name__ not in (
            "insert", "delete", "download") else _honouring_preconditions(h)
            for m, h in methods.items()}
        server.HANDLERS = server.HANDLERS[:i] + ((pattern, patched),) + server.HANDLERS[i + 1:]
    if not getattr(server.objects.insert, "honours_preconditions", False):
        server.objects.insert = _honouring_preconditions(server.objects.insert)


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

    _patch_emulator()
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
