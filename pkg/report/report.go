package report

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/phonehome/phonehome/internal/bgwrite"
	"github.com/phonehome/phonehome/pkg/audit"
)

// Sentinel errors; Write wraps them with the offending value.
var (
	ErrFormat  = errors.New("report: unknown format")
	ErrTable   = errors.New("report: unknown table")
	ErrGroupBy = errors.New("report: unknown group-by key")
	ErrNil     = errors.New("report: nil report")
)

// Formats lists the valid Options.Format values; "" means "table".
var formats = []string{"table", "json", "ndjson", "csv", "markdown", "html"}

// Formats returns the valid Options.Format values.
func Formats() []string { return slices.Clone(formats) }

// Table names for Options.Tables and Options.CSVTable.
const (
	TableDevices      = "devices"      // capture-wide device inventory
	TableDestinations = "destinations" // per device
	TableLeaks        = "leaks"        // per device
	TableFindings     = "findings"     // per device
	TableBehaviour    = "behaviour"    // per device, shown when it has behavioural data
	TableSummary      = "summary"      // per device roll-up
	TableFlows        = "flows"        // capture-wide flow list
)

var (
	textTables    = []string{TableOverview, TableDevices, TableDestinations, TableLeaks, TableFindings, TableBehaviour, TableSummary, TableFlows}
	csvTables     = []string{TableDestinations, TableLeaks, TableFindings, TableDevices, TableFlows}
	groupKeys     = []string{"name", "domain", "vendor", "country", "endpoint"}
	defaultTables = []string{TableOverview, TableDestinations, TableLeaks, TableFindings, TableBehaviour, TableSummary}
)

// Options selects and shapes the output. The zero value writes plain
// terminal tables of unlimited width.
type Options struct {
	// Format is one of table, json, ndjson, csv, markdown, html ("" = table).
	Format string
	// Color adds ANSI severity colours to table output. The caller decides
	// (TTY and --no-color); writers never probe the terminal.
	Color bool
	// Width is the terminal width for table output; 0 means unlimited.
	// Wider tables get their longest cells truncated with an ellipsis.
	Width int
	// GroupBy aggregates the destinations table of table, markdown and html
	// output: name (default), domain, vendor, country, or endpoint (one row
	// per server ip:port, no grouping).
	GroupBy string
	// CSVTable is the table written by the csv format: destinations
	// (default), leaks, findings, devices or flows.
	CSVTable string
	// Tables lists the tables of table and markdown output, in any order:
	// overview, devices, destinations, leaks, findings, behaviour, summary,
	// flows. Empty means overview, destinations, leaks, findings,
	// behaviour (shown for a device only when it sent behavioural data)
	// and summary.
	// Devices follow the overview's order (worst first). The capture
	// summary always ends the output.
	Tables []string
}

// Write writes r to w in opt.Format. It never modifies r.
func Write(w io.Writer, r *audit.Report, opt Options) error {
	if r == nil {
		return ErrNil
	}
	if err := opt.check(); err != nil {
		return err
	}
	// The system calls run on a goroutine of their own while the next
	// megabyte is made (a JSON report of a large capture is hundreds of
	// megabytes).
	bw := bgwrite.New(w, 1<<20)
	var err error
	switch opt.format() {
	case "table":
		err = writeTable(bw, r, opt)
	case "json":
		err = writeJSON(bw, r)
	case "ndjson":
		err = writeNDJSON(bw, r)
	case "csv":
		err = writeCSV(bw, r, opt.csvTable())
	case "markdown":
		err = writeMarkdown(bw, r, opt)
	case "html":
		err = writeHTML(bw, r, opt)
	}
	if cerr := bw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("report: %s: %w", opt.format(), err)
	}
	return nil
}

// RecordNeeds says which records of a report a format writes besides the
// device tables. Flow records and protocol events cost memory on large
// captures, so the engine keeps only those that will be written.
type RecordNeeds struct {
	Flows  bool // audit.Report flow records (the flows table, HTML, JSON)
	Events bool // protocol events (JSON, NDJSON)
	// Every: every record is written, not only the first --max-records:
	// the engine streams them through temporary files (Report.Records).
	Every bool
}

// Needs reports the records that Write with these options writes.
func (o Options) Needs() RecordNeeds {
	switch o.format() {
	case "json", "ndjson":
		return RecordNeeds{Flows: true, Events: true, Every: true}
	case "html":
		return RecordNeeds{Flows: true}
	case "csv":
		// Several CSV tables (one file each) come as Tables.
		return RecordNeeds{Flows: o.csvTable() == TableFlows || o.tables()[TableFlows] && len(o.Tables) > 0}
	}
	return RecordNeeds{Flows: len(o.Tables) > 0 && o.tables()[TableFlows]}
}

func (o Options) format() string {
	if o.Format == "" {
		return "table"
	}
	return strings.ToLower(o.Format)
}

func (o Options) groupBy() string {
	if o.GroupBy == "" {
		return "name"
	}
	return strings.ToLower(o.GroupBy)
}

func (o Options) csvTable() string {
	if o.CSVTable == "" {
		return TableDestinations
	}
	return strings.ToLower(o.CSVTable)
}

// tables returns the selected text tables in canonical order.
func (o Options) tables() map[string]bool {
	sel := o.Tables
	if len(sel) == 0 {
		sel = defaultTables
	}
	m := make(map[string]bool, len(sel))
	for _, t := range sel {
		m[strings.ToLower(strings.TrimSpace(t))] = true
	}
	return m
}

func (o Options) check() error {
	if !slices.Contains(formats, o.format()) {
		return fmt.Errorf("%w %q (valid: %s)", ErrFormat, o.Format, strings.Join(formats, ", "))
	}
	if !slices.Contains(groupKeys, o.groupBy()) {
		return fmt.Errorf("%w %q (valid: %s)", ErrGroupBy, o.GroupBy, strings.Join(groupKeys, ", "))
	}
	if !slices.Contains(csvTables, o.csvTable()) {
		return fmt.Errorf("%w %q for csv (valid: %s)", ErrTable, o.CSVTable, strings.Join(csvTables, ", "))
	}
	for _, t := range o.Tables {
		if !slices.Contains(textTables, strings.ToLower(strings.TrimSpace(t))) {
			return fmt.Errorf("%w %q (valid: %s)", ErrTable, t, strings.Join(textTables, ", "))
		}
	}
	if o.Width < 0 {
		return fmt.Errorf("report: negative width %d", o.Width)
	}
	return nil
}
