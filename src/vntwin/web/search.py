"""The search form of the pages, turned into ``package_search`` parameters and back.

Facet choices travel as plain query parameters (``?organization=x&tags=y``) so that result
pages are bookmarkable links; each becomes an ``fq`` clause with the value quoted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from vntwin.catalog.search import SearchParams

FACETS = ("organization", "groups", "tags", "res_format", "license_id", "access_level",
          "theme")
SORTS = {
    "relevance": "score desc, metadata_modified desc",
    "modified": "metadata_modified desc",
    "name": "title_string asc",
}
PAGE_SIZE = 20
MAX_PAGE = 500  # deeper pages are better reached by narrowing the search
MAX_Q = 500


def quote_value(value: str) -> str:
    """A value as a quoted Solr term (backslash-escaped quotes and backslashes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class SearchForm:
    """What the visitor asked for."""

    q: str = ""
    chosen: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1

    @classmethod
    def from_query(cls, query: QueryParams) -> SearchForm:
        """Read the form from a query string, ignoring what it cannot use."""
        chosen = {f: [v[:200] for v in query.getlist(f) if v][:10] for f in FACETS}
        sort = query.get("sort", "relevance")
        try:
            page = int(query.get("page", "1"))
        except ValueError:
            page = 1
        return cls(q=query.get("q", "").strip()[:MAX_Q],
                   chosen={k: v for k, v in chosen.items() if v},
                   sort=sort if sort in SORTS else "relevance",
                   page=min(max(page, 1), MAX_PAGE))

    def params(self, actor_signed_in: bool, extra_fq: list[str] | None = None) -> SearchParams:
        """``package_search`` parameters; signed-in users also see the private datasets
        their access allows (the search applies the access levels).
        """
        fq = list(extra_fq or [])
        for fname, values in self.chosen.items():
            fq += [f"{fname}:{quote_value(v)}" for v in values]
        return SearchParams(q=self.q, fq=fq, rows=PAGE_SIZE, start=(self.page - 1) * PAGE_SIZE,
                            sort=SORTS[self.sort], facet_fields=list(FACETS), facet_limit=10,
                            include_private=actor_signed_in)

    def pairs(self) -> list[tuple[str, str]]:
        """The form as query pairs (without the page)."""
        out = [("q", self.q)] if self.q else []
        for fname, values in self.chosen.items():
            out += [(fname, v) for v in values]
        if self.sort != "relevance":
            out.append(("sort", self.sort))
        return out

    def link(self, path: str, *, page: int | None = None, toggle: tuple[str, str] | None = None,
             ) -> str:
        """A link to the same search on another page, or with a facet value toggled."""
        pairs = self.pairs()
        if toggle is not None:
            pairs = [p for p in pairs if p != toggle] if toggle in pairs else [*pairs, toggle]
        if page and page > 1 and toggle is None:
            pairs.append(("page", str(page)))
        return f"{path}?{urlencode(pairs)}" if pairs else path

    def is_chosen(self, fname: str, value: str) -> bool:
        """Whether a facet value is part of the search."""
        return value in self.chosen.get(fname, [])


def pages(count: int, page: int) -> dict[str, int]:
    """Paging numbers for the template."""
    last = max(1, min(MAX_PAGE, (count + PAGE_SIZE - 1) // PAGE_SIZE))
    return {"page": page, "last": last, "first_shown": (page - 1) * PAGE_SIZE + 1 if count else 0,
            "last_shown": min(count, page * PAGE_SIZE)}
