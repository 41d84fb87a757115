#!/usr/bin/env python3
"""Generates services/kb/english_lexicon.inc from WordNet 3.0 (Debian: wordnet-base).

Two general English resources for retrieval, small enough to compile in:

  L <form> <base>          irregular inflections (bought -> buy, children -> child),
                           from WordNet's verb.exc, noun.exc and adj.exc;
  S <word> <syn> <syn>...  synonyms in a word's common senses: the synset is among the
                           first kSenses senses of the word AND of the synonym (WordNet
                           orders senses by frequency), and both are tagged in SemCor
                           (so "order" does not reach "club" through a rare sense); and
                           derivational relatives in such senses (cancellation ~ cancel).

Single words only, lower case, letters only. Keys and values are lemmas: the tokenizer
stems them at load time, so the file does not depend on the stemmer.

  apt-get install wordnet-base
  services/kb/tools/gen_english_lexicon.py > services/kb/english_lexicon.inc
"""
import collections
import os
import re
import sys

WN = os.environ.get("WNSEARCHDIR", "/usr/share/wordnet")
POS = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
kSenses = 2  # senses of a word whose synonyms count
WORD = re.compile(r"^[a-z]+$")

NOTICE = """WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO
REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT
LIMITATION, PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF
MERCHANTABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED
SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS,
COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS. The name of Princeton University or Princeton
may not be used in advertising or publicity pertaining to distribution of the software
and/or database. Title to copyright in this software, database and any associated
documentation shall at all times remain with Princeton University.
(Permission to use, copy, modify and distribute with this notice: WordNet 3.0 license.)"""


def senses():
    """(pos, lemma) -> list of synset offsets (most frequent first), tagged count."""
    out = {}
    for name, p in POS.items():
        with open(os.path.join(WN, "index." + name), encoding="latin-1") as f:
            for line in f:
                if line.startswith(" "):
                    continue
                parts = line.split()
                lemma, synset_cnt, p_cnt = parts[0], int(parts[2]), int(parts[3])
                tagged = int(parts[5 + p_cnt])
                offsets = parts[6 + p_cnt:6 + p_cnt + synset_cnt]
                out[(p, lemma)] = (offsets, tagged)
    return out


def synset_words():
    """(pos, offset) -> lemmas of the synset, and its derivational links
    (source word number, target pos, target offset, target word number)."""
    out, links = {}, {}
    for name, p in POS.items():
        with open(os.path.join(WN, "data." + name), encoding="latin-1") as f:
            for line in f:
                if line.startswith(" "):
                    continue
                parts = line.split()
                count = int(parts[3], 16)
                words = [re.sub(r"\(.*\)$", "", parts[4 + 2 * i]).lower() for i in range(count)]
                out[(p, parts[0])] = words
                at = 4 + 2 * count
                derived = []
                for k in range(int(parts[at])):
                    symbol, offset, tpos, st = parts[at + 1 + 4 * k:at + 5 + 4 * k]
                    if symbol == "+" and st != "0000":
                        derived.append((int(st[:2], 16), "a" if tpos == "s" else tpos, offset,
                                        int(st[2:], 16)))
                links[(p, parts[0])] = derived
    return out, links


def main():
    index = senses()
    synsets, links = synset_words()
    # Only the first kSenses senses, and only tagged ones (tagged senses come first).
    common = collections.defaultdict(set)  # (pos, offset) -> words for which it is common
    for (p, lemma), (offsets, tagged) in index.items():
        if not WORD.match(lemma):
            continue
        for offset in offsets[:min(kSenses, tagged)]:
            common[(p, offset)].add(lemma)
    syn = collections.defaultdict(set)
    for key, words in common.items():
        for w in words:
            for other in words:
                if other != w:
                    syn[w].add(other)
        # Derivational relatives ("+" pointers: cancellation ~ cancel, arrival ~ arrive)
        # where the sense is common for both words.
        for source, tpos, offset, target in links.get(key, []):
            w = synsets[key][source - 1]
            other = synsets[(tpos, offset)][target - 1]
            if w in words and other != w and other in common.get((tpos, offset), ()):
                syn[w].add(other)
                syn[other].add(w)

    lemmas = []
    for name in ("verb", "noun", "adj"):
        with open(os.path.join(WN, name + ".exc"), encoding="latin-1") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 2:
                    continue
                form, base = parts[0], parts[1]
                if WORD.match(form) and WORD.match(base) and form != base:
                    lemmas.append((form, base))
    seen = set()
    print("// Generated by services/kb/tools/gen_english_lexicon.py from WordNet 3.0; do not edit.")
    for line in NOTICE.splitlines():
        print("// " + line)
    print('R"LEX(')
    for form, base in sorted(lemmas):
        if form in seen:
            continue  # the first base of an ambiguous form (WordNet lists the common one first)
        seen.add(form)
        print(f"L {form} {base}")
    for w in sorted(syn):
        print("S " + w + " " + " ".join(sorted(syn[w])))
    print(')LEX"')


if __name__ == "__main__":
    sys.exit(main())
