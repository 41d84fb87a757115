#!/usr/bin/env python3
"""Synthetic knowledge entries for the 10,000-entry Ask latency measurement (docs/KB.md).

Reads a JSONL knowledge base and writes N more entries made of its own vocabulary
(random Han characters and English words drawn from its questions and answers), so
that common terms get long posting lists: the slow case for retrieval. They go into
categories "synthetic-00".."synthetic-39", which no real query expects.

    bench/kb/make_synthetic.py testdata/kb/kb.jsonl 9886 > /tmp/synthetic.jsonl
"""
import json
import random
import re
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    entries = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
    count = int(sys.argv[2])
    han, words = [], []
    for e in entries:
        text = e["question"] + " " + e["answer"]
        han += [c for c in text if "\u4e00" <= c <= "\u9fff"]
        words += re.findall(r"[A-Za-z]+", text)
    rng = random.Random(42)

    def text(zh, n):
        return "".join(rng.choice(han) for _ in range(n)) if zh else " ".join(
            rng.choice(words) for _ in range(n))

    for i in range(count):
        zh = i % 2 == 0
        line = {
            "id": "syn-%05d" % i,
            "category": "synthetic-%02d" % (i % 40),
            "question": text(zh, 12 if zh else 8),
            "keywords": [text(zh, 2 if zh else 1), text(zh, 3 if zh else 2), text(zh, 2 if zh else 1)],
            "answer": text(zh, 60 if zh else 35),
            "lang": "zh" if zh else "en",
            "phrasings": [text(zh, 10 if zh else 7)],
        }
        print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
