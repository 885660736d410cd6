// Package leak finds identifiers leaving a device: known lab values from
// the --devices file in every form apps use (plain, case and separator
// variants, URL-encoded, base64 at any alignment, hex, MD5/SHA1/SHA256),
// inside nested encodings (URL, base64, hex, gzip/zlib/deflate, JSON string
// escapes), and generic identifiers found with no prior knowledge (IMEI,
// IMSI, ICCID, phone, MAC, advertising IDs, e-mail, GPS, credentials...)
// each validated and, for weak formats, only under a telling key.
//
// It also classifies opaque payloads by byte statistics (ClassifyPayload),
// finds known values hidden by short-key XOR (Scanner.DetectXOR), rates
// leaks (Severity) and masks values for shared reports (Mask). The method
// and every threshold are documented in docs/leaks.md.
package leak
