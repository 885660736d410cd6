package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/escape"
)

// writeCSV writes one table with a header row and exact integers. Per-device
// tables start with device_id and device_name columns; destinations are one
// row per server endpoint (no grouping). Every cell goes through escape.CSV.
func writeCSV(w io.Writer, r *audit.Report, table string) error {
	cw := csv.NewWriter(w)
	write := func(rec []string) error {
		for i := range rec {
			rec[i] = escape.CSV(rec[i])
		}
		return cw.Write(rec)
	}
	var err error
	switch table {
	case TableDestinations:
		err = csvDestinations(r, write)
	case TableLeaks:
		err = csvLeaks(r, write)
	case TableFindings:
		err = csvFindings(r, write)
	case TableDevices:
		err = csvDevices(r, write)
	case TableFlows:
		err = csvFlows(r, write)
	}
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

var destCSVHeader = []string{"name", "name_source", "domain", "ip", "port", "transport", "country", "country_name",
	"registered_country", "anycast", "asn", "as_org", "vendor", "service", "category", "signature_id", "channel"}

func destCSV(d audit.Dest) []string {
	return []string{d.Name, d.NameSource, d.Domain, d.IP, strconv.Itoa(int(d.Port)), d.Transport, d.Country,
		d.CountryName, d.RegisteredCountry, d.Anycast, strconv.FormatUint(uint64(d.ASN), 10), d.ASOrg, d.Vendor, d.Service, d.Category,
		d.SignatureID, d.Channel}
}

func withDest(prefix []string, d audit.Dest, suffix ...string) []string {
	rec := append(prefix, destCSV(d)...)
	return append(rec, suffix...)
}

func prefixed(dev *audit.Device, cols ...string) []string {
	return append([]string{dev.ID, dev.Name}, cols...)
}

func csvDestinations(r *audit.Report, write func([]string) error) error {
	hdr := append([]string{"device_id", "device_name"}, destCSVHeader...)
	hdr = append(hdr, "protocols", "flows", "packets_up", "packets_down", "bytes_up", "bytes_down",
		"first_seen", "last_seen", "first_frame", "input")
	if err := write(hdr); err != nil {
		return err
	}
	for i := range r.Devices {
		dev := &r.Devices[i]
		for _, d := range dev.Destinations {
			rec := withDest(prefixed(dev), d.Dest, strings.Join(d.Protocols, " "), itoa(d.Flows),
				u64(d.PacketsUp), u64(d.PacketsDown), u64(d.BytesUp), u64(d.BytesDown),
				fmtTime(d.FirstSeen), fmtTime(d.LastSeen), u64(d.FirstFrame), d.Input)
			if err := write(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

func csvLeaks(r *audit.Report, write func([]string) error) error {
	hdr := []string{"device_id", "device_name", "severity", "identifier", "known", "value", "encoding", "location"}
	for _, h := range destCSVHeader {
		hdr = append(hdr, "destination_"+h)
	}
	hdr = append(hdr, "frame", "time", "count", "input")
	if err := write(hdr); err != nil {
		return err
	}
	for i := range r.Devices {
		dev := &r.Devices[i]
		for _, l := range dev.Leaks {
			rec := withDest(prefixed(dev, l.Severity.String(), l.Identifier, strconv.FormatBool(l.Known), l.Value,
				l.Encoding, l.Location), l.Dest, u64(l.Frame), fmtTime(l.Time), itoa(l.Count), l.Input)
			if err := write(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

func csvFindings(r *audit.Report, write func([]string) error) error {
	hdr := []string{"device_id", "device_name", "severity", "kind", "message"}
	for _, h := range destCSVHeader {
		hdr = append(hdr, "destination_"+h)
	}
	hdr = append(hdr, "frame", "time", "count", "input")
	if err := write(hdr); err != nil {
		return err
	}
	for i := range r.Devices {
		dev := &r.Devices[i]
		for _, f := range dev.Findings {
			rec := withDest(prefixed(dev, f.Severity.String(), f.Kind, f.Message), f.Dest, u64(f.Frame), fmtTime(f.Time), itoa(f.Count), f.Input)
			if err := write(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

func csvDevices(r *audit.Report, write func([]string) error) error {
	hdr := []string{"device_id", "device_name", "name_source", "mac", "vendor", "ips", "hostnames", "model", "os",
		"dhcp_hostname", "dhcp_vendor_class", "dhcp_fingerprint", "user_agents", "first_seen", "last_seen",
		"destinations", "leaks", "findings", "bytes_up", "bytes_down", "plaintext_share", "third_parties",
		"worst_severity", "worst_finding"}
	if err := write(hdr); err != nil {
		return err
	}
	for i := range r.Devices {
		d := &r.Devices[i]
		var h audit.DHCPInfo
		if d.DHCP != nil {
			h = *d.DHCP
		}
		s := d.Summary
		rec := []string{d.ID, d.Name, d.NameSource, d.MAC, d.Vendor, strings.Join(d.IPs, " "),
			strings.Join(d.Hostnames, " "), d.Model, d.OS, h.Hostname, h.VendorClass, h.Fingerprint,
			strings.Join(d.UserAgents, "\n"), fmtTime(d.FirstSeen), fmtTime(d.LastSeen),
			itoa(len(d.Destinations)), itoa(len(d.Leaks)), itoa(len(d.Findings)), u64(s.BytesUp), u64(s.BytesDown),
			strconv.FormatFloat(s.PlaintextShare, 'f', -1, 64), strings.Join(s.ThirdParties, " "),
			s.WorstSeverity.String(), s.WorstFinding}
		if err := write(rec); err != nil {
			return err
		}
	}
	return nil
}

func csvFlows(r *audit.Report, write func([]string) error) error {
	hdr := []string{"id", "device_id", "transport", "client", "server", "protocol", "name", "name_source", "channel",
		"packets_up", "packets_down", "bytes_up", "bytes_down", "payload_up", "payload_down", "first_frame",
		"first", "last", "state", "gap_bytes", "input"}
	if err := write(hdr); err != nil {
		return err
	}
	for _, f := range r.Flows {
		rec := []string{u64(f.ID), f.Device, f.Transport, f.Client, f.Server, f.Protocol, f.Name, f.NameSource,
			f.Channel, u64(f.PacketsUp), u64(f.PacketsDown), u64(f.BytesUp), u64(f.BytesDown), u64(f.PayloadUp),
			u64(f.PayloadDown), u64(f.FirstFrame), fmtTime(f.First), fmtTime(f.Last), f.State, u64(f.GapBytes), f.Input}
		if err := write(rec); err != nil {
			return err
		}
	}
	return nil
}
