"""Custom actions, run by the rasa-sdk action server (``python -m actions``).
One module per topic, as in ``domain/`` and ``data/``."""
