"""Run `fundstelle ...` in this process and SIGKILL it at a chosen moment (a real SIGKILL:
no cleanup, no finally blocks, no atexit). Used by the crash tests:

    python -m tests.durability.crashy_index POINT -- index FILE --index-dir DIR -q

POINT is one of
    commit:N       right after the N-th write transaction of this run has committed
    in-txn:N       inside the N-th write transaction, after its rows are inserted, before COMMIT
    sqlite-commit:N   after the N-th write transaction committed in SQLite, before the lexical (tantivy)
                   index caught up with it
    lexical-commit:N  after the N-th tantivy commit, before the lexical index's state file names it
    save-tmp       during the vector-cache save: temporary file written, not yet renamed
    save-renamed   during the vector-cache save: renamed into place, folder not yet synced,
                   older caches not yet removed
    never          no kill (the test kills from outside, or lets the run finish)
"""

from __future__ import annotations

import os
import signal
import sys


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str) -> None:
    import store.lexical_index as lexical_index
    import store.store as store
    import store.vectors as vectors

    name, _, arg = point.partition(":")
    if name == "never":
        return
    wanted = int(arg or 1)
    seen = {"n": 0}
    if name == "commit":
        original = store.Store.upsert

        def upsert(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            if any(s != "unchanged" for s in result.status.values()):
                seen["n"] += 1
                if seen["n"] == wanted:
                    die()
            return result

        store.Store.upsert = upsert
    elif name == "in-txn":
        original_bump = store.Store._bump

        def bump(self, conn):
            seen["n"] += 1
            if seen["n"] == wanted:
                die()  # rows inserted, transaction open
            return original_bump(self, conn)

        store.Store._bump = bump
    elif name == "sqlite-commit":
        original_written = store.Store._written

        def written(self):
            seen["n"] += 1
            if seen["n"] == wanted:
                die()  # SQLite committed, the lexical index not yet
            return original_written(self)

        store.Store._written = written
    elif name == "lexical-commit":
        original_state = lexical_index.LexicalIndex._write_state

        def write_state(self, state):
            seen["n"] += 1
            if seen["n"] == wanted:
                die()  # tantivy committed, its state file still names the generation before
            return original_state(self, state)

        lexical_index.LexicalIndex._write_state = write_state
    elif name == "save-tmp":
        real_replace = os.replace

        def replace(src, dst, *args, **kwargs):
            if os.path.basename(str(src)).startswith(vectors.TMP_PREFIX):
                die()
            return real_replace(src, dst, *args, **kwargs)

        os.replace = replace
    elif name == "save-renamed":
        original_fsync_dir = vectors.fsync_dir

        def fsync_dir(folder):
            die()
            original_fsync_dir(folder)

        vectors.fsync_dir = fsync_dir
    else:
        raise SystemExit(f"unknown kill point {point!r}")


def main() -> None:
    point, separator, *args = sys.argv[1:]
    assert separator == "--", "usage: crashy_index POINT -- ARGS"
    install(point)
    from cli.main import app

    app(args)


if __name__ == "__main__":
    main()
