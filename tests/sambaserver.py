"""A real Samba (Debian ``samba``) on 127.0.0.1 for the SMB store tests: its own config, state and
share in a temp folder, a high port, one tdbsam user, SMB 3 only with encryption required (as
Azure Files). Needs root (smbd, useradd); shutil.which finds nothing for a user without /usr/sbin."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from conftest import stop_process, wait_listening

USER = "azrsmbtest"


def smbd_binary() -> str | None:
    return shutil.which("smbd") or next((p for p in ("/usr/sbin/smbd",) if os.access(p, os.X_OK)), None)


def available() -> bool:
    return smbd_binary() is not None and hasattr(os, "geteuid") and os.geteuid() == 0


class Samba:
    share = "render"
    user = USER

    def __init__(self, workdir: Path, port: int, *, protocol: str = "server min protocol = SMB3\nserver smb encrypt = required"):
        self.workdir, self.port, self.protocol = workdir, port, protocol
        self.password = "Pw-" + secrets.token_hex(8)
        # smbd reaches the share as the Samba user: a folder that user can traverse to
        self._top = Path(tempfile.mkdtemp(prefix="azrender-samba-"))
        os.chmod(self._top, 0o711)
        self.folder = self._top / "share"
        self.state = workdir / "state"
        self.conf = workdir / "smb.conf"
        self.proc: subprocess.Popen | None = None

    def url(self, prefix: str = "", *, user: bool = True) -> str:
        who = f"{self.user}@" if user else ""
        return f"smb://{who}127.0.0.1:{self.port}/{self.share}" + (f"/{prefix}" if prefix else "")

    @property
    def env(self) -> dict:
        return {"AZRENDER_SMB_PASSWORD": self.password}

    def start(self) -> "Samba":
        self.folder.mkdir(parents=True)
        self.state.mkdir(parents=True)
        os.chmod(self.folder, 0o777)  # smbd writes as the share's user
        s = self.state
        self.conf.write_text(f"""[global]
smb ports = {self.port}
interfaces = 127.0.0.1
bind interfaces only = yes
disable netbios = yes
state directory = {s}
lock directory = {s}
private dir = {s}
cache directory = {s}
pid directory = {s}
ncalrpc dir = {s}/ncalrpc
passdb backend = tdbsam:{s}/passdb.tdb
{self.protocol}
log file = {s}/log.smbd
logging = file
[{self.share}]
path = {self.folder}
read only = no
""")
        if subprocess.run(["id", self.user], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", self.user], check=True, capture_output=True)
        subprocess.run(["smbpasswd", "-c", str(self.conf), "-s", "-a", self.user], check=True, capture_output=True,
                       input=f"{self.password}\n{self.password}\n", text=True)
        self.proc = subprocess.Popen([smbd_binary(), "-s", str(self.conf), "--foreground", "--no-process-group"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)  # smbd signals its whole process group on exit
        wait_listening(self.proc, self.port, "smbd", 20)
        return self

    def stop(self) -> None:
        stop_process(self.proc)
        shutil.rmtree(self._top, ignore_errors=True)
