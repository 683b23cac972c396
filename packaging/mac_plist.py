"""The .app's Info.plist entries (imported by the PyInstaller spec; checked by a test on
Linux, where no .app is built)."""

from __future__ import annotations

MINIMUM_MACOS = "14.0"  # the pinned arm64 wheels need it


def info_plist(name: str, version: str) -> dict:
    return {
        "CFBundleName": name,
        "CFBundleDisplayName": name,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "LSMinimumSystemVersion": MINIMUM_MACOS,
        "LSArchitecturePriority": ["arm64"],
        "LSApplicationCategoryType": "public.app-category.productivity",
        "NSHighResolutionCapable": True,
        "NSRequiresAquaSystemAppearance": False,  # follows the system's dark mode
        # A drop on the Dock icon and "Open With": recordings of any kind, as a viewer
        # (the app reads them, never changes them). The files arrive as QFileOpenEvent.
        "CFBundleDocumentTypes": [
            {"CFBundleTypeName": "Audio recording", "CFBundleTypeRole": "Viewer", "LSHandlerRank": "Alternate",
             "LSItemContentTypes": ["public.audio"]},
            {"CFBundleTypeName": "Video recording", "CFBundleTypeRole": "Viewer", "LSHandlerRank": "Alternate",
             "LSItemContentTypes": ["public.movie"]},
        ],
        # No NSMicrophoneUsageDescription: the app reads files and never records.
    }
