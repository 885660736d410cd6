// Package audit is the report model: what phonehome found in a capture, per
// device, before it is written in any format. Every stage after decoding
// fills it; writers (pkg/report) and the CI gate (pkg/policy) only read it.
// Slices are sorted by Sort so that output is deterministic.
package audit

import "time"

// SchemaVersion is stored in JSON output; bump it on incompatible changes.
const SchemaVersion = "1.0"

// Report is the whole result of one run.
type Report struct {
	SchemaVersion string    `json:"schema_version"`
	Tool          Tool      `json:"tool"`
	Inputs        []Input   `json:"inputs"`
	Data          []DataSet `json:"data_sources"`
	Devices       []Device  `json:"devices"`
	Summary       Summary   `json:"summary"`
	Warnings      []Warning `json:"warnings"`
	// Flows and Events are the machine event stream (see docs/events.md).
	Flows  []Flow  `json:"flows"`
	Events []Event `json:"events"`
	// Counters are named totals (frames, decode errors per protocol, bytes
	// skipped by caps...). encoding/json writes map keys sorted.
	Counters map[string]uint64 `json:"counters"`
	// Incomplete is true when the run stopped early (cancelled, input
	// error); the report holds everything read before that.
	Incomplete bool `json:"incomplete"`
	// Records, when not nil, streams the flow records and events that the
	// engine spooled to disk instead of keeping in Flows and Events
	// (engine.Config.SpoolRecords, used for json and ndjson output, the
	// only writers that read it). Close it when done.
	Records Records `json:"-"`
}

// Records streams spooled flow records and events as JSON objects, each
// exactly as Flow and Event marshal.
type Records interface {
	// Each calls flow with every flow record in order of first frame,
	// then event with every event in frame order, and stops at the first
	// error they return. keep, when not nil, selects flow records by
	// device ID; the events of flows it drops are skipped too. The slices
	// passed are only valid during the call.
	Each(keep func(device string) bool, flow, event func(json []byte) error) error
	// Close removes the spool files.
	Close() error
}

// OnceRecords is implemented by Records whose storage can be given back
// while they are streamed: after StreamOnce, the next Each or
// EachFormatted is the last that works (later ones fail). The CLI, which
// writes a report once, calls it.
type OnceRecords interface {
	StreamOnce()
}

// RecordFormat appends rec, a flow record (event false) or an event as
// Records gives it, to dst in the form a writer puts it in its output. It
// may be called on several goroutines at once, each with its own dst.
// When strs is not nil, every string literal of rec that is a value (not
// an object key) must be written through it: Records mask the text of
// their records that way, in the format's one pass over them.
type RecordFormat func(dst []byte, event bool, rec []byte, strs StringValues) ([]byte, error)

// StringValues appends to dst the string literal that begins at rec[i]
// (a quote), the value of key (the last object key before it; nil: none),
// as the output has it, and returns the index in rec after the literal;
// or it returns dst as it was and -1, and the format copies the literal
// as it is.
type StringValues func(dst, rec []byte, i int, key []byte) ([]byte, int)

// FormattedRecords is implemented by Records that can format their
// records on several goroutines while they are merged.
type FormattedRecords interface {
	// EachFormatted is Each with format applied to every record on up to
	// workers goroutines: write is called on the calling goroutine, in
	// the order of Each, with the formatted bytes of one or more
	// consecutive records of one kind, and the first error of format or
	// write stops it. The bytes passed are only valid during the call.
	EachFormatted(keep func(device string) bool, workers int, format RecordFormat, write func(event bool, b []byte) error) error
}

// EachFormatted streams the records of r as FormattedRecords does, on
// several goroutines when r implements it and on the calling one
// otherwise; the bytes are the same either way.
func EachFormatted(r Records, keep func(device string) bool, workers int, format RecordFormat, write func(event bool, b []byte) error) error {
	if f, ok := r.(FormattedRecords); ok {
		return f.EachFormatted(keep, workers, format, write)
	}
	var dst []byte
	one := func(event bool) func([]byte) error {
		return func(rec []byte) error {
			var err error
			if dst, err = format(dst[:0], event, rec, nil); err != nil {
				return err
			}
			return write(event, dst)
		}
	}
	return r.Each(keep, one(false), one(true))
}

// Tool names the program that made the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Input describes one capture file that was read.
type Input struct {
	Path      string    `json:"path"`
	Format    string    `json:"format"` // pcap, pcapng, with "+gzip"/"+zstd"
	LinkTypes []string  `json:"link_types"`
	Frames    uint64    `json:"frames"`
	Bytes     uint64    `json:"bytes"` // captured frame bytes
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Error     string    `json:"error,omitempty"` // set when reading stopped early
}

// DataSet records which embedded or user data a run used (geo data, signature
// pack, OUI registry), because answers depend on its version.
type DataSet struct {
	Kind    string `json:"kind"`    // "geo-country", "geo-asn", "signatures", "oui"
	Source  string `json:"source"`  // e.g. "embedded: @ip-location-db/asn" or a file path
	Version string `json:"version"` // date or version string
	License string `json:"license,omitempty"`

	// Stale says why answers from this data may not hold for the capture
	// (geo data much newer than the capture), or is empty.
	Stale string `json:"stale,omitempty"`
}

// Device is one local endpoint of the lab network.
type Device struct {
	ID           string        `json:"id"`          // stable key: "mac:..." or "ip:..."
	Name         string        `json:"name"`        // best available name
	NameSource   string        `json:"name_source"` // devices-file, dhcp, mdns, ssdp, netbios, oui
	MAC          string        `json:"mac,omitempty"`
	Vendor       string        `json:"vendor,omitempty"` // OUI registry organisation
	IPs          []string      `json:"ips"`
	Hostnames    []string      `json:"hostnames,omitempty"`
	Model        string        `json:"model,omitempty"` // from --devices
	OS           string        `json:"os,omitempty"`
	Notes        string        `json:"notes,omitempty"`
	DHCP         *DHCPInfo     `json:"dhcp,omitempty"`
	UserAgents   []string      `json:"user_agents,omitempty"`
	FirstSeen    time.Time     `json:"first_seen"`
	LastSeen     time.Time     `json:"last_seen"`
	Destinations []Destination `json:"destinations"`
	Leaks        []Leak        `json:"leaks"`
	Findings     []Finding     `json:"findings"`
	Summary      DeviceSummary `json:"summary"`
}

// DHCPInfo is what a device said about itself in DHCP.
type DHCPInfo struct {
	Hostname    string `json:"hostname,omitempty"`
	VendorClass string `json:"vendor_class,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"` // parameter request list, e.g. "1,3,6,15"
	RequestedIP string `json:"requested_ip,omitempty"`
	AssignedIP  string `json:"assigned_ip,omitempty"`
}

// Dest identifies where traffic went, with everything known about it.
// Destination embeds it; Leak and Finding carry a copy.
type Dest struct {
	Name        string `json:"name,omitempty"`        // best name
	NameSource  string `json:"name_source,omitempty"` // sni, http-host, quic-sni, dns, ptr
	Domain      string `json:"domain,omitempty"`      // registrable domain (eTLD+1)
	IP          string `json:"ip"`
	Port        uint16 `json:"port"`
	Transport   string `json:"transport"`         // tcp, udp
	Country     string `json:"country,omitempty"` // located: ISO 3166 alpha-2, "anycast", or a special-range tag
	CountryName string `json:"country_name,omitempty"`
	ASN         uint32 `json:"asn,omitempty"`
	ASOrg       string `json:"as_org,omitempty"`
	Vendor      string `json:"vendor,omitempty"`
	Service     string `json:"service,omitempty"`
	Category    string `json:"category,omitempty"`
	SignatureID string `json:"signature_id,omitempty"`
	Channel     string `json:"channel"` // TLS1.3, TLS1.2, QUIC, HTTP, MQTT, DNS, plaintext, encrypted-unknown...

	// RegisteredCountry is the ISO 3166 alpha-2 code of the country the
	// address block is registered to; it may differ from Country (a cloud
	// region abroad, an anycast network). Empty for special ranges.
	RegisteredCountry string `json:"registered_country,omitempty"`
	// Anycast names the anycast network when Country is "anycast".
	Anycast string `json:"anycast,omitempty"`
	// Hosting is the cloud or CDN network a named server runs on, when a
	// signature knows the address block but not the name: the service is
	// the name's owner (Vendor empty, Domain says whose), not the host.
	Hosting string `json:"hosting,omitempty"`
}

// Destination aggregates the flows from a device to one server endpoint.
type Destination struct {
	Dest
	Protocols   []string  `json:"protocols"`
	Flows       int       `json:"flows"`
	PacketsUp   uint64    `json:"packets_up"`
	PacketsDown uint64    `json:"packets_down"`
	BytesUp     uint64    `json:"bytes_up"`   // frame bytes, device to server
	BytesDown   uint64    `json:"bytes_down"` // frame bytes, server to device
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	FirstFrame  uint64    `json:"first_frame"`
	// Input is the path (as in Report.Inputs) of the file FirstFrame is
	// in; set only when the run read more than one input.
	Input string `json:"input,omitempty"`
	// PlaintextUp is the part of BytesUp sent by flows on a plaintext
	// channel (Channel is the weakest of them); ThirdParty is the vendor
	// this row makes a third party of the device, or empty. Both are set
	// by the enrichment stage for Summarize and not written.
	PlaintextUp uint64 `json:"-"`
	ThirdParty  string `json:"-"`
	// Decryption counts the destination's TLS and QUIC sessions by
	// decryption outcome; set only when key logs were given.
	Decryption *Decryption `json:"decryption,omitempty"`
}

// Leak is an identifier found leaving a device.
type Leak struct {
	Severity   Severity  `json:"severity"`
	Identifier string    `json:"identifier"` // imei, imsi, phone, email, mac, android_id...
	Known      bool      `json:"known"`      // matched a --devices value (else a generic detector)
	Value      string    `json:"value"`      // masked unless --show-evidence
	Encoding   string    `json:"encoding"`   // e.g. "gzip > base64 > plain"
	Location   string    `json:"location"`   // url.query:imei, header:Cookie, body.json:$.a.b, dns.qname...
	Dest       Dest      `json:"destination"`
	Frame      uint64    `json:"frame"`
	Input      string    `json:"input,omitempty"` // path of Frame's input, when there are several
	Time       time.Time `json:"time"`
	Count      int       `json:"count"` // occurrences merged into this row
	// Private is set on behavioural rows (browsing_history, search_query,
	// app_usage) sent with a private-browsing flag (incognito=true).
	Private bool `json:"private,omitempty"`
	// Spellings are the exact texts that carried the value on the wire
	// and in decoded layers (leak.Hit.Spellings), full values even when
	// Value is masked: the engine masks them in every other field. Never
	// written by any writer.
	Spellings []string `json:"-"`
	// ThirdParty is the registrable domain this leak makes a third party
	// of the device (a server no signature knows, not the maker's), or
	// empty; set by the enrichment stage for Summarize, not written.
	ThirdParty string `json:"-"`
}

// Finding is a non-leak observation worth reporting: old TLS, missing SNI,
// plaintext credentials, home-made encryption, certificate problems...
type Finding struct {
	Severity Severity  `json:"severity"`
	Kind     string    `json:"kind"` // kebab-case id, e.g. "tls-deprecated-version"
	Message  string    `json:"message"`
	Dest     Dest      `json:"destination"`
	Frame    uint64    `json:"frame"`           // first occurrence
	Input    string    `json:"input,omitempty"` // path of Frame's input, when there are several
	Time     time.Time `json:"time"`
	Count    int       `json:"count"` // occurrences merged into this row
}

// DeviceSummary is the per-device roll-up table.
type DeviceSummary struct {
	BytesUp        uint64      `json:"bytes_up"`
	BytesDown      uint64      `json:"bytes_down"`
	ByCountry      []ByteShare `json:"by_country"`
	ByOwner        []ByteShare `json:"by_owner"` // network owner (AS org)
	ThirdParties   []string    `json:"third_parties"`
	PlaintextShare float64     `json:"plaintext_share"` // share of bytes up sent in clear, 0..1
	WorstSeverity  Severity    `json:"worst_severity"`
	WorstFinding   string      `json:"worst_finding,omitempty"`
	// Decryption sums the device's destinations' Decryption.
	Decryption *Decryption `json:"decryption,omitempty"`
}

// ByteShare is bytes sent to one country or network owner.
type ByteShare struct {
	Key       string `json:"key"`
	Label     string `json:"label,omitempty"`
	BytesUp   uint64 `json:"bytes_up"`
	BytesDown uint64 `json:"bytes_down"`
	Flows     int    `json:"flows"`
}

// Summary covers the whole capture.
type Summary struct {
	Devices       int      `json:"devices"`
	Flows         int      `json:"flows"`
	Frames        uint64   `json:"frames"`
	Leaks         int      `json:"leaks"`
	Findings      int      `json:"findings"`
	Warnings      int      `json:"warnings"`
	WorstSeverity Severity `json:"worst_severity"`
	// Decryption counts every TLS and QUIC session of the capture (once,
	// whichever devices it belongs to) by decryption outcome; set only
	// when key logs were given.
	Decryption *Decryption `json:"decryption,omitempty"`
}

// Warning is a problem with the input or a cap that was hit.
type Warning struct {
	Code    string `json:"code"` // kebab-case, e.g. "truncated-file", "flow-cap"
	Message string `json:"message"`
	File    string `json:"file,omitempty"`
	Offset  int64  `json:"offset,omitempty"`
	Frame   uint64 `json:"frame,omitempty"`
	Count   uint64 `json:"count,omitempty"`
}
