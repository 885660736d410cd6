// Package parquet writes a report as six Parquet tables (devices,
// destinations, leaks, findings, flows, events) for DuckDB, ClickHouse or
// Spark, with github.com/parquet-go/parquet-go. Values are those the json
// writer writes (report.Prepare: masked unless the run showed evidence);
// every row names the capture it comes from. Flow records and events are
// streamed from audit.Report.Records into row groups of bounded size, so
// their number does not cost memory.
package parquet

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/batch"
	"github.com/phonehome/phonehome/pkg/report"
)

// Tables are the table names, each a directory below the output directory.
var Tables = []string{"devices", "destinations", "leaks", "findings", "flows", "events"}

// MetaDecryption is the key-value metadata key of every file of a run with
// key logs: the capture's summary.decryption object as JSON
// ({"decrypted":1,"no_key":0,"failed":0,"stopped":{...}}).
const MetaDecryption = "phonehome.decryption"

// Capture names what every row comes from: one capture file (its path and
// the SHA-256 of its bytes), or for several files read as one recording
// their paths joined by " + " and the SHA-256 of their hashes.
type Capture struct {
	Path   string
	SHA256 string
}

// rowGroupRows bounds the rows buffered before a row group is written;
// pageBuffer is the page buffer of each column (the library's default,
// 256 KiB, times the ~140 columns of the six tables was ~45 MiB per
// capture written; with 32 KiB the live heap while writing stays near 11 MiB
// whatever the number of rows, TestStreamedRecordsBounded).
const (
	rowGroupRows = 16 << 10
	pageBuffer   = 32 << 10
)

// Needs says what Write needs from the engine: every flow record and event
// (they fill the flows and events tables).
func Needs() report.RecordNeeds { return report.RecordNeeds{Flows: true, Events: true, Every: true} }

// Write writes r to dir/<table>/<name>.parquet for every table and returns
// those paths relative to dir (slash-separated). The files are written
// under temporary names and renamed into place together at the end, so a
// failed or killed run leaves no partial .parquet file.
func Write(dir, name string, r *audit.Report, c Capture) (files []string, err error) {
	if r == nil {
		return nil, report.ErrNil
	}
	p := report.Prepare(r)
	meta := []pq.WriterOption{
		pq.Compression(&zstd.Codec{}),
		pq.MaxRowsPerRowGroup(rowGroupRows),
		pq.PageBufferSize(pageBuffer),
		pq.CreatedBy("phonehome", p.Tool.Version, ""),
		pq.KeyValueMetadata("phonehome.schema_version", p.SchemaVersion),
		pq.KeyValueMetadata("phonehome.capture_path", c.Path),
		pq.KeyValueMetadata("phonehome.capture_sha256", c.SHA256),
	}
	if d := p.Summary.Decryption; d != nil {
		// The capture's own counts (each session once, whichever devices
		// it belongs to), as summary.decryption in the JSON report.
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		meta = append(meta, pq.KeyValueMetadata(MetaDecryption, string(b)))
	}
	out := make([]*batch.File, len(Tables))
	defer func() {
		for _, f := range out {
			if f != nil {
				f.Abort()
			}
		}
	}()
	for i, t := range Tables {
		rel := t + "/" + name + ".parquet"
		if out[i], err = batch.CreateFile(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			return nil, err
		}
		files = append(files, rel)
	}
	devs := pq.NewGenericWriter[DeviceRow](out[0], meta...)
	dests := pq.NewGenericWriter[DestinationRow](out[1], meta...)
	leaks := pq.NewGenericWriter[LeakRow](out[2], meta...)
	finds := pq.NewGenericWriter[FindingRow](out[3], meta...)
	flows := pq.NewGenericWriter[FlowRow](out[4], meta...)
	events := pq.NewGenericWriter[EventRow](out[5], meta...)

	for i := range p.Devices {
		if err := writeDevice(&p.Devices[i], c, devs, dests, leaks, finds); err != nil {
			return nil, err
		}
	}
	fw := &rowBuf[FlowRow]{w: flows}
	ew := &rowBuf[EventRow]{w: events}
	for i := range p.Flows {
		fw.add(flowRow(&p.Flows[i], c))
	}
	for i := range p.Events {
		b, err := json.Marshal(p.Events[i])
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		if err := addEvent(ew, b, c); err != nil {
			return nil, err
		}
	}
	if p.Records != nil {
		err := p.Records.Each(nil, func(b []byte) error {
			var f audit.Flow
			if err := json.Unmarshal(b, &f); err != nil {
				return fmt.Errorf("flow record: %w", err)
			}
			fw.add(flowRow(&f, c))
			return fw.err
		}, func(b []byte) error { return addEvent(ew, b, c) })
		if err != nil {
			return nil, err
		}
	}
	fw.flush()
	ew.flush()
	if err := errors.Join(fw.err, ew.err); err != nil {
		return nil, err
	}
	for _, w := range []interface{ Close() error }{devs, dests, leaks, finds, flows, events} {
		if err := w.Close(); err != nil {
			return nil, err
		}
	}
	for i, f := range out {
		if err := f.Commit(); err != nil {
			return nil, err
		}
		out[i] = nil
	}
	return files, nil
}

// rowBuf batches rows for a writer (one Write call per batch).
type rowBuf[T any] struct {
	w    *pq.GenericWriter[T]
	rows []T
	err  error
}

func (b *rowBuf[T]) add(r T) {
	b.rows = append(b.rows, r)
	if len(b.rows) >= 1024 {
		b.flush()
	}
}

func (b *rowBuf[T]) flush() {
	if b.err == nil && len(b.rows) > 0 {
		_, b.err = b.w.Write(b.rows)
	}
	clear(b.rows)
	b.rows = b.rows[:0]
}

// addEvent adds an event from its JSON object.
func addEvent(b *rowBuf[EventRow], js []byte, c Capture) error {
	var head struct {
		Type   string    `json:"type"`
		Frame  uint64    `json:"frame"`
		TS     time.Time `json:"ts"`
		FlowID uint64    `json:"flow_id"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return fmt.Errorf("event record: %w", err)
	}
	row := EventRow{CapturePath: c.Path, CaptureSHA256: c.SHA256, Type: head.Type, Frame: head.Frame,
		TS: ts(head.TS), FlowID: head.FlowID, Record: string(js)}
	b.add(row)
	return b.err
}

// decryptionCols flattens a decryption object; all null for nil.
func decryptionCols(d *audit.Decryption) DecryptionCols {
	if d == nil {
		return DecryptionCols{}
	}
	n := func(v int) *int64 { x := int64(v); return &x }
	c := DecryptionCols{Decrypted: n(d.Decrypted), NoKey: n(d.NoKey), Failed: n(d.Failed)}
	for _, r := range slices.Sorted(maps.Keys(d.Stopped)) {
		c.Stopped = append(c.Stopped, StopCount{Reason: r, Sessions: int64(d.Stopped[r])})
	}
	return c
}

// ts is t for a TIMESTAMP(NANOS) column: nil when zero or out of range.
func ts(t time.Time) *time.Time {
	if t.IsZero() || t.Year() < 1678 || t.Year() > 2261 {
		return nil
	}
	u := t.UTC()
	return &u
}

func writeDevice(d *audit.Device, c Capture, devs *pq.GenericWriter[DeviceRow], dests *pq.GenericWriter[DestinationRow],
	leaks *pq.GenericWriter[LeakRow], finds *pq.GenericWriter[FindingRow]) error {
	row := DeviceRow{
		CapturePath: c.Path, CaptureSHA256: c.SHA256,
		ID: d.ID, Name: d.Name, NameSource: d.NameSource, MAC: d.MAC, Vendor: d.Vendor,
		IPs: d.IPs, Hostnames: d.Hostnames, Model: d.Model, OS: d.OS, Notes: d.Notes,
		UserAgents: d.UserAgents, FirstSeen: ts(d.FirstSeen), LastSeen: ts(d.LastSeen),
		SummaryBytesUp: d.Summary.BytesUp, SummaryBytesDown: d.Summary.BytesDown,
		SummaryByCountry: shares(d.Summary.ByCountry), SummaryByOwner: shares(d.Summary.ByOwner),
		SummaryThirdParties: d.Summary.ThirdParties, SummaryPlaintext: d.Summary.PlaintextShare,
		SummaryWorst: d.Summary.WorstSeverity.String(), SummaryWorstFinding: d.Summary.WorstFinding,
		Destinations: int64(len(d.Destinations)), Leaks: int64(len(d.Leaks)), Findings: int64(len(d.Findings)),
	}
	if x := decryptionCols(d.Summary.Decryption); x.Decrypted != nil {
		row.SummaryDecryptionCols = SummaryDecryptionCols{x.Decrypted, x.NoKey, x.Failed, x.Stopped}
	}
	if h := d.DHCP; h != nil {
		row.DHCPHostname, row.DHCPVendorClass, row.DHCPFingerprint = h.Hostname, h.VendorClass, h.Fingerprint
		row.DHCPRequestedIP, row.DHCPAssignedIP = h.RequestedIP, h.AssignedIP
	}
	if _, err := devs.Write([]DeviceRow{row}); err != nil {
		return err
	}
	ds := make([]DestinationRow, len(d.Destinations))
	for i := range d.Destinations {
		x := &d.Destinations[i]
		ds[i] = DestinationRow{
			CapturePath: c.Path, CaptureSHA256: c.SHA256, Device: d.ID,
			Name: x.Name, NameSource: x.NameSource, Domain: x.Domain, IP: x.IP, Port: int32(x.Port),
			Transport: x.Transport, Country: x.Country, CountryName: x.CountryName, ASN: int64(x.ASN),
			ASOrg: x.ASOrg, Vendor: x.Vendor, Service: x.Service, Category: x.Category,
			SignatureID: x.SignatureID, Channel: x.Channel, Registered: x.RegisteredCountry, Anycast: x.Anycast, Hosting: x.Hosting,
			Plaintext: audit.Channel(x.Channel).Plaintext(), Protocols: x.Protocols, Flows: int64(x.Flows),
			PacketsUp: x.PacketsUp, PacketsDown: x.PacketsDown, BytesUp: x.BytesUp, BytesDown: x.BytesDown,
			FirstSeen: ts(x.FirstSeen), LastSeen: ts(x.LastSeen), FirstFrame: x.FirstFrame,
			DecryptionCols: decryptionCols(x.Decryption),
		}
	}
	if _, err := dests.Write(ds); err != nil {
		return err
	}
	ls := make([]LeakRow, len(d.Leaks))
	for i := range d.Leaks {
		l := &d.Leaks[i]
		ls[i] = LeakRow{
			CapturePath: c.Path, CaptureSHA256: c.SHA256, Device: d.ID,
			Severity: l.Severity.String(), Identifier: l.Identifier, Known: l.Known, Value: l.Value,
			Encoding: l.Encoding, Location: l.Location, DestCols: destCols(&l.Dest),
			Frame: l.Frame, Time: ts(l.Time), Count: int64(l.Count),
		}
	}
	if _, err := leaks.Write(ls); err != nil {
		return err
	}
	fs := make([]FindingRow, len(d.Findings))
	for i := range d.Findings {
		f := &d.Findings[i]
		fs[i] = FindingRow{
			CapturePath: c.Path, CaptureSHA256: c.SHA256, Device: d.ID,
			Severity: f.Severity.String(), Kind: f.Kind, Message: f.Message, DestCols: destCols(&f.Dest),
			Frame: f.Frame, Time: ts(f.Time), Count: int64(f.Count),
		}
	}
	_, err := finds.Write(fs)
	return err
}

func shares(s []audit.ByteShare) []ShareItem {
	out := make([]ShareItem, len(s))
	for i, b := range s {
		out[i] = ShareItem{Key: b.Key, Label: b.Label, BytesUp: b.BytesUp, BytesDown: b.BytesDown, Flows: int64(b.Flows)}
	}
	return out
}

func destCols(d *audit.Dest) DestCols {
	return DestCols{
		DestName: d.Name, DestNameSource: d.NameSource, DestDomain: d.Domain, DestIP: d.IP, DestPort: int32(d.Port),
		DestTransport: d.Transport, DestCountry: d.Country, DestCountryName: d.CountryName, DestASN: int64(d.ASN),
		DestASOrg: d.ASOrg, DestVendor: d.Vendor, DestService: d.Service, DestCategory: d.Category,
		DestSignatureID: d.SignatureID, DestChannel: d.Channel, DestRegistered: d.RegisteredCountry, DestAnycast: d.Anycast, DestHosting: d.Hosting,
		DestPlaintext: audit.Channel(d.Channel).Plaintext(),
	}
}

func flowRow(f *audit.Flow, c Capture) FlowRow {
	return FlowRow{
		CapturePath: c.Path, CaptureSHA256: c.SHA256, ID: f.ID, Transport: f.Transport, Client: f.Client,
		Server: f.Server, Device: f.Device, PacketsUp: f.PacketsUp, PacketsDown: f.PacketsDown,
		BytesUp: f.BytesUp, BytesDown: f.BytesDown, PayloadUp: f.PayloadUp, PayloadDown: f.PayloadDown,
		FirstFrame: f.FirstFrame, First: ts(f.First), Last: ts(f.Last), Protocol: f.Protocol, Name: f.Name,
		NameSource: f.NameSource, Channel: f.Channel, State: f.State, GapBytes: f.GapBytes,
	}
}
