// Package report writes an audit.Report for people and machines: terminal
// tables, JSON (one document, schema in docs/schema/report.schema.json),
// NDJSON (one record per line), CSV (one chosen table), Markdown and a
// self-contained HTML page. It also filters reports (Apply) before writing.
//
// Every captured string is treated as hostile: writers escape it for their
// format with pkg/escape (Terminal for tables, then html/template for HTML,
// CSV's formula prefixes, Markdown's pipes and markup; encoding/json for
// JSON). Output is
// deterministic: the same Report and Options give the same bytes.
package report
