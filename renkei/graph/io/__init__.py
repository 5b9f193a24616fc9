"""Import and export of the supply-chain map as CSV or JSON (docs/graph-format.md).

- `validation` — the rules of the format (kinds, ids, names, typed attributes, which node kinds
  each edge kind joins), shared with the single-row services.
- `readers` — files into tables, refusing unreadable files early (size, encoding, quoting).
- `importer` — `import_map(...)` / `import_files(...)`: validate everything, then write.
- `writer` and `bulk` — the set-based write of a checked import (COPY on PostgreSQL).
- `exporter` — `export_map(...)`: the same format, so an export re-imports unchanged.
"""

from renkei.graph.io.importer import ImportResult, RowError, import_files, import_map  # noqa: E402
from renkei.graph.io.readers import Refused, Table, read_csv, read_files, read_json  # noqa: E402

__all__ = [
    "ImportResult",
    "Refused",
    "RowError",
    "Table",
    "import_files",
    "import_map",
    "read_csv",
    "read_files",
    "read_json",
]
