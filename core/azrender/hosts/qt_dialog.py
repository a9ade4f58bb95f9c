"""The "Render on Azure" dialog for hosts that embed Qt (Maya, 3ds Max), with the host's own
PySide (PySide6 in Maya/3ds Max 2025+, PySide2 before). Only imported inside such a host.

Settings, the dependency list (missing files in red), Submit (handed to the background agent, which
uploads, submits and brings the frames back, also after the host is closed), Retry failed frames (for
the job just submitted or any job id typed in), and the job list (recent jobs with their live state
and progress, followed until they end; the selected job's estimate or why it is held; Download).
Every piece of work runs on a worker thread; a ``QTimer`` polls it and drives the host's progress
display, so the host never freezes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

try:
    from PySide6 import QtCore, QtGui, QtWidgets
except ImportError:
    from PySide2 import QtCore, QtGui, QtWidgets

from azrender.enums import BackendKind, StorageMode
from azrender.backends import LABELS
from azrender.errors import AzrenderError
from azrender.hosts.background import Background, ProgressDriver, error_text, hand_over_in_background

POLL_MS = 200
FROM_PROFILE = "from profile"  # the profile's storage_mode (default copy)
MISSING_COLOUR = "#e05050"
# Batch when the profile has an account, else local; then each backend by its one name everywhere
BACKENDS = (("Automatic", None), *((LABELS[kind], kind) for kind in (BackendKind.BATCH.value, BackendKind.LOCAL.value)))
JOBS_SHOWN = 15
FOLLOW_MS = 3000  # the job list refreshes itself this often while a job is still on its way
LIVE_STATES = ("uploading", "scouting", "running", "unknown")


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
        for label, kind in BACKENDS:
            self.backend.addItem(label, kind)
        self.storage = QtWidgets.QComboBox()
        self.storage.addItems([FROM_PROFILE, *StorageMode.values()])
        self.frames = QtWidgets.QLineEdit(host.default_frames())
        self.chunk = QtWidgets.QSpinBox()
        self.chunk.setRange(1, 10000)
        self.allow_missing = QtWidgets.QCheckBox("Submit even when files are missing")
        self.scout = QtWidgets.QCheckBox("Render first, middle and last frame first; check them, then the rest")
        self.budget = QtWidgets.QDoubleSpinBox()
        self.budget.setRange(0, 1e6)
        self.budget.setSpecialValueText("none")  # 0: no budget
        for label, widget in (("Render on", self.backend), ("Profile", self.profile), ("Storage", self.storage),
                              ("Frames", self.frames), ("Chunk size", self.chunk), ("Scout frames", self.scout),
                              ("Budget", self.budget), ("", self.allow_missing)):
            form.addRow(label, widget)
        self.dependencies = QtWidgets.QListWidget()
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)  # a missing file's whole name, and the hint on its own line
        self.status.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.hide()
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
        self.jobs = QtWidgets.QListWidget()
        self.jobs.setWordWrap(True)  # a failed job's reason, whole
        self.jobs.currentRowChanged.connect(self._show_job)
        self.job_details = QtWidgets.QLabel()
        self.job_details.setWordWrap(True)
        self.refresh_jobs_button = QtWidgets.QPushButton("Refresh jobs")
        self.refresh_jobs_button.clicked.connect(self.refresh_jobs)
        self.download_button = QtWidgets.QPushButton("Download")
        self.download_button.clicked.connect(self.download)
        job_buttons = QtWidgets.QHBoxLayout()
        job_buttons.addWidget(self.refresh_jobs_button)
        job_buttons.addStretch()
        job_buttons.addWidget(self.download_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.dependencies)
        layout.addWidget(self.status)
        layout.addWidget(self.progress_bar)
        from azrender.hosts.submission import plugins_line

        layout.addWidget(QtWidgets.QLabel(plugins_line()))
        layout.addLayout(buttons)
        layout.addWidget(QtWidgets.QLabel("Jobs"))
        layout.addWidget(self.jobs)
        layout.addWidget(self.job_details)
        layout.addLayout(job_buttons)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._poll)
        self.work = None
        self.progress = host.progress()
        self.job_rows = []
        self.side_work = []  # (Background, what to do with its result): job list, downloads
        self.follow = QtCore.QTimer(self)  # the job list follows live jobs to their end
        self.follow.setSingleShot(True)
        self.follow.timeout.connect(self.refresh_jobs)

    def refresh(self):
        self.dependencies.clear()
        try:
            report = self.host.scene_report()
        except AzrenderError as exc:
            self.status.setText(error_text(exc))
            return
        from azrender.private import refused_paths

        refused = refused_paths(report)  # there, but never sent (a pipe, a credential file): the rule says why
        for dep in sorted(report.dependencies, key=lambda d: (d.exists and d.path not in refused, d.kind.value, d.path)):
            rule = refused[dep.path].rule if dep.path in refused else None
            item = QtWidgets.QListWidgetItem(f"{'REFUSED' if rule else dep.kind.value:10} {dep.path}"
                                             + (f" ({rule})" if rule else ""))
            if not dep.exists or rule:
                item.setForeground(QtGui.QBrush(QtGui.QColor(MISSING_COLOUR)))
            self.dependencies.addItem(item)
        missing = len(report.missing)
        self.status.setText(f"{len(report.dependencies)} file(s)" + (f", {missing} missing" if missing else "")
                            + (f", {len(refused)} refused" if refused else ""))

    def submit(self):
        try:
            prepared = self.host.build_request(
                frames=self.frames.text(), chunk=self.chunk.value(), profile=self.profile.text() or None,
                backend=self.backend.currentData(),
                storage_mode=None if self.storage.currentText() == FROM_PROFILE else self.storage.currentText(),
                allow_missing=self.allow_missing.isChecked(), scout="auto" if self.scout.isChecked() else None,
                budget=self.budget.value() or None)
        except AzrenderError as exc:
            self.status.setText(error_text(exc))
            return
        self._start(hand_over_in_background(prepared))

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
        self.progress_bar.show()
        self.timer.start(POLL_MS)

    def refresh_jobs(self):
        from azrender.joblist import recent_jobs
        from azrender.watch.agentproc import resume  # handed-over jobs waiting for a killed agent

        if not self.refresh_jobs_button.isEnabled():
            return  # a listing is under way
        self.refresh_jobs_button.setEnabled(False)
        self._side(lambda progress: resume() or recent_jobs(JOBS_SHOWN), self._jobs_listed)

    def download(self):
        row = self.jobs.currentRow()
        if not 0 <= row < len(self.job_rows):
            self.job_details.setText("Select a job to download its frames.")
            return
        from azrender.hosts.jobs import download_outputs

        job_id = self.job_rows[row].job_id
        self.download_button.setEnabled(False)
        self.job_details.setText(f"Downloading {job_id}…")
        self._side(lambda progress: download_outputs(job_id, progress=progress), self._downloaded)

    def _side(self, call, done):
        self.side_work.append((Background(call).start(), done))
        self.timer.start(POLL_MS)

    def _jobs_listed(self, rows):
        self.refresh_jobs_button.setEnabled(True)
        chosen = self.job_rows[self.jobs.currentRow()].job_id if 0 <= self.jobs.currentRow() < len(self.job_rows) else None
        self.job_rows = list(rows)
        self.jobs.clear()
        for row in self.job_rows:
            self.jobs.addItem(job_item_text(row))
        if self.job_rows:
            ids = [row.job_id for row in self.job_rows]
            self.jobs.setCurrentRow(ids.index(chosen) if chosen in ids else 0)
        if any(row.state in LIVE_STATES for row in self.job_rows):
            self.follow.start(FOLLOW_MS)

    def _show_job(self, index: int):
        if not 0 <= index < len(self.job_rows):
            self.job_details.setText("")
            return
        from azrender.hosts.jobs import job_lines

        row = self.job_rows[index]
        lines = [f"{row.job_id} ({row.host} {row.scene}) on {row.where or 'the background agent'}: {row.state}"]
        if row.progress:
            lines.append(row.progress)
        lines += [line for line in job_lines(row.job_id) if line != f"held: {row.progress}"]
        self.job_details.setText("\n".join(lines))

    def _downloaded(self, folder):
        self.download_button.setEnabled(True)
        self.job_details.setText(f"Frames downloaded to {folder}")

    def _poll(self):
        for work, done in list(self.side_work):
            snapshot = work.poll()
            if snapshot.finished:
                self.side_work.remove((work, done))
                if snapshot.error is not None:
                    self.refresh_jobs_button.setEnabled(True)
                    self.download_button.setEnabled(True)
                    self.job_details.setText(snapshot.error_detail or snapshot.error)
                else:
                    done(snapshot.result)
        if self.work is None:
            if not self.side_work:
                self.timer.stop()
            return
        snapshot = self.work.poll()
        self.status.setText(snapshot.error_detail if snapshot.error else snapshot.text)
        self.progress_bar.setValue(int(snapshot.fraction * 100))
        if not self.progress.tick(snapshot):
            return
        self.work = None
        self.progress_bar.hide()
        if not self.side_work:
            self.timer.stop()
        self.submit_button.setEnabled(True)
        self.retry_button.setEnabled(True)
        if snapshot.error is None:
            result = snapshot.result
            from azrender.backends.retry import RetryPlan

            if isinstance(result, RetryPlan):
                message = f"azrender: {result.describe()}"
            else:  # handed to the agent
                message = result.line()
                self.job.setText(result.job_id)
            self.status.setText(message)
            self.host.notify(message)
            self.refresh_jobs()


def job_item_text(row) -> str:
    """A job list line: ``sh010-...  running · Azure Batch  sh010.ma  3/8 tasks done``."""
    where = f" · {row.where}" if row.where else ""
    progress = f"  {row.progress}" if row.progress and row.state != "held" else ""
    return f"{row.job_id}  {row.state}{where}  {row.scene}{progress}"


def show(dialog: SubmitDialog) -> SubmitDialog:
    dialog.refresh()
    dialog.refresh_jobs()
    dialog.show()
    dialog.raise_()
    return dialog
