"""A store in a local (or mounted network) folder: the default when no Azure account is set up, and
what the local backend's nodes read from.

Object hashes are the files' own content hashes, taken from the hash cache (each write records the
hash it verified), so listing an unchanged store reads no file content.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from azrender import layout
from azrender.dirs import make_folders
from azrender.errors import StoreError
from azrender.sync import hashing, keys
from azrender.sync.content import CONTENT
from azrender.sync.partial import PARTIAL_PREFIX, remove_orphaned_partials, writing_partial
from azrender.sync.store import ByteProgress, Store, StoredObject, Transfer


class LocalStore(Store):
    def __init__(self, root: Path, prefix: str = ""):
        self.root = Path(os.path.abspath(root))
        self.prefix = layout.join(prefix)
        self.display_url = self.root.as_uri() + (f"/{self.prefix}" if self.prefix else "")
        self._swept = False

    def _sweep(self) -> None:
        """Once per store and process, before the first stat or write: remove what killed writers left
        in ``content/`` (a sync that asks about single objects never lists their folders)."""
        if not self._swept:
            self._swept = True
            with os.scandir(self._path(CONTENT)) if self._path(CONTENT).is_dir() else contextlib.nullcontext(()) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        remove_orphaned_partials(Path(entry.path))

    def _path(self, key: str) -> Path:
        full = layout.join(self.prefix, key)
        try:
            return keys.local_path(self.root, full)
        except ValueError as exc:
            raise StoreError(f"{self.display_url}: {exc}") from None

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        base = f"{self.prefix}/{prefix}" if self.prefix else prefix
        top = self.root.joinpath(*base.split("/")[:-1])
        found: list[tuple[str, Path]] = []
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            if any(name.startswith(PARTIAL_PREFIX) for name in filenames):
                remove_orphaned_partials(Path(dirpath))  # what killed writers left behind
            for name in sorted(filenames):
                if name.startswith(PARTIAL_PREFIX):
                    continue  # a write in progress (or just removed), never an object
                path = Path(dirpath, name)
                full = path.relative_to(self.root).as_posix()
                if full.startswith(base):
                    found.append((full, path))
        strip = len(self.prefix) + 1 if self.prefix else 0
        while True:
            try:
                hashed = hashing.hash_files([p for _, p in found])
                break
            except FileNotFoundError:  # deleted since the walk (a gc, a --delete): not listed
                found = [(full, p) for full, p in found if p.exists()]
        for (full, _), h in zip(found, hashed):
            modified = datetime.fromtimestamp(h.mtime_ns / 1e9, tz=timezone.utc)
            yield StoredObject(full[strip:], h.size, h.content_hash, modified)

    def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        self._sweep()
        try:
            (h,) = hashing.hash_files([path])  # from the hash cache: each write recorded its hash
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            raise StoreError(f"{self.display_url}/{key}: cannot read ({exc.strerror})") from None
        st = os.stat(path)
        return StoredObject(key, h.size, h.content_hash, datetime.fromtimestamp(h.mtime_ns / 1e9, tz=timezone.utc),
                            f"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}")

    def _write(self, dest: Path, chunks, content_hash: str, mtime_ns: int | None,
               progress: ByteProgress | None) -> int:
        make_folders(dest.parent)
        self._sweep()
        size = 0
        with writing_partial(dest, mtime_ns=mtime_ns) as out:  # keep the source's mtime, like cp -p
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
                if progress:
                    progress(len(chunk))
        hashing.default_cache().put_many([(str(dest), hashing.FileState.of(os.stat(dest)), content_hash)])
        return size

    def upload_file(self, path, key, content_hash, progress=None) -> Transfer:
        mtime_ns = os.stat(path).st_mtime_ns
        size = self._write(self._path(key), hashing.read_verified(Path(path), content_hash), content_hash,
                           mtime_ns, progress)
        return Transfer(key, size, content_hash, size)

    def download_file(self, key, dest, progress=None) -> Transfer:
        source = self._path(key)
        content_hash, _ = hashing.hash_file(source)
        try:
            size = self._write(Path(dest), hashing.read_verified(source, content_hash), content_hash, None, progress)
        except hashing.FileChangedError:
            raise StoreError(f"{self.display_url}/{key} changed while it was downloaded; run again") from None
        return Transfer(key, size, content_hash, size)

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"{self.display_url}/{key} does not exist") from None

    def write_bytes(self, key: str, data: bytes) -> None:
        self._write(self._path(key), [data], hashing.hash_bytes(data), None, None)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        if key.startswith(f"{CONTENT}/"):  # its 256 folders stay: a writer may be creating a file in one
            return
        for parent in path.parents:  # drop folders the deletion emptied, never the root
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def child(self, prefix: str) -> "LocalStore":
        return LocalStore(self.root, layout.join(self.prefix, prefix))

    def node_access_url(self, permissions: str, expiry: datetime) -> str:
        return self.root.as_uri()
