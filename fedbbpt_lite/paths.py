"""Where the committed data lives: the checkout's data/ folder (install with pip install -e .)."""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
