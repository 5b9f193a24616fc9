"""Import and export of the supplier registry as CSV or Excel (docs/import-format.md).

- `columns` — the documented column layout, cell parsing and formatting.
- `readers` — turning an uploaded CSV/XLSX file into rows, refusing bad files early.
- `importer` — `import_suppliers(...)`: validate everything, then write in bulk.
- `exporter` — `export_suppliers(...)`: the same layout, so an export re-imports unchanged.
"""
