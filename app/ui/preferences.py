"""Preferences: model, language, device, compute type, chunking, speaker count.

A setting fixed by an environment variable is shown, disabled, with the variable's name.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
    QSpinBox, QVBoxLayout, QWidget,
)

from app.core.common import devices
from app.core.llm import hosts
from app.core.whisper import models
from app.core import settings as settings_mod
from app.core.settings import ENV_NAMES, Settings
from app.ui.speaker_count import SpeakerCount

LANGUAGES = (("Detect automatically", None), ("Spanish", "es"), ("English", "en"), ("Catalan", "ca"),
             ("Portuguese", "pt"), ("French", "fr"), ("Italian", "it"), ("German", "de"), ("Dutch", "nl"),
             ("Basque", "eu"), ("Galician", "gl"), ("Chinese", "zh"), ("Japanese", "ja"), ("Arabic", "ar"))
CHANNEL_CHOICES = (("Decide from the audio", "auto"), ("Always mix to one", "mix"),
                   ("Hear each channel on its own", "split"))
_ENV_FOR = {setting: env for env, setting in ENV_NAMES.items()}
_ENV_FOR.update(process_on="REDIS_URL / REDIS_HOST")
_ENV_FOR["redis_url"] = "REDIS_URL / REDIS_HOST"
PROCESS_ON = (("This computer", "local"), ("Workers of a Redis queue", "workers"))
FALLBACK = (("Run it on this computer", "local"), ("Wait for the queue", "wait"))


class _Probe(QObject):
    done = Signal(str)


class _ProbeTask(QRunnable):
    """Connects to the queue off the window's thread and says how it went."""

    def __init__(self, url: str, probe: _Probe):
        super().__init__()
        self.url, self.probe = url, probe

    def run(self) -> None:
        from app.core.engine import Engine

        self.probe.done.emit(Engine.probe_queue(self.url))


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent=None, bridge=None):
        """`bridge`: where the models are listed and fetched (Models…); without it, neither."""
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.settings, self.bridge = settings, bridge
        self.model = QComboBox()
        self.model.addItems(models.SIZES)
        if settings.model not in models.SIZES:
            self.model.addItem(settings.model)
        self.model.setCurrentText(settings.model)
        self.model.setToolTip("base is built in; the others are downloaded once (Models…), or when a job needs one")
        self.model_rows: dict = {}  # name: ModelRow, once the bridge has listed them
        self.models_dialog = None
        self.models_button = QPushButton("Models…", clicked=self.open_models)
        model_row = QWidget()
        row0 = QHBoxLayout(model_row)
        row0.setContentsMargins(0, 0, 0, 0)
        row0.addWidget(self.model, 1)
        row0.addWidget(self.models_button)
        self.models_button.setVisible(bridge is not None)
        if bridge is not None:
            bridge.modelsListed.connect(self._models_listed)
            self.model.activated.connect(self._model_picked)
            bridge.models_list()
        self.language = QComboBox()
        for name, code in LANGUAGES:
            self.language.addItem(name, code)
        if settings.language and self.language.findData(settings.language) < 0:
            self.language.addItem(settings.language, settings.language)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        self.device = QComboBox()
        self.device.addItems(["auto", *devices.available()])
        self.device.setCurrentText(settings.device)
        self.compute_type = QComboBox()
        self.compute_type.addItems(settings_mod.COMPUTE_TYPES)
        self.compute_type.setCurrentText(settings.compute_type)
        self.workers = QSpinBox(minimum=1, maximum=16, value=settings.parallel_chunks)
        self.chunk_sec = QSpinBox(minimum=5, maximum=30, value=int(settings.chunk_sec), suffix=" s")
        speakers = SpeakerCount(settings.num_speakers, settings.max_speakers)
        self.speaker_mode, self.speaker_count = speakers.mode, speakers.count
        self.channels = QComboBox()
        for text, value in CHANNEL_CHOICES:
            self.channels.addItem(text, value)
        self.channels.setCurrentIndex(max(0, self.channels.findData(settings.channels)))
        self.channels.setToolTip("A call recorded with each side on its own channel is heard a channel at a time: "
                                 "who said what comes from the channel, and people talking at once are both heard.")
        self.speakers = speakers
        self.roles_enabled = QCheckBox("Suggest speaker roles with a local LLM (Ollama) after each job")
        self.roles_enabled.setChecked(settings.roles_enabled)
        self.ollama_host = QLineEdit(settings.ollama_host)
        self.host_note = QLabel()
        self.host_note.setWordWrap(True)
        self.confirm_host = QCheckBox("Send excerpts of each conversation to this computer")
        self.confirm_host.setChecked(hosts.trusted(settings.ollama_host, settings.ollama_confirmed_host)
                                     and bool(settings.ollama_confirmed_host))
        self.ollama_host.textChanged.connect(self._host_changed)
        self.ollama_model = QLineEdit(settings.ollama_model)
        self.roles_context = QLineEdit(settings.roles_context, placeholderText="e.g. a medical consultation in Spanish")
        self.ollama_timeout = QSpinBox(minimum=1, maximum=3600, value=int(settings.ollama_timeout), suffix=" s")
        self.without_folder = QCheckBox("Leave the recording's folder out of exports (it often names a client)")
        self.without_folder.setChecked(settings.exports_without_folder)
        self.process_on = QComboBox()
        for label, value in PROCESS_ON:
            self.process_on.addItem(label, value)
        self.process_on.setCurrentIndex(max(0, [v for _, v in PROCESS_ON].index(settings.process_on)))
        self.redis_url = QLineEdit(settings.redis_url, placeholderText="redis://nas.local:6379 (rediss:// for TLS)")
        self.fallback = QComboBox()
        for label, value in FALLBACK:
            self.fallback.addItem(label, value)
        self.fallback.setCurrentIndex([v for _, v in FALLBACK].index(settings.queue_fallback))
        self.test_button = QPushButton("Test connection")
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        self._probe = _Probe(self)
        self._probe.done.connect(self.test_result.setText)
        self.test_button.clicked.connect(self.test_connection)
        queue_row = QWidget()
        row2 = QHBoxLayout(queue_row)
        row2.setContentsMargins(0, 0, 0, 0)
        row2.addWidget(self.redis_url, 1)
        row2.addWidget(self.test_button)
        self.max_hours = QSpinBox(minimum=1, maximum=48, value=max(1, int(round(settings.max_hours))), suffix=" h")
        self.api_enabled = QCheckBox("Allow other programs to send recordings (this computer only)")
        self.api_enabled.setChecked(settings.api_enabled)
        self.api_port = QSpinBox(minimum=1024, maximum=65535, value=settings.api_port)
        self.api_port.setToolTip("http://127.0.0.1:PORT/api/diarization, documented at /docs")
        self.max_upload = QSpinBox(minimum=1, maximum=65536, value=int(settings.max_upload_mb), suffix=" MB")
        # Off by default: a program sees only the jobs it sent, never the window's own recordings.
        self.api_lists = QCheckBox("Programs may also list and read the window's own jobs")
        self.api_lists.setChecked(settings.api_lists_window_jobs)
        self.api_token = QLabel(f"Programs send the token kept in {settings.data_dir / 'api-token'}"
                                " as 'Authorization: Bearer TOKEN'.")
        self.api_token.setWordWrap(True)
        self.api_token.setTextInteractionFlags(Qt.TextSelectableByMouse)
        from app.ui.watched_folders import WatchedFoldersEditor

        self.watched = WatchedFoldersEditor(settings.watched_folders, LANGUAGES)
        self.watched.setToolTip("Recordings that appear in these folders join the queue by themselves")
        form = QFormLayout()
        self.notes: dict[str, QLabel] = {}
        for label, name, widget in (
            ("Model", "model", model_row), ("Language", "language", self.language), ("Device", "device", self.device),
            ("Compute type", "compute_type", self.compute_type), ("Chunk workers", "parallel_chunks", self.workers),
            ("Chunk length", "chunk_sec", self.chunk_sec), ("Speakers", "speakers", speakers),
            ("Stereo channels", "channels", self.channels),
            ("Roles", "roles_enabled", self.roles_enabled), ("Ollama host", "ollama_host", self.ollama_host),
            ("Ollama model", "ollama_model", self.ollama_model), ("Context", "roles_context", self.roles_context),
            ("Ollama timeout", "ollama_timeout", self.ollama_timeout),
            ("Longest recording", "max_hours", self.max_hours),
            ("Exports", "exports_without_folder", self.without_folder),
            ("Watched folders", "watched_folders", self.watched),
            ("Other programs", "api_enabled", self.api_enabled), ("Port", "api_port", self.api_port),
            ("Largest upload", "max_upload_mb", self.max_upload),
            ("", "api_lists_window_jobs", self.api_lists), ("", "api_token", self.api_token),
            ("Process on", "process_on", self.process_on), ("Queue", "redis_url", queue_row),
            ("Queue unreachable", "queue_fallback", self.fallback), ("", "queue_test", self.test_result),
        ):
            form.addRow(label, widget)
            if name in settings.from_env:
                widget.setEnabled(False)
                note = QLabel(f"Set by {_ENV_FOR[name]} in the environment; change it there.")
                note.setStyleSheet("color: palette(mid);")
                self.notes[name] = note
                form.addRow("", note)
        if "model" in settings.from_env:  # the models can still be managed
            model_row.setEnabled(True)
            self.model.setEnabled(False)
        host_row = form.getWidgetPosition(self.ollama_host)[0]
        form.insertRow(host_row + 1, "", self.host_note)
        form.insertRow(host_row + 2, "", self.confirm_host)
        self._host_changed(self.ollama_host.text())
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Changes apply to jobs added from now on."))
        layout.addWidget(buttons)
        for label in self.findChildren(QLabel):  # typed and environment text shown as it is
            label.setTextFormat(Qt.PlainText)

    def changes(self) -> dict:
        exactly, at_most = self.speakers.counts()
        chosen = {
            "model": self.model.currentText(),
            "language": self.language.currentData(),
            "device": self.device.currentText(),
            "compute_type": self.compute_type.currentText(),
            "parallel_chunks": self.workers.value(),
            "chunk_sec": float(self.chunk_sec.value()),
            "num_speakers": exactly,
            "max_speakers": at_most,
            "channels": self.channels.currentData(),
            "roles_enabled": self.roles_enabled.isChecked(),
            "ollama_host": self.ollama_host.text().strip() or Settings.ollama_host,
            "ollama_confirmed_host": self._confirmed(),
            "ollama_model": self.ollama_model.text().strip() or Settings.ollama_model,
            "roles_context": self.roles_context.text().strip(),
            "ollama_timeout": float(self.ollama_timeout.value()),
            "max_hours": float(self.max_hours.value()),
            "exports_without_folder": self.without_folder.isChecked(),
            "api_enabled": self.api_enabled.isChecked(),
            "api_port": self.api_port.value(),
            "max_upload_mb": float(self.max_upload.value()),
            "api_lists_window_jobs": self.api_lists.isChecked(),
            "process_on": self.process_on.currentData(),
            "redis_url": self.redis_url.text().strip(),
            "queue_fallback": self.fallback.currentData(),
            "watched_folders": self.watched.folders(),
        }
        return {k: v for k, v in chosen.items() if k not in self.settings.from_env}

    def _models_listed(self, rows: list) -> None:
        self.model_rows = {row.name: row for row in rows}
        for row in rows:  # a catalogue of the user's own may add some
            if self.model.findText(row.name) < 0:
                self.model.addItem(row.name)

    def _model_picked(self, index: int) -> None:
        """A model that is not here, picked: offered for download now, not at the next job."""
        from app.ui.models_page import wanted_now

        row = self.model_rows.get(self.model.itemText(index))
        if row is not None and wanted_now(self, row, self.bridge.model_downloads()):
            self.open_models().get(row.name)

    def open_models(self):
        from app.ui.models_page import ModelsDialog

        if self.models_dialog is None:
            self.models_dialog = ModelsDialog(self.bridge, lambda: self.settings, self)
        self.models_dialog.show()
        self.models_dialog.raise_()
        return self.models_dialog

    def _host_changed(self, text: str) -> None:
        """Checked as it is typed: a host off this computer is named as such, and needs
        the box ticked before any excerpt goes there."""
        from app.core.common.errors import UserError

        try:
            scheme, _, _ = hosts.parse(text or Settings.ollama_host)
            local = hosts.is_local(text or Settings.ollama_host)
        except UserError as exc:
            self.host_note.setText(str(exc))
            self.host_note.setStyleSheet("color: #C0392B;")
            self.host_note.show()
            self.confirm_host.hide()
            return
        if local:
            self.host_note.hide()
            self.confirm_host.hide()
            return
        warning = ("This address is not on this computer: with role naming on, excerpts of each conversation "
                   "are sent there.")
        if scheme == "http":
            warning += " Over plain http anyone on the way can read them: use https."
        self.host_note.setText(warning)
        self.host_note.setStyleSheet("color: #B9770E;")
        self.host_note.show()
        self.confirm_host.show()

    def test_connection(self) -> None:
        url = self.redis_url.text().strip()
        if not url:
            self.test_result.setText("Give the queue's address first, e.g. redis://nas.local:6379.")
            return
        self.test_result.setText("Connecting…")
        QThreadPool.globalInstance().start(_ProbeTask(url, self._probe))

    def _confirmed(self) -> str:
        from app.core.common.errors import UserError

        text = self.ollama_host.text().strip() or Settings.ollama_host
        try:
            return hosts.url(text) if not hosts.is_local(text) and self.confirm_host.isChecked() else ""
        except UserError:
            return ""

    def accept(self) -> None:
        from app.core.common.errors import UserError

        try:
            hosts.parse(self.ollama_host.text().strip() or Settings.ollama_host)
        except UserError:
            self.ollama_host.setFocus()
            return  # the note under the field says what is wrong
        super().accept()

    def save(self) -> Settings:
        """Writes the preferences (the queue's password apart from them, in the keychain) and
        returns the settings now in force, from the same data folder (environment still wins)."""
        settings_mod.save_preferences(self.settings, self.changes())
        return settings_mod.load(data_dir=self.settings.data_dir)
