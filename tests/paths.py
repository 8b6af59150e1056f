"""Where the tests find the repository's files and the shared data sets beside it."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = REPO_ROOT / "data" / "corpus"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
