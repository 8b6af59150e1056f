"""Build the compact German compound-split tables: ``python -m text.compounds_build [OUT_DIR]`` (run by ``make install``).

The ``compound-split`` package (CharSplit, Don Tuggener) ships its German n-gram probabilities as a 39 MB
Python source of three dicts (prefix, infix, suffix: 1.87 million keys); importing them costs about 360 MB of
resident memory in every process. This build imports them once, in its own process, and writes what
:mod:`text.compounds` looks up instead into ``OUT_DIR`` (default ``text/compound_tables``, beside the code, so a
source checkout and an installed package both find it; an ignored build output, like the ONNX exports):

- ``digests.npy``: every key's digest (:func:`text.compounds.table_digests`), sorted (uint64);
- ``codes.npy``: per digest, the index of its value in ``values.npy`` (uint16: there are 46,071 distinct values);
- ``values.npy``: the distinct values, the package's exact float64 numbers, so scores and their order come out
  bit for bit as the package's;
- ``directory.npy``: where the digests with each value of the top 20 bits begin (uint32, 2**20 + 1: 4 MB);
- ``build.json``: the format, the package version, the key counts and the longest infix key (in characters;
  :func:`text.compounds._layout` looks up no longer n-gram), written last: its presence means done.

23 MB in all. The build refuses two keys with one digest (there are none in compound-split 1.0.2).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from text.compounds import DIRECTORY_BITS, FORMAT, MANIFEST, TABLE_TAGS, TABLES_DIR, key_hashes, table_digests


def compact(tables: dict[str, dict[str, float]]) -> dict[str, np.ndarray]:
    """The tables' key digests, sorted; each key's value code; the distinct values; the directory."""
    digests = np.concatenate([table_digests(key_hashes(list(table)), TABLE_TAGS[name]) for name, table in tables.items()])
    values, codes = np.unique(np.concatenate([np.fromiter(table.values(), dtype=np.float64, count=len(table))
                                              for table in tables.values()]), return_inverse=True)
    if max(tables["infix"].values()) > 1:
        raise ValueError("an infix value above 1: leaving out n-grams longer than any key could change a split")
    if len(values) > np.iinfo(np.uint16).max + 1:
        raise ValueError(f"{len(values)} distinct values do not fit uint16 codes")
    order = np.argsort(digests, kind="stable")
    digests = digests[order]
    if len(digests) > 1 and bool((digests[1:] == digests[:-1]).any()):
        raise ValueError("two keys share a 64-bit digest; the tables cannot be looked up by digest alone")
    tops = np.arange(2**DIRECTORY_BITS + 1, dtype=np.uint64) << np.uint64(64 - DIRECTORY_BITS)
    directory = np.searchsorted(digests, tops).astype(np.uint32)
    directory[-1] = len(digests)  # (the last top wrapped round to 0)
    return {"digests": digests, "codes": codes.astype(np.uint16)[order], "values": values, "directory": directory}


def build(out_dir: Path = TABLES_DIR) -> dict:
    """Write the tables into ``out_dir`` (replacing what is there) and return the manifest."""
    from compound_split import de_ngram_probs  # only the German tables (char_split would load the Dutch too)

    started = time.monotonic()
    out_dir = Path(out_dir)
    tables = {name: getattr(de_ngram_probs, name) for name in TABLE_TAGS}
    manifest = {"format": FORMAT, "source": f"compound-split {version('compound-split')}",
                "keys": {name: len(table) for name, table in tables.items()},
                "longest_infix": max(map(len, tables["infix"]))}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}-") as tmp:
        staged = Path(tmp) / out_dir.name
        staged.mkdir()
        for part, array in compact(tables).items():
            np.save(staged / f"{part}.npy", array)
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        shutil.rmtree(out_dir, ignore_errors=True)
        staged.rename(out_dir)
    size = sum(f.stat().st_size for f in out_dir.iterdir())
    print(f"compound tables: {sum(manifest['keys'].values()):,} keys, {size / 2**20:.1f} MiB in {out_dir} "
          f"({time.monotonic() - started:.1f} s)")
    return manifest


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else TABLES_DIR)
