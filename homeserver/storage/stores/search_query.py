"""A search term, parsed once and written out for each engine's full-text syntax.

The language is a small web-search one, the same on SQLite and PostgreSQL:
words must all match (each also as the start of a longer word: ``hel`` finds
``hello``), ``"a quoted phrase"`` matches its words in order, ``a or b``
matches either, and ``-word`` excludes events with that word. Anything else
(punctuation, unbalanced quotes) is taken as a separator, so no input is a
syntax error. Stemming comes from each engine (FTS5 ``porter``, PostgreSQL's
``english`` configuration), so ``running`` finds ``runs`` on both.
"""

from __future__ import annotations

import re

import attrs

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)
# Bound the work one request can ask of the index.
MAX_TERMS = 32


@attrs.frozen
class Term:
    """Words that match together: one word (also as a prefix), or a phrase."""

    words: tuple[str, ...]

    @property
    def prefix(self) -> bool:
        return len(self.words) == 1

    def fts5(self) -> str:
        quoted = '"' + " ".join(self.words) + '"'
        return quoted + "*" if self.prefix else quoted

    def tsquery(self) -> str:
        if self.prefix:
            return self.words[0] + ":*"
        return "(" + " <-> ".join(self.words) + ")"


@attrs.frozen
class SearchTerms:
    """A parsed search term.

    Args:
        groups: every group must match; a group matches if any of its terms does.
        excluded: no term of these may match.
    """

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing to look for: matches no event."""
        return not self.groups

    @property
    def words(self) -> list[str]:
        """The words looked for (not the excluded ones), lower-cased, in order."""
        seen = dict.fromkeys(w.lower() for g in self.groups for t in g for w in t.words)
        return list(seen)

    def fts5(self) -> str:
        """An SQLite FTS5 MATCH expression."""
        positive = " AND ".join(
            "(" + " OR ".join(t.fts5() for t in group) + ")" for group in self.groups
        )
        return positive + "".join(" NOT " + t.fts5() for t in self.excluded)

    def tsquery(self) -> str:
        """A PostgreSQL ``to_tsquery`` expression."""
        parts = [
            "(" + " | ".join(t.tsquery() for t in group) + ")" for group in self.groups
        ]
        parts += ["!" + t.tsquery() for t in self.excluded]
        return " & ".join(parts)


def parse_search_term(text: str) -> SearchTerms:
    """``text`` as a client typed it, parsed (never an error)."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    join_next = False
    for match in _TOKEN.finditer(text):
        negated, phrase, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None:
            if bare.lower() == "or":
                join_next = bool(groups)
                continue
            negated = "-" if bare.startswith("-") and len(bare) > 1 else ""
            phrase = bare
        words = tuple(w.lower() for w in _WORD.findall(phrase or ""))
        if not words:
            continue
        term = Term(words)
        if negated:
            excluded.append(term)
        elif join_next:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
        if len(groups) + len(excluded) >= MAX_TERMS:
            break
    return SearchTerms(tuple(tuple(g) for g in groups), tuple(excluded))
