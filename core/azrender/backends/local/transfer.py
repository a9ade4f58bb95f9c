"""Resource file downloads and output file uploads, as the Batch node agent does them, against
``file:///`` folders (the local store) or http(s) blob URLs with a SAS (Azure Storage, Azurite).

Errors are :class:`TaskFileError` carrying Batch's failure code; their messages are redacted.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from azrender.redact import redact

from .patterns import output_files
from .state import Failure


class TaskFileError(Exception):
    """str() is the whole redacted story (for fileuploaderr.txt); the failure keeps its first line."""

    def __init__(self, code: str, message: str):
        super().__init__(redact(message))
        self.failure = Failure(code=code, message=redact(message).splitlines()[0][:500])


def _folder(url: str) -> Path | None:
    """The local folder a ``file://`` URL names (None for any other scheme)."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    return Path(url2pathname(unquote(parts.path)))


def _safe_name(name: str) -> PurePosixPath:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"blob name {name!r} would leave the target folder")
    return relative


class _FolderContainer:
    def __init__(self, folder: Path):
        if not folder.is_dir():
            raise FileNotFoundError(f"container folder {folder} does not exist")
        self.folder = folder

    def names(self, prefix: str):
        for path in sorted(self.folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(self.folder).as_posix()
                if name.startswith(prefix):
                    yield name

    def download(self, name: str, dest: Path) -> None:
        shutil.copyfile(self.folder / _safe_name(name), dest)

    def upload(self, name: str, source: Path) -> None:
        from azrender.dirs import for_user, make_folders

        target = self.folder / _safe_name(name)
        make_folders(target.parent)
        shutil.copyfile(source, target)
        for_user(target)  # frames in a store the user shares stay readable there


class _BlobContainer:
    def __init__(self, url: str):
        from azure.storage.blob import ContainerClient

        self.client = ContainerClient.from_container_url(url)

    def names(self, prefix: str):
        return (blob.name for blob in self.client.list_blobs(name_starts_with=prefix or None))

    def download(self, name: str, dest: Path) -> None:
        _safe_name(name)
        with open(dest, "wb") as f:
            self.client.download_blob(name).readinto(f)

    def upload(self, name: str, source: Path) -> None:
        with open(source, "rb") as f:
            self.client.upload_blob(name, f, overwrite=True)


def _container(url: str):
    folder = _folder(url)
    return _FolderContainer(folder) if folder is not None else _BlobContainer(url)


def _download_url(url: str, dest: Path) -> None:
    folder = _folder(url)
    if folder is not None:
        shutil.copyfile(folder, dest)
        return
    from azure.storage.blob import BlobClient

    with open(dest, "wb") as f:
        BlobClient.from_blob_url(url).download_blob().readinto(f)


def _target(working_dir: Path, relative: str | None) -> Path:
    target = Path(os.path.normpath(working_dir / (relative or "")))
    if target != working_dir and working_dir not in target.parents:
        raise ValueError(f"file path {relative!r} leaves the task working directory")
    return target


def download_resource_files(resource_files, working_dir: Path) -> None:
    """Fetch a task's ResourceFile list into its working directory (Batch keeps blob folders). A
    node here is a folder of this user's: Batch's group bits (0770) are kept for the user alone."""
    from azrender.dirs import private_mode

    for resource in resource_files or ():
        try:
            fetched = []
            if resource.http_url:
                if not resource.file_path:
                    raise ValueError("a resource file with httpUrl needs a filePath")
                dest = _target(working_dir, resource.file_path)
                dest.parent.mkdir(parents=True, exist_ok=True)
                _download_url(resource.http_url, dest)
                fetched.append(dest)
            elif resource.storage_container_url:
                container = _container(resource.storage_container_url)
                base = _target(working_dir, resource.file_path)
                for name in container.names(resource.blob_prefix or ""):
                    dest = base / _safe_name(name)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    container.download(name, dest)
                    fetched.append(dest)
            else:
                raise ValueError("only httpUrl and storageContainerUrl resource files are supported locally")
            mode = int(resource.file_mode, 8) if resource.file_mode else 0o770
            for path in fetched:
                os.chmod(path, private_mode(mode))
        except Exception as exc:  # any failure is the task's pre-processing error, like Batch
            source = resource.http_url or resource.storage_container_url or "?"
            raise TaskFileError("BlobDownloadMiscError",
                                f"resource file {source} -> {resource.file_path or '.'}: {exc}") from None


def _wanted(condition: str, succeeded: bool) -> bool:
    condition = (condition or "taskcompletion").lower()
    return condition == "taskcompletion" or (condition == "tasksuccess") == succeeded


def upload_output_files(outputs, *, working_dir: Path, env: dict[str, str], succeeded: bool) -> int:
    """Upload every OutputFile whose condition matches; return how many files went up."""
    uploaded = 0
    for output in outputs or ():
        if not _wanted(output.upload_options.upload_condition, succeeded):
            continue
        destination = output.destination.container
        try:
            files = output_files(output.file_pattern, destination.path, working_dir, env)
            if files:
                container = _container(destination.container_url)
            for local, name in files:
                container.upload(name, local)
                uploaded += 1
        except Exception as exc:
            raise TaskFileError("FileUploadMiscError",
                                f"output {output.file_pattern} -> {destination.container_url}: {exc}") from None
    return uploaded
