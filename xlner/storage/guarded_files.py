"""The one door to an output root: every write, rename and delete the jobs make under
``--output`` (and under ``--translation_cache``, its own root) goes through this module.

Locally it never follows a link it did not create: each folder below the root is opened
with ``O_NOFOLLOW`` relative to its parent (``openat``), so no path component can lead
outside, even if the tree changes while the job runs; the root itself must be a real
folder (links above it are the operator's choice). Files are written whole under a
temporary name (``O_CREAT|O_EXCL|O_NOFOLLOW``), then renamed over a regular file or
nothing; a link, folder or device where a file goes, or a file where a folder goes, stops
the write with :class:`OutputRefused`, one line naming the path. Deletion takes proof:
:meth:`OutputRoot.delete_matching` removes a file only while its bytes still have the
sha256 the job recorded, and :meth:`OutputRoot.remove_folder` (for a run's own attempt
folder) unlinks regular files and leaves anything else.

On ``gs://`` there are no links; paths are checked by name and written with
google-cloud-storage directly (one upload is atomic), and the compare-and-swap that
publication needs is a generation precondition.

No Beam import: the pure library can use it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import posixpath
import stat
import uuid
from typing import Iterator, Optional

TMP_PREFIX = ".xlner-tmp-"
LOCK = ".xlner.lock"
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class OutputRefused(Exception):
    """The layer will not make this write or delete; the message is one line naming the
    path. Found before any work the entry points exit 2, during the run 1."""


class Conflict(Exception):
    """A compare-and-swap lost: the file changed since it was read."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def check_rel(rel: str) -> list[str]:
    """The components of a path relative to a root; refuse anything that could leave it."""
    parts = rel.split("/") if rel else []
    for p in parts:
        if p in ("", ".", "..") or "\x00" in p or "\\" in p or len(p) > 255:
            raise OutputRefused(f"{rel!r} is not a plain relative path inside the output")
    return parts


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_root(url: str, what: str = "--output") -> "OutputRoot":
    """The root for a local path or a ``gs://bucket/prefix`` URL."""
    if "://" in url:
        scheme = url.split("://", 1)[0].lower()
        if scheme != "gs":
            raise OutputRefused(f"{what} {url!r}: only local folders and gs:// are supported")
        return GcsRoot(url, what)
    return LocalRoot(url, what)


class OutputRoot:
    """Operations on paths relative to one root ('/'-separated, checked by check_rel)."""

    url: str
    what: str

    def join(self, rel: str) -> str:
        return self.url.rstrip("/") + ("/" + rel if rel else "")

    def refuse(self, rel: str, why: str) -> OutputRefused:
        return OutputRefused(f"{self.what}: {self.join(rel)} {_one_line(why)}; nothing "
                             "was written there")

    # the operations, implemented per filesystem
    def write(self, rel: str, data: bytes) -> None:  # replace atomically
        raise NotImplementedError

    def create(self, rel: str, data: bytes) -> bool:  # exclusive; False when it exists
        raise NotImplementedError

    def read(self, rel: str) -> Optional[bytes]:  # None when absent
        raise NotImplementedError

    def read_versioned(self, rel: str) -> tuple[Optional[bytes], object]:
        raise NotImplementedError

    def write_if(self, rel: str, data: bytes, token) -> None:  # Conflict if changed
        raise NotImplementedError

    def delete_if(self, rel: str, token) -> bool:
        raise NotImplementedError

    def delete_matching(self, rel: str, sha256: str) -> str:
        raise NotImplementedError

    def remove_folder(self, rel: str) -> list[str]:
        raise NotImplementedError

    def list_files(self, rel: str = "") -> list[str]:
        raise NotImplementedError

    def list_dir(self, rel: str) -> list[tuple[str, str]]:  # (name, "dir" | "file" | ...)
        raise NotImplementedError

    def size(self, rel: str) -> Optional[int]:  # None unless a regular file
        raise NotImplementedError

    def check_places(self, folders=(), files=()) -> None:
        raise NotImplementedError

    def probe(self) -> None:
        raise NotImplementedError

    def exists(self, rel: str) -> bool:
        return self.size(rel) is not None


# ====================================================================== local
class LocalRoot(OutputRoot):
    def __init__(self, url: str, what: str = "--output"):
        self.url = os.path.normpath(os.path.abspath(url))
        self.what = what

    def __getstate__(self):
        return {"url": self.url, "what": self.what}

    # ---------------------------------------------------------------- walking
    def _root_fd(self, create: bool) -> int:
        parent, name = os.path.split(self.url)
        if not name:
            raise self.refuse("", "is the filesystem root")
        try:
            if create:  # like mkdir -p: `--output out/run1` in a fresh checkout
                os.makedirs(parent, exist_ok=True)
            pfd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            raise OutputRefused(f"{self.what} {self.url!r} is not writable: its parent "
                                f"{parent}: {e.strerror}") from None
        try:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=pfd)
            return self._open_dir(pfd, name, "")
        finally:
            os.close(pfd)

    def _open_dir(self, fd: int, name: str, rel: str) -> int:
        try:
            return os.open(name, _DIR, dir_fd=fd)
        except FileNotFoundError:
            raise
        except OSError as e:
            raise self._why(fd, name, rel, e) from None

    def _why(self, fd: int, name: str, rel: str, e: OSError) -> OutputRefused:
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            return self.refuse(rel, f"cannot be used: {e.strerror}")
        if stat.S_ISLNK(st.st_mode):
            return self.refuse(rel, "is a symbolic link (links are never followed)")
        if stat.S_ISREG(st.st_mode):
            return self.refuse(rel, "is a file, not a folder")
        if not stat.S_ISDIR(st.st_mode):
            return self.refuse(rel, "is not a folder")
        return self.refuse(rel, f"cannot be used: {e.strerror}")

    def _dir(self, parts: list[str], create: bool) -> int:
        """An fd of the folder ``parts`` below the root (FileNotFoundError if absent)."""
        fd = self._root_fd(create)
        try:
            for i, name in enumerate(parts):
                if create:
                    try:
                        os.mkdir(name, 0o777, dir_fd=fd)
                    except FileExistsError:
                        pass
                    except OSError as e:
                        raise self._why(fd, name, "/".join(parts[:i + 1]), e) from None
                nfd = self._open_dir(fd, name, "/".join(parts[:i + 1]))
                os.close(fd)
                fd = nfd
            return fd
        except BaseException:
            os.close(fd)
            raise

    @contextlib.contextmanager
    def _parent(self, rel: str, create: bool) -> Iterator[tuple[Optional[int], str]]:
        parts = check_rel(rel)
        if not parts:
            raise OutputRefused(f"{self.what}: a file name is needed below {self.url}")
        try:
            fd = self._dir(parts[:-1], create)
        except FileNotFoundError:
            if create:  # removed between our mkdir and open: never fall back to the cwd
                raise self.refuse("/".join(parts[:-1]), "vanished while the job created "
                                  "it") from None
            yield None, parts[-1]
            return
        try:
            yield fd, parts[-1]
        finally:
            os.close(fd)

    def _lstat(self, fd: int, name: str) -> Optional[os.stat_result]:
        try:
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def _check_target(self, fd: int, name: str, rel: str) -> None:
        st = self._lstat(fd, name)
        if st is not None and not stat.S_ISREG(st.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else (
                "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file")
            raise self.refuse(rel, f"is {kind} where the job writes a file")

    # ---------------------------------------------------------------- files
    def _write_tmp(self, fd: int, name: str, rel: str, data: bytes) -> str:
        if not isinstance(fd, int):  # dir_fd=None would mean the current directory
            raise self.refuse(rel, "has no folder to be written in")
        tmp = (TMP_PREFIX + uuid.uuid4().hex[:12] + "-" + name)[:255]
        try:
            out = os.open(tmp, _NEW, 0o644, dir_fd=fd)
        except OSError as e:
            raise self.refuse(rel, f"cannot be written: {e.strerror}") from None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(out, view):]
            os.fsync(out)
        except OSError as e:
            os.close(out)
            os.unlink(tmp, dir_fd=fd)
            raise self.refuse(rel, f"cannot be written: {e.strerror}") from None
        os.close(out)
        return tmp

    def write(self, rel: str, data: bytes) -> None:
        with self._parent(rel, create=True) as (fd, name):
            tmp = self._write_tmp(fd, name, rel, data)
            try:
                self._check_target(fd, name, rel)
                os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
            except BaseException as e:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=fd)
                if isinstance(e, OSError):
                    raise self.refuse(rel, f"cannot be written: {e.strerror}") from None
                raise
            os.fsync(fd)

    def create(self, rel: str, data: bytes) -> bool:
        """Write ``rel`` whole unless it exists (a hard link of a complete temp file)."""
        with self._parent(rel, create=True) as (fd, name):
            tmp = self._write_tmp(fd, name, rel, data)
            try:
                os.link(tmp, name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
            except FileExistsError:
                return False
            except OSError as e:
                raise self.refuse(rel, f"cannot be created: {e.strerror}") from None
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=fd)
            os.fsync(fd)
            return True

    def _open_file(self, fd: int, name: str, rel: str) -> Optional[int]:
        try:
            f = os.open(name, _READ, dir_fd=fd)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.EMLINK):
                raise self.refuse(rel, "is a symbolic link (links are never followed)") \
                    from None
            raise self.refuse(rel, f"cannot be read: {e.strerror}") from None
        if not stat.S_ISREG(os.fstat(f).st_mode):
            os.close(f)
            raise self.refuse(rel, "is not a regular file")
        return f

    def _read_fd(self, fd: int, name: str, rel: str) -> Optional[bytes]:
        f = self._open_file(fd, name, rel)
        if f is None:
            return None
        try:
            chunks = []
            while True:
                chunk = os.read(f, 1 << 20)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        finally:
            os.close(f)

    def read(self, rel: str) -> Optional[bytes]:
        with self._parent(rel, create=False) as (fd, name):
            return None if fd is None else self._read_fd(fd, name, rel)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """An exclusive lock on this root (a flock on ``.xlner.lock``), held briefly by the
        compare-and-swap writes."""
        import fcntl

        root = self._root_fd(create=True)
        try:
            try:
                f = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                            0o644, dir_fd=root)
            except OSError as e:
                raise self._why(root, LOCK, LOCK, e) if e.errno == errno.ELOOP else \
                    self.refuse(LOCK, f"cannot be opened: {e.strerror}") from None
        finally:
            os.close(root)
        try:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield
        finally:
            os.close(f)  # releases the flock

    def read_versioned(self, rel: str) -> tuple[Optional[bytes], object]:
        data = self.read(rel)
        return data, None if data is None else sha256_of(data)

    def write_if(self, rel: str, data: bytes, token) -> None:
        with self.lock():
            if self.read_versioned(rel)[1] != token:
                raise Conflict(self.join(rel))
            self.write(rel, data)

    def delete_if(self, rel: str, token) -> bool:
        with self.lock():
            current = self.read_versioned(rel)[1]
            if current is None:
                return False
            if current != token:
                raise Conflict(self.join(rel))
            with self._parent(rel, create=False) as (fd, name):
                if fd is None:
                    return False
                os.unlink(name, dir_fd=fd)
            return True

    def delete_matching(self, rel: str, sha256: str) -> str:
        """Remove ``rel`` if it is a regular file with these bytes: 'removed', 'missing',
        'changed' (left) or 'not a file' (left)."""
        with self._parent(rel, create=False) as (fd, name):
            if fd is None:
                return "missing"
            try:
                data = self._read_fd(fd, name, rel)
            except OutputRefused:
                return "not a file"
            if data is None:
                return "missing"
            if sha256_of(data) != sha256:
                return "changed"
            os.unlink(name, dir_fd=fd)
            return "removed"

    def remove_empty_folders(self, rel: str) -> None:
        """rmdir ``rel`` and its parents below the root while they are empty."""
        parts = check_rel(rel)
        while parts:
            with self._parent("/".join(parts), create=False) as (fd, name):
                if fd is None:
                    return
                try:
                    os.rmdir(name, dir_fd=fd)
                except OSError:
                    return
            parts = parts[:-1]

    def remove_folder(self, rel: str) -> list[str]:
        """Unlink every regular file under ``rel`` and the emptied folders, never following
        a link; returns what was left (links, devices, ...)."""
        left: list[str] = []
        with self._parent(rel, create=False) as (fd, name):
            if fd is None:
                return left
            try:
                sub = self._open_dir(fd, name, rel)
            except FileNotFoundError:
                return left
            self._empty(sub, rel, left)
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=fd)
        return left

    def _empty(self, fd: int, rel: str, left: list[str]) -> None:
        try:
            for entry in list(os.scandir(fd)):
                path = f"{rel}/{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    try:
                        sub = self._open_dir(fd, entry.name, path)
                    except (OutputRefused, FileNotFoundError):  # swapped for a link since
                        left.append(path)
                        continue
                    self._empty(sub, path, left)
                    with contextlib.suppress(OSError):
                        os.rmdir(entry.name, dir_fd=fd)
                elif entry.is_file(follow_symlinks=False):
                    os.unlink(entry.name, dir_fd=fd)
                else:
                    left.append(path)
        finally:
            os.close(fd)

    def list_files(self, rel: str = "") -> list[str]:
        """Every non-folder entry under ``rel`` (links listed, not followed), sorted."""
        parts = check_rel(rel)
        try:
            fd = self._dir(parts, create=False)
        except FileNotFoundError:
            return []
        out: list[str] = []
        self._list(fd, rel, out)
        return sorted(out)

    def _list(self, fd: int, rel: str, out: list[str]) -> None:
        try:
            for entry in list(os.scandir(fd)):
                path = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    try:
                        sub = self._open_dir(fd, entry.name, path)
                    except (OutputRefused, FileNotFoundError):  # swapped since: report it
                        out.append(path)
                        continue
                    self._list(sub, path, out)
                else:
                    out.append(path)
        finally:
            os.close(fd)

    def list_dir(self, rel: str) -> list[tuple[str, str]]:
        """The entries of folder ``rel``: (name, 'dir' | 'file' | 'link' | 'other')."""
        try:
            fd = self._dir(check_rel(rel), create=False)
        except FileNotFoundError:
            return []
        try:
            out = []
            for e in os.scandir(fd):
                kind = ("link" if e.is_symlink() else "dir" if e.is_dir(follow_symlinks=False)
                        else "file" if e.is_file(follow_symlinks=False) else "other")
                out.append((e.name, kind))
            return sorted(out)
        finally:
            os.close(fd)

    def size(self, rel: str) -> Optional[int]:
        with self._parent(rel, create=False) as (fd, name):
            st = None if fd is None else self._lstat(fd, name)
            return st.st_size if st is not None and stat.S_ISREG(st.st_mode) else None

    def check_places(self, folders=(), files=()) -> None:
        """Before any work: each folder the job writes into is absent or a real folder, each
        file it replaces absent or a regular file (none is a link)."""
        for rel in folders:
            try:
                os.close(self._dir(check_rel(rel), create=False))
            except FileNotFoundError:
                pass
        for rel in files:
            with self._parent(rel, create=False) as (fd, name):
                if fd is not None:
                    self._check_target(fd, name, rel)

    def probe(self) -> None:
        """The root is (or can be made) a real folder where files can be written."""
        rel = f"{TMP_PREFIX}probe-{uuid.uuid4().hex[:8]}"
        if "\x00" in self.url:
            raise OutputRefused(f"{self.what} {self.url!r} is not a path")
        try:
            os.close(self._root_fd(create=True))
        except OutputRefused:
            raise
        except OSError as e:
            raise OutputRefused(f"{self.what} {self.url!r} is not writable: "
                                f"{e.strerror or e}") from None
        try:
            self.write(rel, b"")
        except OutputRefused as e:
            raise OutputRefused(f"{self.what} {self.url!r} is not writable: {e}") from None
        with self._parent(rel, create=False) as (fd, name):
            if fd is not None:
                os.unlink(name, dir_fd=fd)


# ====================================================================== gs://
_CLIENTS: dict = {}


def gcs_client():
    """One google-cloud-storage client per process and endpoint (anonymous on the
    emulator); no credentials is one line, not minutes of retries."""
    emulator = os.environ.get("STORAGE_EMULATOR_HOST", "")
    if emulator not in _CLIENTS:
        from google.auth.exceptions import DefaultCredentialsError
        from google.cloud import storage

        if emulator:
            _CLIENTS[emulator] = storage.Client.create_anonymous_client()
        else:
            try:
                _CLIENTS[emulator] = storage.Client()
            except DefaultCredentialsError:
                raise OutputRefused(
                    "no Google Cloud credentials for gs://: run `gcloud auth "
                    "application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
                ) from None
    return _CLIENTS[emulator]


class GcsRoot(OutputRoot):
    TIMEOUT = (10, 60)  # connect, read (seconds) for the checks before work

    def __init__(self, url: str, what: str = "--output"):
        rest = url.split("://", 1)[1]
        bucket, _, prefix = rest.partition("/")
        prefix = posixpath.normpath("/" + prefix).strip("/")
        if not bucket or ".." in prefix.split("/"):
            raise OutputRefused(f"{what} {url!r} is not a gs://bucket/folder URL")
        self.bucket_name, self.prefix = bucket, prefix
        self.url = f"gs://{bucket}/{prefix}".rstrip("/")
        self.what = what

    def __getstate__(self):
        return {"url": self.url, "what": self.what, "bucket_name": self.bucket_name,
                "prefix": self.prefix}

    def _blob(self, rel: str):
        parts = check_rel(rel)
        name = "/".join([self.prefix, *parts] if self.prefix else parts)
        return gcs_client().bucket(self.bucket_name).blob(name)

    @contextlib.contextmanager
    def _storage(self, rel: str, doing: str) -> Iterator[None]:
        """Any storage error but the ones the caller handles becomes one line."""
        from google.api_core.exceptions import NotFound, PreconditionFailed

        try:
            yield
        except (OutputRefused, Conflict, NotFound, PreconditionFailed):
            raise
        except Exception as e:  # noqa: BLE001 - any other storage error is this one line
            raise self.refuse(rel, f"cannot be {doing}: {type(e).__name__}: "
                                   f"{_one_line(str(e))[:300]}") from None

    def write(self, rel: str, data: bytes) -> None:
        with self._storage(rel, "written"):
            self._blob(rel).upload_from_string(data)

    def create(self, rel: str, data: bytes) -> bool:
        from google.api_core.exceptions import PreconditionFailed

        try:
            with self._storage(rel, "created"):
                self._blob(rel).upload_from_string(data, if_generation_match=0)
        except PreconditionFailed:
            return False
        return True

    def read(self, rel: str) -> Optional[bytes]:
        return self.read_versioned(rel)[0]

    def read_versioned(self, rel: str) -> tuple[Optional[bytes], object]:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        name = self._blob(rel).name
        for _ in range(10):
            with self._storage(rel, "read"):
                blob = gcs_client().bucket(self.bucket_name).get_blob(name)
            if blob is None:
                return None, 0
            generation = blob.generation  # (a download may reset it from its headers)
            try:
                with self._storage(rel, "read"):
                    return blob.download_as_bytes(if_generation_match=generation), \
                        generation
            except (NotFound, PreconditionFailed):
                continue  # replaced between the two calls: read again
        raise Conflict(self.join(rel))

    def write_if(self, rel: str, data: bytes, token) -> None:
        from google.api_core.exceptions import PreconditionFailed

        try:
            with self._storage(rel, "written"):
                self._blob(rel).upload_from_string(data, if_generation_match=token or 0)
        except PreconditionFailed:
            raise Conflict(self.join(rel)) from None

    def delete_if(self, rel: str, token) -> bool:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        try:
            with self._storage(rel, "deleted"):
                self._blob(rel).delete(if_generation_match=token)
        except NotFound:
            return False
        except PreconditionFailed:
            raise Conflict(self.join(rel)) from None
        return True

    def delete_matching(self, rel: str, sha256: str) -> str:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        data, generation = self.read_versioned(rel)
        if data is None:
            return "missing"
        if sha256_of(data) != sha256:
            return "changed"
        try:
            with self._storage(rel, "deleted"):
                self._blob(rel).delete(if_generation_match=generation)
        except NotFound:
            return "missing"
        except PreconditionFailed:
            return "changed"
        return "removed"

    def remove_empty_folders(self, rel: str) -> None:
        return None  # gs:// has no folders

    def _names(self, rel: str) -> list[str]:
        base = self._blob(rel).name if rel else self.prefix
        start = base.rstrip("/") + "/" if base else ""
        with self._storage(rel, "listed"):
            return [b.name[len(start):]
                    for b in gcs_client().list_blobs(self.bucket_name, prefix=start)]

    def remove_folder(self, rel: str) -> list[str]:
        left = []
        for name in self._names(rel):
            try:
                check_rel(name)
            except OutputRefused:  # an object name no path of ours has
                left.append(f"{rel}/{name}")
                continue
            with contextlib.suppress(Exception):
                self._blob(f"{rel}/{name}").delete()
        return left

    def list_files(self, rel: str = "") -> list[str]:
        return sorted(f"{rel}/{n}" if rel else n for n in self._names(rel)
                      if n and not n.endswith("/"))

    def list_dir(self, rel: str) -> list[tuple[str, str]]:
        base = self._blob(rel).name if rel else self.prefix
        start = base.rstrip("/") + "/" if base else ""
        with self._storage(rel, "listed"):
            it = gcs_client().list_blobs(self.bucket_name, prefix=start, delimiter="/")
            files = [(b.name[len(start):], "file") for b in it]
            dirs = [(p[len(start):].rstrip("/"), "dir") for p in it.prefixes]
        return sorted(files + dirs)

    def size(self, rel: str) -> Optional[int]:
        with self._storage(rel, "read"):
            blob = gcs_client().bucket(self.bucket_name).get_blob(self._blob(rel).name)
        return None if blob is None else blob.size

    def check_places(self, folders=(), files=()) -> None:
        for rel in (*folders, *files):
            check_rel(rel)

    def probe(self) -> None:
        """One small exclusive upload and its delete, without retries: a missing bucket,
        credentials or permission is one line within seconds."""
        rel = f"{TMP_PREFIX}probe-{uuid.uuid4().hex[:8]}"
        try:
            blob = self._blob(rel)
            blob.upload_from_string(b"", if_generation_match=0, retry=None,
                                    timeout=self.TIMEOUT)
            blob.delete(retry=None, timeout=self.TIMEOUT)
        except OutputRefused as e:
            raise OutputRefused(f"{self.what} {self.url}: {e}") from None
        except Exception as e:  # noqa: BLE001 - whatever the cause, one line, before work
            raise OutputRefused(f"{self.what} {self.url} is not writable: "
                                f"{type(e).__name__}: {_one_line(str(e))[:300]}") from None


class Folder:
    """A folder below a root (``base`` relative to it): where one run writes."""

    def __init__(self, root: OutputRoot, base: str = ""):
        check_rel(base)
        self.root, self.base = root, base

    def rel(self, name: str = "") -> str:
        check_rel(name)
        return "/".join(p for p in (self.base, name) if p)

    def url(self, name: str = "") -> str:
        return self.root.join(self.rel(name))

    def write(self, name: str, data: bytes) -> None:
        self.root.write(self.rel(name), data)

    def read(self, name: str) -> Optional[bytes]:
        return self.root.read(self.rel(name))
