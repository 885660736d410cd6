SELECT capture_sha256, device, identifier, value, frame, destination_country
FROM leaks ORDER BY ALL;
