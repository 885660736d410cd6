-- Rows per table and capture, and the leaks' values: what the tests
-- compare with the JSON reports.
SELECT 'devices' AS t, capture_sha256, count(*) AS n FROM devices GROUP BY ALL
UNION ALL SELECT 'destinations', capture_sha256, count(*) FROM destinations GROUP BY ALL
UNION ALL SELECT 'leaks', capture_sha256, count(*) FROM leaks GROUP BY ALL
UNION ALL SELECT 'findings', capture_sha256, count(*) FROM findings GROUP BY ALL
UNION ALL SELECT 'flows', capture_sha256, count(*) FROM flows GROUP BY ALL
UNION ALL SELECT 'events', capture_sha256, count(*) FROM events GROUP BY ALL
ORDER BY ALL;
