"""The sharded archive's manifest: how many shards, which hash places an article, which model.

A sharded archive is a folder ``DIR`` holding ``manifest.json`` and ``shard-000`` … ``shard-<N-1>``,
each a normal Fundstelle index folder (SQLite + vectors, crash-safe as a single index). An
article lives in shard ``sha1(doc_id) mod N``; every part (the indexer, each shard deployment,
the ingress) reads the manifest and refuses to work on a folder whose manifest disagrees with
what it was asked to do, so two runs with different N, another hash or another model can never
scatter one archive's articles over incompatible shards.

No Ray in here: the manifest is read by tools that never start a cluster.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import IndexProblem

MANIFEST_NAME = "manifest.json"
FORMAT = "fundstelle-shards"
VERSION = 1
HASH = "sha1(utf-8 doc_id), first 8 bytes big-endian, mod N"
MAX_SHARDS = 1000  # the folder names have three digits


class ManifestProblem(IndexProblem):
    """The sharded archive's manifest is missing, damaged, or disagrees with what was asked."""


@dataclass(frozen=True)
class Manifest:
    shards: int
    model_name: str
    model_dim: int
    model_fingerprint: str
    hash: str = HASH
    format: str = FORMAT
    version: int = VERSION

    def shard_of(self, doc_id: str) -> int:
        return shard_of(doc_id, self.shards)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class ModelIdentity:
    """What an index folder records about its model (name, dimension, fingerprint), without the model.

    Shard writers and shard replicas open their :class:`store.index.Index` with this: they store
    and search vectors but never embed (the embedding actors and the ingress do), so they need not
    load the model. Asking it to embed is a bug, and says so.
    """

    name: str
    dim: int
    fingerprint: str

    @classmethod
    def of(cls, encoder) -> ModelIdentity:
        return cls(str(encoder.name), int(encoder.dim), str(encoder.fingerprint))

    def encode_passages(self, texts, show_progress: bool = False):
        raise RuntimeError("a shard does not embed: passages arrive embedded by the ingest actors or the ingress")

    def encode_queries(self, texts):
        raise RuntimeError("a shard does not embed: the ingress embeds the question once and fans out the vector")


def shard_of(doc_id: str, shards: int) -> int:
    """The shard of ``doc_id``: stable across processes, machines and Python versions (not ``hash()``)."""
    digest = hashlib.sha1(doc_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards


def shard_dir(root: Path, shard: int) -> Path:
    return Path(root) / f"shard-{shard:03d}"


def read_manifest(root: Path) -> Manifest:
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        single = (Path(root) / "fundstelle.sqlite3").is_file()
        hint = " (it holds a single-node index: serve it without --ray)" if single else ""
        raise ManifestProblem(f"no sharded archive at {root}: {MANIFEST_NAME} is missing{hint}; "
                              f"build one with `fundstelle index --ray ADDRESS --shards N --index-dir {root}`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ManifestProblem(f"{path} is not a Fundstelle shard manifest (format {data.get('format')!r})")
        if data.get("version") != VERSION:
            raise ManifestProblem(f"{path} has manifest version {data.get('version')!r}; this Fundstelle reads "
                                  f"version {VERSION}: re-index into a new --index-dir")
        manifest = Manifest(**{k: data[k] for k in ("shards", "model_name", "model_dim", "model_fingerprint",
                                                   "hash", "format", "version")})
    except ManifestProblem:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManifestProblem(f"{path} is damaged ({exc}): restore it or re-index into a new --index-dir") from None
    if manifest.hash != HASH:
        raise ManifestProblem(f"{path} places articles by {manifest.hash!r}, this Fundstelle by {HASH!r}: "
                              "re-index into a new --index-dir")
    if not 1 <= manifest.shards <= MAX_SHARDS:
        raise ManifestProblem(f"{path} names {manifest.shards} shards; 1 to {MAX_SHARDS} are possible")
    return manifest


def write_manifest(root: Path, manifest: Manifest) -> None:
    """Atomically (temp file + rename + fsync), so a crash leaves the old manifest or the new one."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{MANIFEST_NAME}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(manifest.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / MANIFEST_NAME)


def check(manifest: Manifest, model: ModelIdentity | None = None, shards: int | None = None,
          root: Path | None = None) -> Manifest:
    """Refuse a manifest that disagrees with the asked shard count or the configured model."""
    where = f" at {root}" if root else ""
    if shards is not None and shards != manifest.shards:
        raise ManifestProblem(
            f"the sharded archive{where} has {manifest.shards} shards, not {shards}: articles are placed by "
            f"{manifest.hash}, so the count cannot change (no re-sharding yet); pass --shards {manifest.shards} "
            "or index into a new --index-dir")
    if model is not None and (model.fingerprint != manifest.model_fingerprint or model.dim != manifest.model_dim):
        raise ManifestProblem(
            f"the sharded archive{where} was built with model {manifest.model_name!r} (dim {manifest.model_dim}, "
            f"fingerprint {manifest.model_fingerprint}), but the configured model is {model.name!r} "
            f"(dim {model.dim}, fingerprint {model.fingerprint}). Set FUNDSTELLE_MODEL (and FUNDSTELLE_ENCODER) "
            "to the archive's model, or re-index into a new --index-dir.")
    return manifest


def recorded_fingerprint(root: Path) -> str | None:
    """The model fingerprint a sharded archive's manifest records (None: no readable manifest yet), so that
    ``FUNDSTELLE_ENCODER=auto`` loads the variant that built the archive."""
    try:
        return read_manifest(root).model_fingerprint
    except ManifestProblem:
        return None


def create_or_check(root: Path, shards: int, model: ModelIdentity) -> Manifest:
    """The manifest of ``root``: written if the folder has none yet, else checked against ``shards`` and ``model``."""
    root = Path(root)
    if not 1 <= shards <= MAX_SHARDS:
        raise ManifestProblem(f"--shards must be between 1 and {MAX_SHARDS}, not {shards}")
    if (root / MANIFEST_NAME).is_file():
        return check(read_manifest(root), model, shards, root)
    if (root / "fundstelle.sqlite3").is_file():
        raise ManifestProblem(f"{root} holds a single-node index: index the sharded archive into another --index-dir")
    name = Path(model.name)
    manifest = Manifest(shards=shards, model_name=name.name if name.is_dir() else model.name, model_dim=model.dim,
                        model_fingerprint=model.fingerprint)
    write_manifest(root, manifest)
    return manifest
