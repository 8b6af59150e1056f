"""Small synthetic German articles for durability tests: fast to embed (one passage each),
each with a unique code word so a lexical search finds exactly that article."""

from __future__ import annotations

import json
from pathlib import Path

PLACES = ["Neustadt", "Bergheim", "Talhausen", "Seefeld", "Waldkirch", "Rosental", "Brückenau", "Lindau"]
TOPICS = [
    ("eine neue Brücke", "Die Bauarbeiten sollen im Frühjahr beginnen."),
    ("einen Radweg", "Der Weg verbindet zwei Ortsteile entlang des Flusses."),
    ("die Sanierung der Grundschule", "Die Kinder ziehen für ein Jahr in Container."),
    ("ein Hallenbad", "Der Eintritt soll für Familien günstiger werden."),
    ("mehr Busverbindungen", "Künftig fährt der Bus auch am Sonntag im Stundentakt."),
]


def code(i: int) -> str:
    return f"KX{i:04d}"


def article(i: int, version: int = 1) -> dict:
    place, (topic, detail) = PLACES[i % len(PLACES)], TOPICS[i % len(TOPICS)]
    text = (
        f"Der Gemeinderat von {place} hat am Dienstag {topic} beschlossen (Vorlage {code(i)}). "
        f"{detail} Die Kosten liegen bei {100 + i * 7} Tausend Euro."
    )
    if version > 1:
        text += f" In Fassung {version} wurde der Beschluss noch einmal geändert."
    return {"id": f"art-{i:04d}", "title": f"{place}: Rat beschließt {topic} ({code(i)})", "text": text,
            "source": "Testblatt", "published": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"}


def write_jsonl(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
    return path
