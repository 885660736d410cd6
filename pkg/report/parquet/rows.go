package parquet

import "time"

// The row types below are the columns of the six tables. Names follow
// docs/schema/report.schema.json; a nested object is flattened with its key
// as prefix (dhcp_hostname, summary_bytes_up, destination_country), lists
// are Parquet LISTs. Every row starts with the capture it comes from.
// One column is derived, not in the JSON: plaintext (destination_plaintext)
// says whether the channel can be read by anyone on the path
// (audit.Channel.Plaintext), so that "sent in clear" is one condition in SQL.
// Times are TIMESTAMP(NANOS, UTC), null when unknown (the zero time, or
// outside what 64-bit nanoseconds hold).

// DeviceRow is one device (devices[] without its nested lists).
type DeviceRow struct {
	CapturePath         string      `parquet:"capture_path,dict"`
	CaptureSHA256       string      `parquet:"capture_sha256,dict"`
	ID                  string      `parquet:"id"`
	Name                string      `parquet:"name"`
	NameSource          string      `parquet:"name_source"`
	MAC                 string      `parquet:"mac"`
	Vendor              string      `parquet:"vendor"`
	IPs                 []string    `parquet:"ips,list"`
	Hostnames           []string    `parquet:"hostnames,list"`
	Model               string      `parquet:"model"`
	OS                  string      `parquet:"os"`
	Notes               string      `parquet:"notes"`
	DHCPHostname        string      `parquet:"dhcp_hostname"`
	DHCPVendorClass     string      `parquet:"dhcp_vendor_class"`
	DHCPFingerprint     string      `parquet:"dhcp_fingerprint"`
	DHCPRequestedIP     string      `parquet:"dhcp_requested_ip"`
	DHCPAssignedIP      string      `parquet:"dhcp_assigned_ip"`
	UserAgents          []string    `parquet:"user_agents,list"`
	FirstSeen           *time.Time  `parquet:"first_seen,optional,timestamp(nanosecond:utc)"`
	LastSeen            *time.Time  `parquet:"last_seen,optional,timestamp(nanosecond:utc)"`
	SummaryBytesUp      uint64      `parquet:"summary_bytes_up"`
	SummaryBytesDown    uint64      `parquet:"summary_bytes_down"`
	SummaryByCountry    []ShareItem `parquet:"summary_by_country,list"`
	SummaryByOwner      []ShareItem `parquet:"summary_by_owner,list"`
	SummaryThirdParties []string    `parquet:"summary_third_parties,list"`
	SummaryPlaintext    float64     `parquet:"summary_plaintext_share"`
	SummaryWorst        string      `parquet:"summary_worst_severity,dict"`
	SummaryWorstFinding string      `parquet:"summary_worst_finding"`
	SummaryDecryptionCols
	Destinations int64 `parquet:"destinations"`
	Leaks        int64 `parquet:"leaks"`
	Findings     int64 `parquet:"findings"`
}

// SummaryDecryptionCols is a device's summary.decryption, flattened: the
// TLS and QUIC sessions of its destinations by decryption outcome. All
// null when no key log was given (the JSON then has no decryption object).
type SummaryDecryptionCols struct {
	SummaryDecrypted *int64      `parquet:"summary_decryption_decrypted,optional"`
	SummaryNoKey     *int64      `parquet:"summary_decryption_no_key,optional"`
	SummaryFailed    *int64      `parquet:"summary_decryption_failed,optional"`
	SummaryStopped   []StopCount `parquet:"summary_decryption_stopped,list"`
}

// DecryptionCols is a destination's decryption object, flattened; null
// without key logs.
type DecryptionCols struct {
	Decrypted *int64      `parquet:"decryption_decrypted,optional"`
	NoKey     *int64      `parquet:"decryption_no_key,optional"`
	Failed    *int64      `parquet:"decryption_failed,optional"`
	Stopped   []StopCount `parquet:"decryption_stopped,list"`
}

// StopCount is one entry of decryption.stopped: sessions whose decryption
// failed or ended early for reason, in reason order.
type StopCount struct {
	Reason   string `parquet:"reason"`
	Sessions int64  `parquet:"sessions"`
}

// ShareItem is one entry of summary.by_country or summary.by_owner.
type ShareItem struct {
	Key       string `parquet:"key"`
	Label     string `parquet:"label"`
	BytesUp   uint64 `parquet:"bytes_up"`
	BytesDown uint64 `parquet:"bytes_down"`
	Flows     int64  `parquet:"flows"`
}

// DestinationRow is one devices[].destinations[] entry.
type DestinationRow struct {
	CapturePath   string     `parquet:"capture_path,dict"`
	CaptureSHA256 string     `parquet:"capture_sha256,dict"`
	Device        string     `parquet:"device,dict"`
	Name          string     `parquet:"name"`
	NameSource    string     `parquet:"name_source,dict"`
	Domain        string     `parquet:"domain"`
	IP            string     `parquet:"ip"`
	Port          int32      `parquet:"port"`
	Transport     string     `parquet:"transport,dict"`
	Country       string     `parquet:"country,dict"`
	CountryName   string     `parquet:"country_name,dict"`
	ASN           int64      `parquet:"asn"`
	ASOrg         string     `parquet:"as_org"`
	Vendor        string     `parquet:"vendor"`
	Service       string     `parquet:"service"`
	Category      string     `parquet:"category,dict"`
	SignatureID   string     `parquet:"signature_id"`
	Channel       string     `parquet:"channel,dict"`
	Registered    string     `parquet:"registered_country,dict"`
	Anycast       string     `parquet:"anycast,dict"`
	Hosting       string     `parquet:"hosting,dict"`
	Plaintext     bool       `parquet:"plaintext"` // derived: audit.Channel(channel).Plaintext()
	Protocols     []string   `parquet:"protocols,list"`
	Flows         int64      `parquet:"flows"`
	PacketsUp     uint64     `parquet:"packets_up"`
	PacketsDown   uint64     `parquet:"packets_down"`
	BytesUp       uint64     `parquet:"bytes_up"`
	BytesDown     uint64     `parquet:"bytes_down"`
	FirstSeen     *time.Time `parquet:"first_seen,optional,timestamp(nanosecond:utc)"`
	LastSeen      *time.Time `parquet:"last_seen,optional,timestamp(nanosecond:utc)"`
	FirstFrame    uint64     `parquet:"first_frame"`
	DecryptionCols
}

// DestCols is a leak's or finding's "destination" object, flattened.
type DestCols struct {
	DestName        string `parquet:"destination_name"`
	DestNameSource  string `parquet:"destination_name_source,dict"`
	DestDomain      string `parquet:"destination_domain"`
	DestIP          string `parquet:"destination_ip"`
	DestPort        int32  `parquet:"destination_port"`
	DestTransport   string `parquet:"destination_transport,dict"`
	DestCountry     string `parquet:"destination_country,dict"`
	DestCountryName string `parquet:"destination_country_name,dict"`
	DestASN         int64  `parquet:"destination_asn"`
	DestASOrg       string `parquet:"destination_as_org"`
	DestVendor      string `parquet:"destination_vendor"`
	DestService     string `parquet:"destination_service"`
	DestCategory    string `parquet:"destination_category,dict"`
	DestSignatureID string `parquet:"destination_signature_id"`
	DestChannel     string `parquet:"destination_channel,dict"`
	DestRegistered  string `parquet:"destination_registered_country,dict"`
	DestAnycast     string `parquet:"destination_anycast,dict"`
	DestHosting     string `parquet:"destination_hosting,dict"`
	DestPlaintext   bool   `parquet:"destination_plaintext"` // derived: audit.Channel(destination_channel).Plaintext()
}

// LeakRow is one devices[].leaks[] entry. Value is masked unless the run
// had --show-evidence, as in every format.
type LeakRow struct {
	CapturePath   string `parquet:"capture_path,dict"`
	CaptureSHA256 string `parquet:"capture_sha256,dict"`
	Device        string `parquet:"device,dict"`
	Severity      string `parquet:"severity,dict"`
	Identifier    string `parquet:"identifier,dict"`
	Known         bool   `parquet:"known"`
	Value         string `parquet:"value"`
	Encoding      string `parquet:"encoding,dict"`
	Location      string `parquet:"location"`
	DestCols
	Frame uint64     `parquet:"frame"`
	Time  *time.Time `parquet:"time,optional,timestamp(nanosecond:utc)"`
	Count int64      `parquet:"count"`
}

// FindingRow is one devices[].findings[] entry.
type FindingRow struct {
	CapturePath   string `parquet:"capture_path,dict"`
	CaptureSHA256 string `parquet:"capture_sha256,dict"`
	Device        string `parquet:"device,dict"`
	Severity      string `parquet:"severity,dict"`
	Kind          string `parquet:"kind,dict"`
	Message       string `parquet:"message"`
	DestCols
	Frame uint64     `parquet:"frame"`
	Time  *time.Time `parquet:"time,optional,timestamp(nanosecond:utc)"`
	Count int64      `parquet:"count"`
}

// FlowRow is one flows[] record.
type FlowRow struct {
	CapturePath   string     `parquet:"capture_path,dict"`
	CaptureSHA256 string     `parquet:"capture_sha256,dict"`
	ID            uint64     `parquet:"id"`
	Transport     string     `parquet:"transport,dict"`
	Client        string     `parquet:"client"`
	Server        string     `parquet:"server"`
	Device        string     `parquet:"device,dict"`
	PacketsUp     uint64     `parquet:"packets_up"`
	PacketsDown   uint64     `parquet:"packets_down"`
	BytesUp       uint64     `parquet:"bytes_up"`
	BytesDown     uint64     `parquet:"bytes_down"`
	PayloadUp     uint64     `parquet:"payload_up"`
	PayloadDown   uint64     `parquet:"payload_down"`
	FirstFrame    uint64     `parquet:"first_frame"`
	First         *time.Time `parquet:"first,optional,timestamp(nanosecond:utc)"`
	Last          *time.Time `parquet:"last,optional,timestamp(nanosecond:utc)"`
	Protocol      string     `parquet:"protocol,dict"`
	Name          string     `parquet:"name"`
	NameSource    string     `parquet:"name_source,dict"`
	Channel       string     `parquet:"channel,dict"`
	State         string     `parquet:"state,dict"`
	GapBytes      uint64     `parquet:"gap_bytes"`
}

// EventRow is one events[] record: the common keys as columns, and the
// whole event object (docs/events.md; its fields depend on the type) as
// JSON, for DuckDB's json functions.
type EventRow struct {
	CapturePath   string     `parquet:"capture_path,dict"`
	CaptureSHA256 string     `parquet:"capture_sha256,dict"`
	Type          string     `parquet:"type,dict"`
	Frame         uint64     `parquet:"frame"`
	TS            *time.Time `parquet:"ts,optional,timestamp(nanosecond:utc)"`
	FlowID        uint64     `parquet:"flow_id"`
	Record        string     `parquet:"record,json"`
}
