"""Secrets (the job queue's password) kept out of preferences.json: in the operating system's
keychain where there is one (the macOS Keychain; on Linux the Secret Service of a desktop
session), else in a file of the data folder only its user may read (secrets.json, 0600).

keyring is imported only when a secret is read or written, and only the system's own
keychain is used (never a plain-text keyring some other package installed). A keychain that
does not answer within TIMEOUT_SEC (the Secret Service over a stuck D-Bus) counts as none:
the app never waits on it for longer.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Callable

from app.core.common.errors import UserError

SERVICE = "Diarization Studio"
FILE_NAME = "secrets.json"
TIMEOUT_SEC = 3.0
log = logging.getLogger("app")

_lock = threading.Lock()
_UNSET = object()
_found = _UNSET  # the system keychain once looked for: a keyring backend, or None


def get(data_dir: Path, name: str) -> str:
    """The secret called `name` for this data folder ("" when none is kept)."""
    keychain = _keychain()
    if keychain is not None:
        try:
            value = _within(lambda: keychain.get_password(SERVICE, _account(data_dir, name)))
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - a keychain that fails is one we do without
            log.warning("The keychain could not be read (%s); the data folder's secrets file is used.",
                        type(exc).__name__)
    return _read_file(data_dir).get(name, "")


def put(data_dir: Path, name: str, value: str) -> None:
    """Keeps `value` as the secret called `name` ("" forgets it), in the keychain if there is
    one, else in the data folder's secrets file; never in both."""
    keychain = _keychain()
    stored = False
    if keychain is not None:
        try:
            account = _account(data_dir, name)
            if value:
                _within(lambda: keychain.set_password(SERVICE, account, value))
                stored = True
            else:
                _within(lambda: _delete(keychain, account))
        except Exception as exc:  # noqa: BLE001
            log.warning("The keychain could not be written (%s); the data folder's secrets file is used.",
                        type(exc).__name__)
    kept = _read_file(data_dir)
    if value and not stored:
        kept[name] = value
    else:
        kept.pop(name, None)
    path = Path(data_dir) / FILE_NAME
    try:
        if kept:
            write_private(path, json.dumps(kept, indent=2))
        elif path.exists():
            path.unlink()
    except OSError as exc:
        raise UserError(f"The queue's password could not be kept in {path} ({exc.strerror or exc}): check that "
                        "your user may write in the data folder.") from exc


def write_private(path: Path, text: str) -> None:
    """Writes `text` to `path` readable by its user alone (0600, its folder 0700), whole or
    not at all: a temporary file made with that mode, then renamed over `path`."""
    from app.core.common.files import write_atomic  # mkstemp: the temporary file is 0600 from its first byte

    path = Path(path)
    private_folder(path.parent)
    write_atomic(path, text)


def private_folder(folder: Path) -> None:
    """The folder made if needed, and its user's alone (0700) where we may change it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix":
        try:
            if folder.stat().st_mode & 0o077:
                os.chmod(folder, 0o700)
        except OSError:  # not ours to change (a shared folder the user chose): left as it is
            pass


def _account(data_dir: Path, name: str) -> str:
    """One entry per data folder: two installs (or a test's folder) never share one."""
    return f"{name} ({Path(data_dir).expanduser().absolute()})"


def _read_file(data_dir: Path) -> dict:
    try:
        data = json.loads((Path(data_dir) / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def _delete(keychain, account: str) -> None:
    from keyring.errors import PasswordDeleteError

    try:
        keychain.delete_password(SERVICE, account)
    except PasswordDeleteError:  # there was none
        pass


def _keychain():
    """The system keychain's keyring backend, looked for once; None where there is none."""
    global _found
    with _lock:
        if _found is _UNSET:
            try:
                _found = _within(_system_keychain)
            except Exception as exc:  # noqa: BLE001 - no keychain: the secrets file is used
                log.info("No keychain to keep secrets in (%s); the data folder's secrets file is used.", exc)
                _found = None
        return _found


def _system_keychain():
    if sys.platform == "darwin":
        from keyring.backends import macOS

        backend = macOS.Keyring()
    elif sys.platform.startswith("linux"):
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            return None  # no desktop session to ask (and nothing that could hang)
        from keyring.backends import SecretService

        backend = SecretService.Keyring()
    elif sys.platform == "win32":
        from keyring.backends import Windows

        backend = Windows.WinVaultKeyring()
    else:
        return None
    backend.priority  # noqa: B018 - raises where this keychain cannot be used (no service running)
    return backend


def _within(fn: Callable):
    """fn() on a thread of its own; TimeoutError when it has not answered within
    TIMEOUT_SEC (the thread is left to finish, or not, on its own)."""
    timeout = TIMEOUT_SEC
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True, name="keychain")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"the keychain did not answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
