"""Checking the edge rows of an import, column by column.

A mixin of the importer (renkei.graph.io.importer._Import), kept apart for size. A million edges
cost a dozen Python operations each when checked row by row (~3 s); here each step is one pass of
C-level lookups over a whole column (an id to its node index, a kind to its code, the attribute
cells to their cleaned set) and numpy over the resulting arrays. Only the rows that miss a plain
lookup go through the per-row rules (a cell to clean, a registry code, an error).

The errors are the ones the per-row rules give, in the same order as checking row by row: each is
kept with its row and its step (source, target, kind, ends, attributes) and reported sorted.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from renkei.graph.choices import EdgeKind, NodeKind
from renkei.graph.io import validation as rules

EDGE_KINDS = list(EdgeKind.values)
EDGE_CODE = {kind: code for code, kind in enumerate(EDGE_KINDS)}
NODE_CODE = {kind: code for code, kind in enumerate(NodeKind.values)}
UNKNOWN_KIND = len(NODE_CODE)  # a node kind stored before the current list: joins nothing
# rules.ALLOWED as an array: ALLOWED[edge kind, source node kind, target node kind].
ALLOWED = np.zeros((len(EDGE_KINDS), UNKNOWN_KIND + 1, UNKNOWN_KIND + 1), dtype=bool)
for _edge, _source, _target in rules.ALLOWED:
    ALLOWED[EDGE_CODE[_edge], NODE_CODE[_source], NODE_CODE[_target]] = True

# The steps of one row's check, in the order its problems are listed.
SOURCE, TARGET, KIND, ENDS, ATTRIBUTES = range(5)

Report = Callable[[Any, int, str, str], None]  # (table, row index, column, reason)
Found = list[tuple[int, int, str, str]]  # (row index, step, column, reason)


class EdgeChecker(ABC):
    # Filled by the importer before parse_edges runs (the map's nodes, then the file's).
    keys: list[str]
    kinds: list[str]
    index: dict[str, int]
    registry: dict[str, tuple[int, str, int, str]]
    implicit: list[int]

    @abstractmethod
    def error(self, table: Any, index: int | None, column: str, reason: str) -> None:
        """Record one problem of TABLE's row INDEX in COLUMN."""

    @abstractmethod
    def rows(self, table: Any, columns: Any, report: Report) -> Iterator[tuple[int, tuple]]:
        """(row index, (required values, *attribute values)) of each row that holds values."""

    @staticmethod
    @abstractmethod
    def text(table: Any, value: Any) -> Any:
        """A cell as the rules take it."""

    @staticmethod
    @abstractmethod
    def where(table: Any, index: int) -> str:
        """Row INDEX of TABLE for a message ("line 12", "edges[3]")."""

    def parse_edges(self, table: Any, columns: Any) -> None:
        """Check every edge row; keep the good ones as arrays (node indexes, kind codes,
        attribute sets, row indexes)."""
        found: Found = []
        at, cells = self.edge_columns(table, columns, found)
        src, dst = self.node_indexes(cells[0]), self.node_indexes(cells[1])
        # In row order, source before target: registry suppliers get node indexes in the order
        # they are first named, as the writer expects.
        for p in np.flatnonzero((src < 0) | (dst < 0)).tolist():
            row = int(at[p])
            if src[p] < 0:
                src[p] = self.reference(table, row, "source", cells[0][p], step=SOURCE, found=found)
            if dst[p] < 0:
                dst[p] = self.reference(table, row, "target", cells[1][p], step=TARGET, found=found)
        kind = np.fromiter(map(EDGE_CODE.get, cells[2], repeat(-1)), dtype=np.int64, count=len(at))
        for p in np.flatnonzero(kind < 0).tolist():
            try:
                kind[p] = EDGE_CODE[rules.clean_edge_kind(self.text(table, cells[2][p]))]
            except rules.Invalid as exc:
                found.append((int(at[p]), KIND, "kind", str(exc)))
        good = (src >= 0) & (dst >= 0) & (kind >= 0)
        loops = good & (src == dst)
        for p in np.flatnonzero(loops).tolist():
            found.append((int(at[p]), ENDS, "target", _("An edge cannot join a node to itself.")))
        good &= ~loops
        good &= self.ends_fit(kind, src, dst, good=good, at=at, found=found)
        attr = self.attribute_sets(table, columns, kind, cells[3:], good=good, at=at, found=found)
        for index, _step, column, reason in sorted(found, key=itemgetter(0, 1)):
            self.error(table, index, column, reason)
        self.e_src, self.e_dst, self.e_kind = src[good], dst[good], kind[good]
        self.e_row, self.e_attr = at[good], attr[good]
        self.edge_table = table
        self.find_duplicates(table)

    def edge_columns(self, table: Any, columns: Any, found: Found) -> tuple[np.ndarray, list[list[Any]]]:
        """(row indexes, one list per field: source, target, kind, then the attributes) of the
        rows that hold an edge."""
        fields = [*columns.required, *(where for where, _name in columns.attributes)]
        rows = table.rows
        if table.fmt == "csv" and rows and min(map(len, rows)) == max(map(len, rows)) == columns.width:
            # Every line complete (the usual file): the columns straight from the cell lists.
            return np.arange(len(rows), dtype=np.int64), [list(map(itemgetter(f), rows)) for f in fields]

        def report(_table: Any, index: int, column: str, reason: str) -> None:
            found.append((index, SOURCE, column, reason))

        kept = list(self.rows(table, columns, report))
        at = np.array([index for index, _values in kept], dtype=np.int64)
        if not kept:
            return at, [[] for _field in fields]
        return at, [list(column) for column in zip(*(values for _index, values in kept), strict=True)]

    def node_indexes(self, cells: list[Any]) -> np.ndarray:
        """The node index of each cell that is a known id as it is; -1 for the others."""
        return np.fromiter(map(self.index.get, cells, repeat(-1)), dtype=np.int64, count=len(cells))

    def reference(self, table: Any, row: int, column: str, raw: Any, *, step: int, found: Found) -> int:
        """The index of the node an edge names when the plain lookup missed: the cleaned id, or a
        registry code (its node is made by the import); -1 with the problem in FOUND otherwise."""
        try:
            key = rules.clean_key(self.text(table, raw))
        except rules.Invalid as exc:
            found.append((row, step, column, str(exc)))
            return -1
        i = self.index.get(key)
        if i is not None:
            return i
        if key in self.registry:
            i = len(self.keys)
            self.index[key] = i
            self.keys.append(key)
            self.kinds.append(NodeKind.SUPPLIER.value)
            self.implicit.append(i)
            return i
        found.append(
            (
                row,
                step,
                column,
                _(
                    "No node has the id “%(key)s”: it is not in the nodes file, on the map "
                    "or in the supplier registry."
                )
                % {"key": key},
            )
        )
        return -1

    def ends_fit(
        self,
        kind: np.ndarray,
        src: np.ndarray,
        dst: np.ndarray,
        *,
        good: np.ndarray,
        at: np.ndarray,
        found: Found,
    ) -> np.ndarray:
        """Whether each good edge's kind may join its nodes' kinds; the problems into FOUND."""
        node_kind = np.fromiter(
            (NODE_CODE.get(k, UNKNOWN_KIND) for k in self.kinds), dtype=np.int64, count=len(self.kinds)
        )
        fits = np.zeros(len(kind), dtype=bool)
        fits[good] = ALLOWED[kind[good], node_kind[src[good]], node_kind[dst[good]]]
        for p in np.flatnonzero(good & ~fits).tolist():
            edge, source, target = EDGE_KINDS[kind[p]], self.kinds[src[p]], self.kinds[dst[p]]
            found.append((int(at[p]), ENDS, "kind", rules.endpoint_problem(edge, source, target) or ""))
        return fits

    def attribute_sets(
        self,
        table: Any,
        columns: Any,
        kind: np.ndarray,
        values: list[list[Any]],
        *,
        good: np.ndarray,
        at: np.ndarray,
        found: Found,
    ) -> np.ndarray:
        """Each row's attribute set (an index into self.attr_sets; 0: none); the problems of
        the good rows into FOUND. A million edges carry a handful of distinct cells ("true",
        "vpn"), each distinct (kind, cells) cleaned once."""
        if not values:
            self.attr_sets = [{}]
            return np.zeros(len(kind), dtype=np.int64)
        sets = _AttributeSets(rules.AttributeCleaner("edge", columns.names, table.fmt == "csv"))
        try:
            ids = np.fromiter(
                map(sets.__getitem__, zip(kind.tolist(), *values, strict=True)),
                dtype=np.int64,
                count=len(kind),
            )
        except TypeError:  # a JSON list among the values: not hashable, looked at row by row
            ids = np.fromiter(
                map(sets.find, zip(kind.tolist(), *values, strict=True)), dtype=np.int64, count=len(kind)
            )
        with_problems = np.array([bool(problems) for problems in sets.problems])
        for p in np.flatnonzero(good & with_problems[ids]).tolist():
            for name, message in sets.problems[ids[p]]:
                found.append((int(at[p]), ATTRIBUTES, name, message))
        self.attr_sets = sets.sets
        return ids

    def edge_codes(self, src: np.ndarray, dst: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """One int64 per (source, target, kind), comparable between file and map edges."""
        size = np.int64(max(len(self.keys), 1))
        return (src.astype(np.int64) * size + dst) * 8 + kind

    def find_duplicates(self, table: Any) -> None:
        codes = self.edge_codes(self.e_src, self.e_dst, self.e_kind)
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        repeats = np.nonzero(ordered[1:] == ordered[:-1])[0] + 1
        if repeats.size:
            # The first row of each run of equal codes: what every repeat is reported against.
            starts = np.zeros(len(ordered), dtype=np.int64)
            new_run = np.ones(len(ordered), dtype=bool)
            new_run[1:] = ordered[1:] != ordered[:-1]
            starts[new_run] = np.nonzero(new_run)[0]
            starts = np.maximum.accumulate(starts)
            for position in repeats.tolist():
                later, first = int(order[position]), int(order[starts[position]])
                self.error(
                    table,
                    int(self.e_row[later]),
                    "kind",
                    _("The edge %(source)s → %(target)s (%(kind)s) is also at %(where)s.")
                    % {
                        "source": self.keys[self.e_src[later]],
                        "target": self.keys[self.e_dst[later]],
                        "kind": EDGE_KINDS[self.e_kind[later]],
                        "where": self.where(table, int(self.e_row[first])),
                    },
                )
        self.codes = codes


class _AttributeSets(dict):
    """(kind code, *raw attribute cells) → the index of its cleaned set in SETS, cleaned on first
    sight (dict lookups in C for the million repeats). A row whose kind is unknown gets set 0:
    it is refused anyway."""

    def __init__(self, cleaner: rules.AttributeCleaner) -> None:
        super().__init__()
        self.clean = cleaner.clean
        self.sets: list[dict[str, Any]] = [{}]
        self.problems: list[list[tuple[str, str]]] = [[]]

    def __missing__(self, key: tuple) -> int:
        self[key] = found = self.add(key)
        return found

    def find(self, key: tuple) -> int:
        try:
            return self[key]
        except TypeError:
            return self.add(key)

    def add(self, key: tuple) -> int:
        code, raw = key[0], key[1:]
        if code < 0:
            return 0
        attrs, problems = self.clean(EDGE_KINDS[code], raw)
        if not attrs and not problems:
            return 0
        self.sets.append(attrs)
        self.problems.append(problems)
        return len(self.sets) - 1
