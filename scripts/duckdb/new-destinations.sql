-- New destinations since the last firmware: per device, every server
-- (name, else ip:port) contacted under a firmware and not under the
-- firmware before it. Firmwares are ordered by when the device was first
-- seen under them (then by name), not by version string.
WITH fw AS (
  SELECT id AS device, firmware, min(first_seen) AS first_seen
  FROM devices GROUP BY ALL
), ordered AS (
  SELECT *, lag(firmware) OVER (PARTITION BY device ORDER BY first_seen, firmware) AS previous
  FROM fw
), dest AS (
  SELECT device, firmware,
         coalesce(nullif(name, ''), ip || ':' || port) AS destination,
         any_value(country) AS country, any_value(category) AS category,
         bool_or(plaintext) AS plaintext, sum(bytes_up) AS bytes_up
  FROM destinations GROUP BY device, firmware, destination
)
SELECT o.device, o.previous AS previous_firmware, o.firmware, n.destination,
       n.country, n.category, n.plaintext, n.bytes_up
FROM ordered o
JOIN dest n ON n.device = o.device AND n.firmware = o.firmware
WHERE o.previous IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM dest p
                  WHERE p.device = o.device AND p.firmware = o.previous AND p.destination = n.destination)
ORDER BY o.device, o.firmware, n.destination;
