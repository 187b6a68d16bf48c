"""Records and file formats: the typed records that flow between stages, input readers and
validation, the Parquet schema, the dataset card, the run summary and the translation cache
entries. What is written or read, not where: files go through xlner.storage."""
