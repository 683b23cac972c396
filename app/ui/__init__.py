"""The Qt shell over app.core. Knows nothing of CTranslate2 or SQLite."""
