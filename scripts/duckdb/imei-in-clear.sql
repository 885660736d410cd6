-- Which devices sent an IMEI in clear (a channel anyone on the path can
-- read: HTTP, MQTT, DNS, plaintext...), to which countries, per firmware.
SELECT d.name AS device, l.device AS device_id, l.firmware,
       l.destination_country AS country,
       string_agg(DISTINCT coalesce(nullif(l.destination_name, ''), l.destination_ip), ', '
                  ORDER BY coalesce(nullif(l.destination_name, ''), l.destination_ip)) AS destinations,
       string_agg(DISTINCT l.encoding, ', ' ORDER BY l.encoding) AS encodings,
       sum(l.count) AS times,
       count(DISTINCT l.capture_sha256) AS captures
FROM leaks l
JOIN devices d ON d.capture_sha256 = l.capture_sha256 AND d.id = l.device
WHERE l.identifier = 'imei' AND l.destination_plaintext
GROUP BY ALL
ORDER BY device, firmware, country;
