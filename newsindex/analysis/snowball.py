"""The English Snowball (Porter2) stemmer as nltk implements it, without importing nltk.

nltk's ``nltk.stem.snowball`` can only be imported with nltk's whole package, whose
``__init__`` imports most of nltk (and scipy.stats, where scipy is installed): a search that
met its first word missing from the index's stem tables paid that import, in time and in
memory, as did every build (figures in benchmarks/RESULTS.md). This module is nltk's
``EnglishStemmer`` (nltk 3.10.4, ``nltk/stem/snowball.py``), copied with its docstrings left
out, types annotated and three shortcuts that leave every stem as it was: each step's loop
over its suffixes runs only when one ``endswith`` over the whole tuple finds one (a loop that
finds none does nothing), R1 and R2 are found with a regular expression instead of a loop
over letters, and the loop marking a "y" after a vowel runs only on words with a "y" past
their first letter. The stems stay nltk's:
``tests/test_stemmer.py`` holds it equal to the installed nltk on every word of the bundled
sample and on generated words. nltk's own stemmer differs from the Snowball project's current
English stemmer on a few hundred words in a million (PyStemmer's), which is why it is not
used instead.

Copyright (C) 2001-2026 NLTK Project. Authors: Peter Michael Stahl, Peter Ljunglof
(revisions); algorithm: Dr Martin Porter. Licensed under the Apache License, Version 2.0
(its text beside this file, NLTK-LICENSE.txt), as nltk is; this file is a modified copy
(docstrings removed, types annotated, the class made standalone, the shortcuts above).
"""

from __future__ import annotations

import re

#: A vowel followed by a non-vowel: R1 starts after the first such pair, R2 after the next.
_VOWEL_THEN_OTHER = re.compile("[aeiouy][^aeiouy]")


def suffix_replace(original: str, old: str, new: str) -> str:
    return original[: -len(old)] + new


class _EnglishStemmer:
    __vowels = "aeiouy"
    __double_consonants = ("bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
    __li_ending = "cdeghkmnrt"
    __step0_suffixes = ("'s'", "'s", "'")
    __step1a_suffixes = ("sses", "ied", "ies", "us", "ss", "s")
    __step1b_suffixes = ("eedly", "ingly", "edly", "eed", "ing", "ed")
    __step2_suffixes = (
        "ization",
        "ational",
        "fulness",
        "ousness",
        "iveness",
        "tional",
        "biliti",
        "lessli",
        "entli",
        "ation",
        "alism",
        "aliti",
        "ousli",
        "iviti",
        "fulli",
        "enci",
        "anci",
        "abli",
        "izer",
        "ator",
        "alli",
        "bli",
        "ogi",
        "li",
    )
    __step3_suffixes = (
        "ational",
        "tional",
        "alize",
        "icate",
        "iciti",
        "ative",
        "ical",
        "ness",
        "ful",
    )
    __step4_suffixes = (
        "ement",
        "ance",
        "ence",
        "able",
        "ible",
        "ment",
        "ant",
        "ent",
        "ism",
        "ate",
        "iti",
        "ous",
        "ive",
        "ize",
        "ion",
        "al",
        "er",
        "ic",
    )
    __step5_suffixes = ("e", "l")
    __special_words = {
        "skis": "ski",
        "skies": "sky",
        "dying": "die",
        "lying": "lie",
        "tying": "tie",
        "idly": "idl",
        "gently": "gentl",
        "ugly": "ugli",
        "early": "earli",
        "only": "onli",
        "singly": "singl",
        "sky": "sky",
        "news": "news",
        "howe": "howe",
        "atlas": "atlas",
        "cosmos": "cosmos",
        "bias": "bias",
        "andes": "andes",
        "inning": "inning",
        "innings": "inning",
        "outing": "outing",
        "outings": "outing",
        "canning": "canning",
        "cannings": "canning",
        "herring": "herring",
        "herrings": "herring",
        "earring": "earring",
        "earrings": "earring",
        "proceed": "proceed",
        "proceeds": "proceed",
        "proceeded": "proceed",
        "proceeding": "proceed",
        "exceed": "exceed",
        "exceeds": "exceed",
        "exceeded": "exceed",
        "exceeding": "exceed",
        "succeed": "succeed",
        "succeeds": "succeed",
        "succeeded": "succeed",
        "succeeding": "succeed",
    }

    stopwords: frozenset[str] = frozenset()

    def _r1r2_standard(self, word: str, vowels: str) -> tuple[str, str]:
        # nltk's two loops find the first non-vowel after a vowel: one regex search each.
        m = _VOWEL_THEN_OTHER.search(word)
        r1 = word[m.end() :] if m else ""
        m = _VOWEL_THEN_OTHER.search(r1)
        r2 = r1[m.end() :] if m else ""
        return (r1, r2)

    def stem(self, word: str) -> str:
        word = word.lower()

        if word in self.stopwords or len(word) <= 2:
            return word

        elif word in self.__special_words:
            return self.__special_words[word]

        # Map the different apostrophe characters to a single consistent one
        word = word.replace("\u2019", "\x27").replace("\u2018", "\x27").replace("\u201b", "\x27")

        if word.startswith("\x27"):
            word = word[1:]

        if word.startswith("y"):
            word = "".join(("Y", word[1:]))

        # In-place mutation joined once; a per-match rebuild was O(n**2) on a
        # crafted token (CWE-407).
        if "y" in word[1:]:
            chars = list(word)
            for i in range(1, len(chars)):
                if chars[i - 1] in self.__vowels and chars[i] == "y":
                    chars[i] = "Y"
            word = "".join(chars)

        step1a_vowel_found = False
        step1b_vowel_found = False

        r1 = ""
        r2 = ""

        if word.startswith(("gener", "commun", "arsen")):
            if word.startswith(("gener", "arsen")):
                r1 = word[5:]
            else:
                r1 = word[6:]

            m = _VOWEL_THEN_OTHER.search(r1)
            r2 = r1[m.end() :] if m else ""
        else:
            r1, r2 = self._r1r2_standard(word, self.__vowels)

        # STEP 0
        if word.endswith(self.__step0_suffixes):  # one C call rejects most words
            for suffix in self.__step0_suffixes:
                if word.endswith(suffix):
                    word = word[: -len(suffix)]
                    r1 = r1[: -len(suffix)]
                    r2 = r2[: -len(suffix)]
                    break

        # STEP 1a
        if word.endswith(self.__step1a_suffixes):  # one C call rejects most words
            for suffix in self.__step1a_suffixes:
                if word.endswith(suffix):
                    if suffix == "sses":
                        word = word[:-2]
                        r1 = r1[:-2]
                        r2 = r2[:-2]

                    elif suffix in ("ied", "ies"):
                        if len(word[: -len(suffix)]) > 1:
                            word = word[:-2]
                            r1 = r1[:-2]
                            r2 = r2[:-2]
                        else:
                            word = word[:-1]
                            r1 = r1[:-1]
                            r2 = r2[:-1]

                    elif suffix == "s":
                        for letter in word[:-2]:
                            if letter in self.__vowels:
                                step1a_vowel_found = True
                                break

                        if step1a_vowel_found:
                            word = word[:-1]
                            r1 = r1[:-1]
                            r2 = r2[:-1]
                    break

        # STEP 1b
        if word.endswith(self.__step1b_suffixes):  # one C call rejects most words
            for suffix in self.__step1b_suffixes:
                if word.endswith(suffix):
                    if suffix in ("eed", "eedly"):
                        if r1.endswith(suffix):
                            word = suffix_replace(word, suffix, "ee")

                            if len(r1) >= len(suffix):
                                r1 = suffix_replace(r1, suffix, "ee")
                            else:
                                r1 = ""

                            if len(r2) >= len(suffix):
                                r2 = suffix_replace(r2, suffix, "ee")
                            else:
                                r2 = ""
                    else:
                        for letter in word[: -len(suffix)]:
                            if letter in self.__vowels:
                                step1b_vowel_found = True
                                break

                        if step1b_vowel_found:
                            word = word[: -len(suffix)]
                            r1 = r1[: -len(suffix)]
                            r2 = r2[: -len(suffix)]

                            if word.endswith(("at", "bl", "iz")):
                                word = "".join((word, "e"))
                                r1 = "".join((r1, "e"))

                                if len(word) > 5 or len(r1) >= 3:
                                    r2 = "".join((r2, "e"))

                            elif word.endswith(self.__double_consonants):
                                word = word[:-1]
                                r1 = r1[:-1]
                                r2 = r2[:-1]

                            elif (
                                r1 == ""
                                and len(word) >= 3
                                and word[-1] not in self.__vowels
                                and word[-1] not in "wxY"
                                and word[-2] in self.__vowels
                                and word[-3] not in self.__vowels
                            ) or (
                                r1 == ""
                                and len(word) == 2
                                and word[0] in self.__vowels
                                and word[1] not in self.__vowels
                            ):
                                word = "".join((word, "e"))

                                if len(r1) > 0:
                                    r1 = "".join((r1, "e"))

                                if len(r2) > 0:
                                    r2 = "".join((r2, "e"))
                    break

        # STEP 1c
        if len(word) > 2 and word[-1] in "yY" and word[-2] not in self.__vowels:
            word = "".join((word[:-1], "i"))
            if len(r1) >= 1:
                r1 = "".join((r1[:-1], "i"))
            else:
                r1 = ""

            if len(r2) >= 1:
                r2 = "".join((r2[:-1], "i"))
            else:
                r2 = ""

        # STEP 2
        if word.endswith(self.__step2_suffixes):  # one C call rejects most words
            for suffix in self.__step2_suffixes:
                if word.endswith(suffix):
                    if r1.endswith(suffix):
                        if suffix == "tional":
                            word = word[:-2]
                            r1 = r1[:-2]
                            r2 = r2[:-2]

                        elif suffix in ("enci", "anci", "abli"):
                            word = "".join((word[:-1], "e"))

                            if len(r1) >= 1:
                                r1 = "".join((r1[:-1], "e"))
                            else:
                                r1 = ""

                            if len(r2) >= 1:
                                r2 = "".join((r2[:-1], "e"))
                            else:
                                r2 = ""

                        elif suffix == "entli":
                            word = word[:-2]
                            r1 = r1[:-2]
                            r2 = r2[:-2]

                        elif suffix in ("izer", "ization"):
                            word = suffix_replace(word, suffix, "ize")

                            if len(r1) >= len(suffix):
                                r1 = suffix_replace(r1, suffix, "ize")
                            else:
                                r1 = ""

                            if len(r2) >= len(suffix):
                                r2 = suffix_replace(r2, suffix, "ize")
                            else:
                                r2 = ""

                        elif suffix in ("ational", "ation", "ator"):
                            word = suffix_replace(word, suffix, "ate")

                            if len(r1) >= len(suffix):
                                r1 = suffix_replace(r1, suffix, "ate")
                            else:
                                r1 = ""

                            if len(r2) >= len(suffix):
                                r2 = suffix_replace(r2, suffix, "ate")
                            else:
                                r2 = "e"

                        elif suffix in ("alism", "aliti", "alli"):
                            word = suffix_replace(word, suffix, "al")

                            if len(r1) >= len(suffix):
                                r1 = suffix_replace(r1, suffix, "al")
                            else:
                                r1 = ""

                            if len(r2) >= len(suffix):
                                r2 = suffix_replace(r2, suffix, "al")
                            else:
                                r2 = ""

                        elif suffix == "fulness":
                            word = word[:-4]
                            r1 = r1[:-4]
                            r2 = r2[:-4]

                        elif suffix in ("ousli", "ousness"):
                            word = suffix_replace(word, suffix, "ous")

                            if len(r1) >= len(suffix):
                                r1 = suffix_replace(r1, suffix, "ous")
                            else:
                                r1 = ""

                            if len(r2) >= len(suffix):
                                r2 = suffix_replace(r2, suffix, "ous")
                            else:
                                r2 = ""

                        elif suffix in ("iveness", "iviti"):
                            word = suffix_replace(word, suffix, "ive")

                            if len(r1) >= len(suffix):
                                r1 = suffix_replace(r1, suffix, "ive")
                            else:
                                r1 = ""

                            if len(r2) >= len(suffix):
                                r2 = suffix_replace(r2, suffix, "ive")
                            else:
                                r2 = "e"

                        elif suffix in ("biliti", "bli"):
                            word = suffix_replace(word, suffix, "ble")

                            if len(r1) >= len(suffix):
                                r1 = suffix_replace(r1, suffix, "ble")
                            else:
                                r1 = ""

                            if len(r2) >= len(suffix):
                                r2 = suffix_replace(r2, suffix, "ble")
                            else:
                                r2 = ""

                        elif suffix == "ogi" and word[-4] == "l":
                            word = word[:-1]
                            r1 = r1[:-1]
                            r2 = r2[:-1]

                        elif suffix in ("fulli", "lessli"):
                            word = word[:-2]
                            r1 = r1[:-2]
                            r2 = r2[:-2]

                        elif suffix == "li" and word[-3] in self.__li_ending:
                            word = word[:-2]
                            r1 = r1[:-2]
                            r2 = r2[:-2]
                    break

        # STEP 3
        if word.endswith(self.__step3_suffixes):  # one C call rejects most words
            for suffix in self.__step3_suffixes:
                if word.endswith(suffix):
                    if r1.endswith(suffix):
                        if suffix == "tional":
                            word = word[:-2]
                            r1 = r1[:-2]
                            r2 = r2[:-2]

                        elif suffix == "ational":
                            word = suffix_replace(word, suffix, "ate")

                            if len(r1) >= len(suffix):
                                r1 = suffix_replace(r1, suffix, "ate")
                            else:
                                r1 = ""

                            if len(r2) >= len(suffix):
                                r2 = suffix_replace(r2, suffix, "ate")
                            else:
                                r2 = ""

                        elif suffix == "alize":
                            word = word[:-3]
                            r1 = r1[:-3]
                            r2 = r2[:-3]

                        elif suffix in ("icate", "iciti", "ical"):
                            word = suffix_replace(word, suffix, "ic")

                            if len(r1) >= len(suffix):
                                r1 = suffix_replace(r1, suffix, "ic")
                            else:
                                r1 = ""

                            if len(r2) >= len(suffix):
                                r2 = suffix_replace(r2, suffix, "ic")
                            else:
                                r2 = ""

                        elif suffix in ("ful", "ness"):
                            word = word[: -len(suffix)]
                            r1 = r1[: -len(suffix)]
                            r2 = r2[: -len(suffix)]

                        elif suffix == "ative" and r2.endswith(suffix):
                            word = word[:-5]
                            r1 = r1[:-5]
                            r2 = r2[:-5]
                    break

        # STEP 4
        if word.endswith(self.__step4_suffixes):  # one C call rejects most words
            for suffix in self.__step4_suffixes:
                if word.endswith(suffix):
                    if r2.endswith(suffix):
                        if suffix == "ion":
                            if word[-4] in "st":
                                word = word[:-3]
                                r1 = r1[:-3]
                                r2 = r2[:-3]
                        else:
                            word = word[: -len(suffix)]
                            r1 = r1[: -len(suffix)]
                            r2 = r2[: -len(suffix)]
                    break

        # STEP 5
        if r2.endswith("l") and word[-2] == "l":
            word = word[:-1]
        elif r2.endswith("e"):
            word = word[:-1]
        elif r1.endswith("e"):
            if len(word) >= 4 and (
                word[-2] in self.__vowels
                or word[-2] in "wxY"
                or word[-3] not in self.__vowels
                or word[-4] in self.__vowels
            ):
                word = word[:-1]

        word = word.replace("Y", "y")

        return word


_STEMMER = _EnglishStemmer()


def stem(word: str) -> str:
    """``nltk.stem.snowball.EnglishStemmer().stem(word)``."""
    return _STEMMER.stem(word)
