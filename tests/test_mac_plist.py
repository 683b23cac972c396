"""The Mac app's Info.plist (packaging/mac_plist.py)."""

from __future__ import annotations


def test_the_mac_app_declares_macos_14_and_opens_recordings():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packaging"))
    import mac_plist

    plist = mac_plist.info_plist("Diarization Studio", "1.0")
    assert plist["LSMinimumSystemVersion"] == "14.0"
    kinds = {t for entry in plist["CFBundleDocumentTypes"] for t in entry["LSItemContentTypes"]}
    assert kinds == {"public.audio", "public.movie"}
    assert all(entry["CFBundleTypeRole"] == "Viewer" for entry in plist["CFBundleDocumentTypes"])
