"""OSV vulnerability data (docs/deliveries.md): reading and importing OSV records, and the
per-ecosystem names, versions and ranges the matcher (renkei.deliveries.matching) compares.

- ecosystems: which OSV ecosystems are supported, the matching Key, purl → Key, name normalisation;
- versions: each ecosystem's version ordering;
- ranges: the OSV range evaluation (affected / not affected / unknown);
- records: one OSV record read and validated into the values stored on Advisory/AdvisoryPackage;
- reader: the files of a directory tree or zip; importer: the transactional, incremental import.
"""
