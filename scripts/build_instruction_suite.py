"""Build the committed instruction-induction suite in data/instructions (maintainers only).

Seven of InstructZero's instruction-induction tasks, as input -> output pairs: antonyms and
synonyms from WordNet 3.0, singular_to_plural by inflect over WordNet's nouns, first_word_letter
and letters_list over WordNet's words, and sum and diff of two numbers drawn with seed 0. Words are
WordNet's most frequent single lower-case words (SemCor tag counts in cntlist.rev), so that a
small language model knows them. Each task gets POOL pairs to draw exemplars and validation from
and TEST test pairs, shuffled with seed 0 (a rebuild gives the same files).
Writes data/instructions/<task>.jsonl (one {"split", "input", "output"} object a line) and
data/instructions/manifest.json. Usage: python scripts/build_instruction_suite.py
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter

import numpy as np
import sources

from fedbbpt_lite.datasets.instruction_sets import INSTRUCTION_DIR

POOL, TEST = 150, 100
WORD = re.compile(r"[a-z]{3,10}")
POS = {"a": "adj", "s": "adj", "n": "noun", "v": "verb", "r": "adv"}
# (description, the hand-written instruction every result is reported beside)
TASKS = {
    "antonyms": ("a word -> a word of opposite meaning (WordNet antonyms)",
                 "Write a word that means the opposite of the input word."),
    "synonyms": ("a word -> another word of the same synset (WordNet synonyms)",
                 "Write a word that means the same as the input word."),
    "singular_to_plural": ("a noun -> its plural (inflect)", "Write the plural of the input noun."),
    "first_word_letter": ("a word -> its first letter",
                          "Write the first letter of the input word."),
    "letters_list": ("a word -> its letters, space-separated",
                     "Spell the input word with a space between the letters."),
    "sum": ("two numbers from 0 to 99 -> their sum", "Add the two numbers."),
    "diff": ("two numbers from 0 to 99, the first the larger -> their difference",
             "Subtract the second number from the first."),
}  # fmt: skip


def frequencies(folder) -> tuple[Counter, Counter]:
    """How often each lemma was tagged in SemCor over all its senses, and each sense by key."""
    lemmas: Counter = Counter()
    senses: Counter = Counter()
    for line in (folder / "cntlist.rev").read_text().splitlines():
        key, _, count = line.split()
        lemmas[key.split("%")[0]] += int(count)
        senses[key] += int(count)
    return lemmas, senses


def synsets(folder, pos: str):
    """(lemmas, sense keys, antonym pointers) of each synset of one part of speech; pointers as
    (source word number, target synset offset, target word number). Satellite adjectives get no
    sense key (theirs names a head word)."""
    for line in (folder / f"data.{pos}").read_text().splitlines():
        if line.startswith(" "):  # the licence header
            continue
        fields = line.split(" | ")[0].split()
        count = int(fields[3], 16)
        words = fields[4 : 4 + 2 * count : 2]
        lemmas = [re.sub(r"\(.*\)$", "", w).lower() for w in words]
        kind = "nvar".find(fields[2]) + 1  # WordNet's ss_type numbers; satellites (s) are 0
        keys = [
            f"{lemma}%{kind}:{fields[1]}:{int(lex_id, 16):02d}::" if kind else ""
            for lemma, lex_id in zip(lemmas, fields[5 : 5 + 2 * count : 2], strict=True)
        ]
        rest = fields[4 + 2 * count :]
        pointers = [rest[1 + 4 * i : 5 + 4 * i] for i in range(int(rest[0]))]
        antonyms = [
            (int(where[:2], 16), offset, int(where[2:], 16))
            for symbol, offset, _, where in pointers
            if symbol == "!"
        ]
        yield fields[0], lemmas, keys, antonyms


def common(words, counts: Counter, least: int = 3) -> list[str]:
    """Single lower-case words tagged at least `least` times, most frequent first."""
    kept = {w for w in words if WORD.fullmatch(w) and counts[w] >= least}
    return sorted(kept, key=lambda w: (-counts[w], w))


def word_pairs(folder, counts: Counter, senses: Counter) -> dict[str, dict[str, str]]:
    """antonyms (WordNet's antonym pointers between common words) and synonyms (two words of a
    synset in which both are tagged at least twice: a sense common for each), the most frequent
    partner of each input word."""
    antonyms: dict[str, Counter] = {}
    synonyms: dict[str, Counter] = {}
    for pos in ("adj", "noun", "verb", "adv"):
        table = {offset: lemmas for offset, lemmas, _, _ in synsets(folder, pos)}
        for _, lemmas, keys, pointers in synsets(folder, pos):
            for source, target, number in pointers:
                a, b = lemmas[source - 1], table[target][number - 1]
                if a != b and len(common([a, b], counts)) == 2:
                    antonyms.setdefault(a, Counter())[b] += counts[b]
            used = [w for w, key in zip(lemmas, keys, strict=True) if senses[key] >= 2]
            for a in common(used, counts):
                for b in common(used, counts):
                    if a != b and a not in b and b not in a:
                        synonyms.setdefault(a, Counter())[b] += senses[keys[lemmas.index(b)]]
    best = {}
    for name, partners in (("antonyms", antonyms), ("synonyms", synonyms)):
        inputs = sorted(partners, key=lambda w: (-counts[w], w))
        best[name] = {w: partners[w].most_common(1)[0][0] for w in inputs}
    return best


def pairs_of(folder, rng: np.random.Generator) -> dict[str, list[tuple]]:
    """Every task's candidate pairs, more than POOL + TEST each."""
    counts, senses = frequencies(folder)
    found = word_pairs(folder, counts, senses)
    pairs = {name: list(by_input.items()) for name, by_input in found.items()}
    # nouns written in lower case somewhere in WordNet: no names (Illinois) or other proper nouns
    nouns = {
        word
        for line in (folder / "data.noun").read_text().splitlines()
        if not line.startswith(" ")
        for word in line.split()[4 : 4 + 2 * int(line.split()[3], 16) : 2]
        if word.islower()
    }
    engine = sources.inflect_engine()
    plurals = {noun: engine.plural_noun(noun) for noun in common(nouns, counts)}
    # a noun whose plural is itself (sheep, and mass nouns to inflect) has nothing to show
    pairs["singular_to_plural"] = [(s, p) for s, p in plurals.items() if p != s]
    words = common(counts, counts, least=10)
    pairs["first_word_letter"] = [(w, w[0]) for w in words]
    pairs["letters_list"] = [(w, " ".join(w)) for w in words]
    numbers = rng.integers(0, 100, size=(4 * (POOL + TEST), 2))
    pairs["sum"] = [(f"{a} {b}", str(a + b)) for a, b in numbers]
    pairs["diff"] = [(f"{max(a, b)} {min(a, b)}", str(abs(a - b))) for a, b in numbers]
    return pairs


def main() -> None:
    folder = sources.wordnet_folder()
    rng = np.random.default_rng(0)
    manifest = {}
    INSTRUCTION_DIR.mkdir(parents=True, exist_ok=True)
    for name, found in pairs_of(folder, rng).items():
        found = list(dict(found).items())  # one output per input
        if len(found) < POOL + TEST:
            raise RuntimeError(f"{name}: {len(found)} pairs, fewer than {POOL + TEST}")
        chosen = [found[i] for i in rng.permutation(len(found))[: POOL + TEST]]
        rows = [
            {"split": "train" if i < POOL else "test", "input": a, "output": b}
            for i, (a, b) in enumerate(chosen)
        ]
        path = INSTRUCTION_DIR / f"{name}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        description, instruction = TASKS[name]
        manifest[name] = {
            "description": description,
            "instruction": instruction,
            "metric": "contains" if name == "synonyms" else "em",  # InstructZero's metrics
            "pool": POOL,
            "test": TEST,
            "source": "WordNet 3.0 (Debian wordnet-base)"
            + (", inflect 7.5.0" if name == "singular_to_plural" else "")
            if name not in ("sum", "diff")
            else "generated (numpy seed 0)",
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
        print(f"{name}: {len(found)} candidate pairs; e.g. {chosen[0]}, {chosen[1]}")
    (INSTRUCTION_DIR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
