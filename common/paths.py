"""Where the project lives on disk, for code in every process."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
