"""Patterns over text that several stages share, each with one home (a second copy drifts).

- ``INVISIBLE`` / :func:`strip_invisible`: characters people can't see but models read (zero-width,
  bidi controls, BOM, soft hyphen, the Unicode "tag" block used to hide instructions).
- ``CITATION``: a citation marker such as ``[3]``; group 1 is the number.
- :func:`indefinite`: "a" or "an" before a name ("an SRE", "a data analyst", "an MBA").
"""

from __future__ import annotations

import re

INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
# Up to three digits: an answer never cites more sources than that, and "[2026]" stays a year, not a citation.
CITATION = re.compile(r"\[(\d{1,3})\]")


def strip_invisible(text: str) -> str:
    return INVISIBLE.sub("", text)


ACRONYM_AN = "AEFHILMNORSX"  # letters read with a vowel sound first: "an ML ...", "an SRE"


def indefinite(name: str) -> str:
    """ "a" or "an" before ``name`` (English spelling and acronyms; rare exceptions like "hour" aside)."""
    first = (name.split() or [""])[0]
    if len(first) >= 2 and first.isupper():
        return "an" if first[0] in ACRONYM_AN else "a"
    return "an" if first[:1].lower() in "aeiou" else "a"
