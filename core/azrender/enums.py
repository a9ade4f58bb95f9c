"""The closed sets of choices a user makes: parsed where they enter (command line, config.toml,
host panels, the Python API's request) into these types, with one clear line for a wrong value.
Each member is also its plain string, so JSON, job records and the SDK see ``"copy"``."""

from __future__ import annotations

from enum import Enum

from azrender.errors import UsageError


class Choice(str, Enum):
    def __str__(self) -> str:  # "copy", never "StorageMode.COPY", in every Python version
        return self.value

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)

    @classmethod
    def parse(cls, value, where: str = ""):
        """``value`` as a member; a :class:`UsageError` naming ``where`` and the choices otherwise."""
        if isinstance(value, cls):
            return value
        try:
            return cls(value.lower() if isinstance(value, str) else value)
        except ValueError:
            prefix = f"{where}: " if where else ""
            raise UsageError(f"{prefix}unknown {_LABELS[cls.__name__]} {value!r}; use one of: {', '.join(cls.values())}") from None


class StorageMode(Choice):
    """How assets reach the renderer on the node."""

    COPY = "copy"  # the job preparation task syncs them into the node's shared folder
    BLOBFUSE = "blobfuse"  # the container mounted with blobfuse2
    FILESHARE = "fileshare"  # an Azure Files share


class NodeOS(Choice):
    LINUX = "linux"
    WINDOWS = "windows"


class BackendKind(Choice):
    LOCAL = "local"  # this machine
    BATCH = "batch"  # an Azure Batch account


class Device(Choice):
    """The Cycles device a Blender task renders on (set by the task, never the node's preferences)."""

    CPU = "cpu"
    CUDA = "cuda"
    OPTIX = "optix"
    HIP = "hip"
    ONEAPI = "oneapi"



class PoolAllocationMode(Choice):
    """Where a Batch account's pool VMs live; only user-subscription accounts get Spot nodes."""

    BATCH_SERVICE = "batchservice"  # Azure's "BatchService" (Batch-managed)
    USER_SUBSCRIPTION = "usersubscription"  # Azure's "UserSubscription"


_LABELS = {"StorageMode": "storage mode", "NodeOS": "node OS", "BackendKind": "backend",
           "PoolAllocationMode": "pool allocation mode", "Device": "render device"}
