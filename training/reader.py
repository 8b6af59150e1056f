"""Train the reader: ``fundstelle model train-reader`` (or ``python -m training.reader``).

Answer-sentence selection (see :mod:`training.data`): for each group of one question and eight
sentences the loss is a softmax over the group (the answering sentence against its near misses)
plus a per-sentence binary cross-entropy (a sentence that does not hold the fact scores low even
when it is the best of its group: that is what "no answer" needs). e5-small's upper layers and a
head learn; embeddings and lower layers stay frozen (models/reader/network.py). Fixed seed, one
pass over the groups, 2 CPU threads; the run stops early (and says so) past ``max_minutes`` of
the process's own CPU time on those 2 threads (a shared machine's other work does not count).
Writes models/reader/weights/reader.safetensors + reader.json (the recipe, the data counts, the time).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from training.data import Group, Mix, build_groups

SMOKE_MIX = Mix(group_size=4, same_paragraph=3, random_negatives=0, xquad_languages=("de",), other_languages=0,
                squad_it=0, squad2=0, squad2_impossible=0)


@dataclass(frozen=True)
class TrainConfig:
    trainable_layers: int = 6  # of 12; 6 layers fp16 = 21 MB committed
    groups_per_batch: int = 6  # 6 groups x 5 sentences = 30 pairs a step
    sub_batch: int = 10  # pairs per forward pass, sorted by length (a batch is padded to its longest pair)
    lr: float = 4e-5  # the trained layers
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.06  # share of the steps with a rising learning rate
    bce_weight: float = 1.0  # the per-sentence loss, against the per-group softmax (weight 1)
    seed: int = 13
    threads: int = 2
    max_minutes: float = 60.0
    max_groups: int | None = None  # None: every group of the mix, once
    max_articles: int | None = None  # smoke runs read fewer articles
    mix: Mix = field(default_factory=Mix)


SMOKE = TrainConfig(trainable_layers=1, groups_per_batch=2, max_groups=4, max_articles=1, mix=SMOKE_MIX)


def batches(groups: list[Group], per_batch: int, rng: random.Random, window: int = 64) -> list[list[Group]]:
    """Batches of ``per_batch`` groups of similar length (less padding), in random order."""
    out = []
    for start in range(0, len(groups), window):
        chunk = sorted(groups[start : start + window],
                       key=lambda g: len(g.question) + max(len(t) for t in g.inputs))
        out.extend(chunk[i : i + per_batch] for i in range(0, len(chunk), per_batch))
    rng.shuffle(out)
    return out


def _logits(network, tok, pairs: list[tuple[str, str]], sub_batch: int):
    """The network's logits for ``pairs`` (in their order), read in sub-batches of similar length: one
    long sentence no longer pads the whole step (padded length 103 -> about 70 tokens on average)."""
    import torch

    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    parts, where = [], []
    for start in range(0, len(order), sub_batch):
        rows = order[start : start + sub_batch]
        encoded = tok.encode_batch([pairs[i] for i in rows])
        parts.append(network(torch.tensor([e.ids for e in encoded]), torch.tensor([e.attention_mask for e in encoded])))
        where.extend(rows)
    logits = torch.cat(parts)
    return logits[torch.argsort(torch.tensor(where))]


def train(config: TrainConfig = TrainConfig(), base: Path | None = None, out: Path | None = None,
          log=lambda *a: print(*a, file=sys.stderr, flush=True)) -> dict:
    """Train and write the weights to ``out``; returns the summary that reader.json records."""
    import numpy as np
    import torch

    from models.reader.network import ReaderNetwork, load_base, save_delta
    from models.reader.recipe import BASE_MODEL_DIR, WEIGHTS_DIR, pair, tokenizer

    base = Path(base or BASE_MODEL_DIR)
    out = Path(out or WEIGHTS_DIR)
    if not (base / "tokenizer.json").is_file():
        raise FileNotFoundError(f"{base} is not the e5 model folder; build it with `make install`")
    started = time.perf_counter()
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)

    groups = build_groups(config.mix, "fit", max_articles=config.max_articles)
    if config.max_groups is not None:
        groups = groups[: config.max_groups]
    if not groups:
        raise ValueError("no training groups: check the data in ../shared/data")
    rng = random.Random(config.seed)
    plan = batches(groups, config.groups_per_batch, rng)
    log(f"{len(groups)} groups ({dict(Counter(g.source.split('>')[0] for g in groups))}), {len(plan)} steps")

    tok = tokenizer(base)
    network = ReaderNetwork(load_base(base), config.trainable_layers)
    network.freeze()
    network.train()
    layers = [p for p in network.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([
        {"params": layers, "lr": config.lr},
        {"params": network.head.parameters(), "lr": config.head_lr, "weight_decay": 0.0},
    ], weight_decay=config.weight_decay)
    warmup = max(1, int(config.warmup * len(plan)))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (len(plan) - step) / max(1, len(plan) - warmup))))

    prepared, cpu_start = time.perf_counter(), time.process_time()
    seen, losses, stopped_early = 0, [], False
    for step, batch in enumerate(plan, start=1):
        size = len(batch[0].inputs)
        pairs = [pair(g.question, s) for g in batch for s in g.inputs]
        logits = _logits(network, tok, pairs, config.sub_batch)
        labels = torch.tensor([y for g in batch for y in g.labels], dtype=torch.float32)
        loss = config.bce_weight * torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
        grouped, targets = logits.view(len(batch), size), labels.view(len(batch), size)
        answerable = targets.sum(1) > 0
        if answerable.any():
            loss = loss + torch.nn.functional.cross_entropy(grouped[answerable], targets[answerable].argmax(1))
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        seen += len(pairs)
        elapsed = time.perf_counter() - prepared
        used = _core_minutes(cpu_start, config.threads)
        if step % 25 == 0 or step == len(plan):
            log(f"step {step}/{len(plan)} loss {np.mean(losses[-25:]):.4f} {seen / elapsed:.1f} pairs/s "
                f"{elapsed / 60:.1f} min wall, {used:.1f} min of {config.threads} cores, load {os.getloadavg()[0]:.2f}")
        if used > config.max_minutes and step < len(plan):
            log(f"stopping after {step} of {len(plan)} steps: past max_minutes={config.max_minutes}")
            stopped_early = True
            break

    seconds = time.perf_counter() - started
    summary = {
        "recipe": "answer-sentence selection: softmax over each group + per-sentence BCE",
        "config": {**asdict(replace(config, mix=None)), "mix": asdict(config.mix)},
        "groups": len(groups), "sources": dict(Counter(g.source for g in groups)),
        "steps": step, "planned_steps": len(plan), "stopped_early": stopped_early, "pairs_seen": seen,
        "final_loss": round(float(np.mean(losses[-100:])), 4),
        "train_seconds": round(time.perf_counter() - prepared, 1), "total_seconds": round(seconds, 1),
        "train_core_minutes": round(_core_minutes(cpu_start, config.threads), 1),
        "machine": {"cpu": _cpu_flags(), "threads": config.threads, "load_at_end": os.getloadavg(),
                    "python": platform.python_version(), "torch": torch.__version__},
    }
    path = save_delta(network, out, base, summary)
    log(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) after {seconds / 60:.1f} min")
    return summary


def _core_minutes(cpu_start: float, threads: int) -> float:
    """Minutes of ``threads`` cores this process has used since ``cpu_start``: the budget's measure, so that
    other work on a shared machine does not cut a run (wall time is recorded beside it)."""
    return (time.process_time() - cpu_start) / 60 / threads


def _cpu_flags() -> str:
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return "unknown"
    return " ".join(f for f in ("avx2", "avx512f", "avx512_vnni") if f in flags) or "no avx2"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="fundstelle model train-reader", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=None, help="where the weights go [models/reader/weights]")
    p.add_argument("--base", type=Path, default=None, help="the e5-small folder [models/multilingual-e5-small]")
    p.add_argument("--layers", type=int, default=TrainConfig.trainable_layers, help="upper layers to train")
    p.add_argument("--max-groups", type=int, default=None, help="train on the first N groups only")
    p.add_argument("--max-minutes", type=float, default=TrainConfig.max_minutes)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--threads", type=int, default=TrainConfig.threads,
                   help="torch threads (on a machine busy with other work, 1 wastes less CPU on waiting threads)")
    p.add_argument("--smoke", action="store_true", help="a few steps on a few groups (seconds): checks the pipeline")
    opts = p.parse_args(argv)
    config = SMOKE if opts.smoke else TrainConfig(trainable_layers=opts.layers, max_groups=opts.max_groups,
                                                  max_minutes=opts.max_minutes, seed=opts.seed, threads=opts.threads)
    train(config, opts.base, opts.out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
