"""German compound splitting by word frequencies (Koehn & Knight 2003, frequency-based method).

A word is split into known words, optionally joined by a linking element (Fugenelement:
-s-, -es-, -n-, -en-, -e-, -er-), when the geometric mean of the parts' frequencies exceeds the
frequency of the whole word. Frequencies come from the ``wordfreq`` package's German list, which
ships with the package (no download). "Hundesteuersatzung" → hunde | steuer | satzung.
"""

from __future__ import annotations

import math
from functools import lru_cache

from kreiswissen.text.normalize import fold

MIN_WORD = 8  # shorter words are almost never compounds worth splitting
MIN_PART = 4
MAX_PARTS = 4
# Three-letter heads and modifiers that are common in administrative compounds.
SHORT_PARTS = frozenset({"amt", "hof", "weg", "bad", "rat", "tag", "see", "ort", "bau", "eid", "not", "zug", "kur"})
LINKS = ("", "s", "es", "n", "en", "e", "er")
# Suffixes that look like words but are derivational endings; never a part on their own.
NOT_PARTS = frozenset({"ung", "heit", "keit", "schaft", "lich", "isch", "chen", "lein", "ling", "nis", "tion", "ion"})
MIN_PART_FREQ = 1e-7
# A linking element costs a factor of ~7 in frequency: "hunde|steuer" beats "hund|s|teuer".
LINK_PENALTY = 2.0


@lru_cache(maxsize=1)
def _frequencies() -> dict[str, float]:
    import wordfreq

    freqs: dict[str, float] = {}
    for word, freq in wordfreq.get_frequency_dict("de", wordlist="large").items():
        if freq < MIN_PART_FREQ or not word.isalpha():
            continue
        key = fold(word)
        if key in NOT_PARTS:
            continue
        if len(key) >= MIN_PART or key in SHORT_PARTS:
            freqs[key] = max(freq, freqs.get(key, 0.0))
    return freqs


def frequency(word: str) -> float:
    return _frequencies().get(fold(word), 0.0)


@lru_cache(maxsize=200_000)
def split_compound(word: str) -> tuple[str, ...]:
    """The parts of a compound, or ``()`` when the word is not split. Parts are folded (lower case)."""
    return _merge_lexicalised(_segment(fold(word)))


@lru_cache(maxsize=200_000)
def _segment(word: str) -> tuple[str, ...]:
    if len(word) < MIN_WORD or not word.isalpha():
        return ()
    freqs = _frequencies()
    n = len(word)

    # best[i] = (sum of log frequencies, parts) for the best segmentation of word[i:]
    best: list[tuple[float, tuple[str, ...]] | None] = [None] * (n + 1)
    best[n] = (0.0, ())
    for start in range(n - 1, -1, -1):
        candidates: list[tuple[float, tuple[str, ...]]] = []
        for end in range(start + 3, n + 1):
            part = word[start:end]
            freq = freqs.get(part)
            if freq is None:
                continue
            for link in LINKS:
                after = end + len(link)
                if after > n or word[end:after] != link:
                    continue
                if link and after == n:
                    continue  # a linking element never ends a word
                rest = best[after]
                if rest is None or len(rest[1]) >= MAX_PARTS:
                    continue
                penalty = LINK_PENALTY if link else 0.0
                candidates.append((math.log(freq) - penalty + rest[0], (part, *rest[1])))
        if candidates:
            # Geometric mean: compare by average log frequency, so fewer, more frequent parts win.
            best[start] = max(candidates, key=lambda c: c[0] / len(c[1]))
    result = best[0]
    if result is None or len(result[1]) < 2:
        return ()
    whole = freqs.get(word, 0.0)
    mean_log = result[0] / len(result[1])
    if whole > 0 and mean_log <= math.log(whole):
        return ()
    return result[1]


def _merge_lexicalised(parts: tuple[str, ...]) -> tuple[str, ...]:
    """Re-join neighbours that form a word the splitter keeps whole ("fried|hof" → "friedhof")."""
    if not parts:
        return ()
    merged = list(parts)
    changed = True
    while changed and len(merged) > 1:
        changed = False
        for i in range(len(merged) - 1):
            joined = merged[i] + merged[i + 1]
            if joined in _frequencies() and not _segment(joined):
                merged[i : i + 2] = [joined]
                changed = True
                break
    return tuple(merged) if len(merged) > 1 else ()
