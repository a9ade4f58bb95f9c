"""The "Render on Azure" dialog for hosts that embed Qt (Maya, 3ds Max), with the host's own
PySide (PySide6 in Maya/3ds Max 2025+, PySide2 before). Only imported inside such a host.

Settings, the dependency list (missing files in red), Submit; then, for the job just submitted (or
any job id typed in), Retry failed frames. The submission and the retry run on a worker
thread; a ``QTimer`` polls it and drives the host's progress display, so the host never freezes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

try:
    from PySide6 import QtCore, QtGui, QtWidgets
except ImportError:
    from PySide2 import QtCore, QtGui, QtWidgets

from azrender.enums import BackendKind, StorageMode
from azrender.errors import AzrenderError
from azrender.hosts.background import Background, ProgressDriver, error_line, submit_in_background

POLL_MS = 200
AUTOMATIC = "automatic"  # Batch when the profile has an account, else local
FROM_PROFILE = "from profile"  # the profile's storage_mode (default copy)
MISSING_COLOUR = "#e05050"


@dataclass(frozen=True)
class HostActions:
    """What the dialog asks of its host plugin."""

    scene_report: Callable  # () -> SceneReport
    build_request: Callable  # (**SubmitRequest fields) -> azrender.hosts.submission.Prepared
    default_frames: Callable[[], str]
    progress: Callable[[], ProgressDriver]
    notify: Callable[[str], None] = lambda message: None  # e.g. Maya's inViewMessage


class SubmitDialog(QtWidgets.QDialog):
    def __init__(self, host: HostActions, parent=None):
        super().__init__(parent)
        self.host = host
        self.setWindowTitle("Render on Azure")
        self.setMinimumWidth(560)
        form = QtWidgets.QFormLayout()
        self.profile = QtWidgets.QLineEdit()
        self.backend = QtWidgets.QComboBox()
        self.backend.addItems([AUTOMATIC, *BackendKind.values()])
        self.storage = QtWidgets.QComboBox()
        self.storage.addItems([FROM_PROFILE, *StorageMode.values()])
        self.frames = QtWidgets.QLineEdit(host.default_frames())
        self.chunk = QtWidgets.QSpinBox()
        self.chunk.setRange(1, 10000)
        self.allow_missing = QtWidgets.QCheckBox("Submit even when files are missing")
        for label, widget in (("Profile", self.profile), ("Backend", self.backend), ("Storage", self.storage),
                              ("Frames", self.frames), ("Chunk size", self.chunk), ("", self.allow_missing)):
            form.addRow(label, widget)
        self.dependencies = QtWidgets.QListWidget()
        self.status = QtWidgets.QLabel()
        refresh = QtWidgets.QPushButton("Refresh dependencies")
        refresh.clicked.connect(self.refresh)
        self.submit_button = QtWidgets.QPushButton("Submit")
        self.submit_button.clicked.connect(self.submit)
        self.job = QtWidgets.QLineEdit()
        self.job.setPlaceholderText("job id")
        self.retry_button = QtWidgets.QPushButton("Retry failed frames")
        self.retry_button.clicked.connect(self.retry)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(refresh)
        buttons.addStretch()
        buttons.addWidget(self.job)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.submit_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.dependencies)
        layout.addWidget(self.status)
        from azrender.hosts.submission import plugins_line

        layout.addWidget(QtWidgets.QLabel(plugins_line()))
        layout.addLayout(buttons)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._poll)
        self.work = None
        self.progress = host.progress()

    def refresh(self):
        self.dependencies.clear()
        try:
            report = self.host.scene_report()
        except AzrenderError as exc:
            self.status.setText(error_line(exc))
            return
        for dep in sorted(report.dependencies, key=lambda d: (d.exists, d.kind.value, d.path)):
            item = QtWidgets.QListWidgetItem(f"{dep.kind.value:10} {dep.path}")
            if not dep.exists:
                item.setForeground(QtGui.QBrush(QtGui.QColor(MISSING_COLOUR)))
            self.dependencies.addItem(item)
        missing = len(report.missing)
        self.status.setText(f"{len(report.dependencies)} file(s)" + (f", {missing} missing" if missing else ""))

    def submit(self):
        backend = self.backend.currentText()
        try:
            prepared = self.host.build_request(
                frames=self.frames.text(), chunk=self.chunk.value(), profile=self.profile.text() or None,
                backend=None if backend == AUTOMATIC else backend,
                storage_mode=None if self.storage.currentText() == FROM_PROFILE else self.storage.currentText(),
                allow_missing=self.allow_missing.isChecked())
        except AzrenderError as exc:
            self.status.setText(error_line(exc))
            return
        self._start(submit_in_background(prepared))

    def retry(self):
        from azrender.hosts.jobs import retry_failed

        job_id, profile = self.job.text().strip(), self.profile.text() or None
        if not job_id:
            self.status.setText("azrender: type the id of the job to retry")
            return
        self._start(Background(lambda progress: retry_failed(job_id, profile=profile, progress=progress)).start())

    def _start(self, work):
        self.submit_button.setEnabled(False)
        self.retry_button.setEnabled(False)
        self.work = work
        self.timer.start(POLL_MS)

    def _poll(self):
        snapshot = self.work.poll()
        self.status.setText(snapshot.text)
        if not self.progress.tick(snapshot):
            return
        self.timer.stop()
        self.submit_button.setEnabled(True)
        self.retry_button.setEnabled(True)
        if snapshot.error is None:
            result = snapshot.result
            from azrender.backends.retry import RetryPlan
            from azrender.hosts.jobs import outcome_line

            if isinstance(result, RetryPlan):
                message = f"azrender: {result.describe()}"
            else:
                message = outcome_line(result)
                self.job.setText(result.job_id)
            self.status.setText(message)
            self.host.notify(message)


def show(dialog: SubmitDialog) -> SubmitDialog:
    dialog.refresh()
    dialog.show()
    dialog.raise_()
    return dialog
