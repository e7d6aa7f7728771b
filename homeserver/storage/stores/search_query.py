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
    """Words that match together: one word (also as a prefix), or a phrase.

    Args:
        words: the words, as this module splits them (for FTS5).
        text: the phrase as typed, for PostgreSQL's own parser (which keeps
            ``3.14`` one token and drops stop words like the ``t`` of ``don't``).
    """

    words: tuple[str, ...]
    text: str = ""

    @property
    def prefix(self) -> bool:
        return len(self.words) == 1

    def fts5(self) -> str:
        quoted = '"' + " ".join(self.words) + '"'
        return quoted + "*" if self.prefix else quoted

    def tsquery(self, config: str) -> tuple[str, str]:
        """A tsquery expression with one ``?`` placeholder, and its argument."""
        if self.prefix:
            return f"to_tsquery('{config}', ?)", self.words[0] + ":*"
        return f"phraseto_tsquery('{config}', ?)", self.text


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

    def tsquery(self, config: str) -> tuple[str, list[str]]:
        """A PostgreSQL tsquery expression (``?`` placeholders) and its args,
        combined with the tsquery operators ``&&``, ``||`` and ``!!``."""
        parts: list[str] = []
        args: list[str] = []
        for group in self.groups:
            rendered = [t.tsquery(config) for t in group]
            parts.append("(" + " || ".join(sql for sql, _ in rendered) + ")")
            args += [arg for _, arg in rendered]
        for term in self.excluded:
            sql, arg = term.tsquery(config)
            parts.append(f"(!! {sql})")
            args.append(arg)
        return " && ".join(parts), args


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
            phrase = bare[1:] if negated else bare
        words = tuple(w.lower() for w in _WORD.findall(phrase or ""))
        if not words:
            continue
        term = Term(words, phrase or "")
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
