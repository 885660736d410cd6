-- One view per table over every run and shard below the results
-- directory (RESULTS is replaced by scripts/duckdb/query; in the duckdb
-- shell, write the path). union_by_name: files of an older phonehome with
-- fewer columns still read. firmware: the directory a capture is in, by
-- the lab's layout captures/<device>/<firmware>/<run>.pcapng.
CREATE VIEW devices AS SELECT *, regexp_extract(capture_path, '([^/]+)/[^/]+$', 1) AS firmware
  FROM read_parquet('RESULTS/devices/*.parquet', union_by_name = true);
CREATE VIEW destinations AS SELECT *, regexp_extract(capture_path, '([^/]+)/[^/]+$', 1) AS firmware
  FROM read_parquet('RESULTS/destinations/*.parquet', union_by_name = true);
CREATE VIEW leaks AS SELECT *, regexp_extract(capture_path, '([^/]+)/[^/]+$', 1) AS firmware
  FROM read_parquet('RESULTS/leaks/*.parquet', union_by_name = true);
CREATE VIEW findings AS SELECT *, regexp_extract(capture_path, '([^/]+)/[^/]+$', 1) AS firmware
  FROM read_parquet('RESULTS/findings/*.parquet', union_by_name = true);
CREATE VIEW flows AS SELECT * FROM read_parquet('RESULTS/flows/*.parquet', union_by_name = true);
CREATE VIEW events AS SELECT * FROM read_parquet('RESULTS/events/*.parquet', union_by_name = true);
