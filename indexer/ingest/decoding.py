"""Bytes to text: UTF-8 where it is UTF-8, else the encoding charset-normalizer detects, named.

Newsroom archives hold Latin-1 and Windows-1252 files (with „“ quotes and €) beside UTF-8 ones.
Strict UTF-8 (a BOM allowed) comes first: a valid UTF-8 file is never second-guessed. Anything
else is detected among the encodings such archives use (charset-normalizer, restricted to them: on
a few words of German it otherwise picks EBCDIC or UTF-16 for what is plainly Latin-1), and the
encoding used is returned so the caller can report it. Only bytes that fit no encoding are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

# Single-byte and legacy multi-byte encodings of Western and Central/Eastern European, Greek,
# Turkish, Baltic, Hebrew, Arabic, Thai and East Asian newsrooms, most likely first: where several
# fit a text equally well (a few words of German fit cp1252, cp1250 and Mac Roman alike), the first
# wins. DOS code pages are left out: on short German texts they win over what the text was written in.
CANDIDATES = [
    "cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp1251", "koi8_r", "cp1253", "iso8859_7",
    "cp1254", "cp1257", "cp1255", "cp1256", "cp874", "mac_roman", "shift_jis", "euc_jp", "gb18030", "big5", "euc_kr",
]
# How much better another encoding's text must read (charset-normalizer's coherence, 0-1) to beat a
# more likely one that fits as cleanly: on short texts coherence is noise (cp1252 German read as Mac
# Roman scored 0.29 against 0.25).
CLEARLY_MORE_COHERENT = 0.1
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Decoded:
    text: str  # line ends normalised to "\n"
    encoding: str | None  # None: UTF-8; else the name of the encoding used (a Python codec name)


def _normalised(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect(raw: bytes) -> Decoded | None:
    """The text in ``raw`` decoded with a detected encoding, or None if no encoding fits.

    charset-normalizer proposes the encodings whose text reads cleanly (least "chaos"); among those
    the most likely of :data:`CANDIDATES` is taken, unless another reads clearly more coherently.
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw, cp_isolation=CANDIDATES))
    if not matches:
        return None
    least = min(m.chaos for m in matches)
    clean = [m for m in matches if m.chaos <= least + 0.01]
    most_coherent = max(clean, key=lambda m: m.coherence)

    def likeliness(match) -> int:  # charset-normalizer groups encodings that give the same text
        return min(CANDIDATES.index(e) for e in match.could_be_from_charset if e in CANDIDATES)

    likeliest = min(clean, key=likeliness)
    chosen = most_coherent if most_coherent.coherence - likeliest.coherence > CLEARLY_MORE_COHERENT else likeliest
    name = CANDIDATES[likeliness(chosen)]
    return Decoded(_normalised(raw.decode(name)), name)


def decode(raw: bytes) -> Decoded:
    """UTF-8 (BOM allowed), UTF-16 with a BOM, or a detected legacy encoding.

    Raises ValueError for binary data (NUL bytes without a UTF-16 BOM) and for bytes that fit no
    encoding, naming the first byte that is not UTF-8.
    """
    if raw.startswith(UTF16_BOMS):
        try:
            return Decoded(_normalised(raw.decode("utf-16")), "utf_16")
        except UnicodeDecodeError:
            raise ValueError("not valid UTF-16 (it starts with a UTF-16 byte order mark)") from None
    if b"\x00" in raw:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        return Decoded(_normalised(raw.decode("utf-8-sig")), None)
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    detected = detect(raw)
    if detected is None:
        raise ValueError(f"not valid UTF-8 (byte {first_bad}), and no other text encoding fits: binary data?")
    return detected


def decoded_as(encoding: str) -> str:
    """The warning for a text that was not UTF-8."""
    return f"decoded as {encoding} (not UTF-8)"
