package engine

import (
	"bytes"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/report"
)

// outputOptions are the outputs checked by the masking and validity tests:
// every format, and for csv every table.
var outputOptions = map[string]report.Options{
	"table":            {Format: "table", Tables: []string{"devices", "destinations", "leaks", "findings", "summary", "flows"}},
	"markdown":         {Format: "markdown", Tables: []string{"devices", "destinations", "leaks", "findings", "summary", "flows"}},
	"html":             {Format: "html"},
	"json":             {Format: "json"},
	"ndjson":           {Format: "ndjson"},
	"csv-destinations": {Format: "csv", CSVTable: "destinations"},
	"csv-leaks":        {Format: "csv", CSVTable: "leaks"},
	"csv-findings":     {Format: "csv", CSVTable: "findings"},
	"csv-devices":      {Format: "csv", CSVTable: "devices"},
	"csv-flows":        {Format: "csv", CSVTable: "flows"},
}

// writeAll writes rep in every output of outputOptions.
func writeAll(t testing.TB, rep *audit.Report) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, opt := range outputOptions {
		var b bytes.Buffer
		if err := report.Write(&b, rep, opt); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b.String()
	}
	return out
}
