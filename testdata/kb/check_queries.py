#!/usr/bin/env python3
"""Checks a held-out query set against the knowledge base and the other query sets.

A held-out query must be a paraphrase: not equal (after folding case, width and
punctuation) to any stored question, phrasing or keyword, nor to a query of another set.
Every expected_id must exist; null means the bot must escalate.

  testdata/kb/check_queries.py testdata/kb/queries_heldout_v3.jsonl
"""
import glob
import json
import os
import re
import sys
import unicodedata


def norm(text):
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


def main(path):
    here = os.path.dirname(os.path.abspath(__file__))
    stored, ids = {}, set()
    with open(os.path.join(here, "kb.jsonl"), encoding="utf-8") as f:
        for line in f:
            e = json.loads(line)
            ids.add(e["id"])
            for t in [e["question"]] + e.get("phrasings", []) + e["keywords"]:
                stored[norm(t)] = e["id"]
    others = {}
    for other in glob.glob(os.path.join(here, "queries_*.jsonl")):
        if os.path.abspath(other) == os.path.abspath(path):
            continue
        with open(other, encoding="utf-8") as f:
            for line in f:
                others[norm(json.loads(line)["query"])] = os.path.basename(other)
    errors, seen, escalate, han = [], set(), 0, 0
    with open(path, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    for n, q in enumerate(lines, 1):
        key = norm(q["query"])
        if key in stored:
            errors.append(f"{n}: equals a stored text of {stored[key]}: {q['query']}")
        if key in others:
            errors.append(f"{n}: also in {others[key]}: {q['query']}")
        if key in seen:
            errors.append(f"{n}: duplicate: {q['query']}")
        seen.add(key)
        if q.get("expected_id") is None:
            escalate += 1
        elif q["expected_id"] not in ids:
            errors.append(f"{n}: unknown expected_id {q['expected_id']}")
        han += bool(re.search(r"[\u4e00-\u9fff]", q["query"]))
    print(f"{path}: {len(lines)} queries, {escalate} must escalate "
          f"({escalate / max(1, len(lines)):.0%}), {han} Chinese, {len(lines) - han} English")
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
