package report

import (
	"strconv"
	"strings"
	"time"

	"github.com/phonehome/phonehome/pkg/audit"
)

// humanBytes formats n with binary units: "512 B", "1.5 KiB", "12.0 MiB".
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + "KMGTPE"[exp:exp+1] + "iB"
}

// fmtTime writes t in UTC RFC 3339 (seconds, plus fraction when present);
// the zero time is empty.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// fmtTimeShort is fmtTime without the fraction, for narrow tables.
func fmtTimeShort(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// pct formats a 0..1 share as a percentage with one decimal.
func pct(f float64) string {
	if f != f || f < 0 { // NaN or negative input
		f = 0
	}
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}

// share returns part/total as 0..1 (0 when total is 0).
func share(part, total uint64) float64 {
	if total == 0 {
		return 0
	}
	return float64(part) / float64(total)
}

func u64(n uint64) string { return strconv.FormatUint(n, 10) }
func itoa(n int) string   { return strconv.Itoa(n) }

// destLabel names a destination for a leak or finding row: the name, else
// ip:port.
func destLabel(d audit.Dest) string {
	if d.Name != "" {
		return d.Name
	}
	return endpoint(d)
}

// endpoint is ip:port (IPv6 in brackets), or the IP alone without a port.
func endpoint(d audit.Dest) string {
	if d.Port == 0 {
		return d.IP
	}
	if strings.Contains(d.IP, ":") {
		return "[" + d.IP + "]:" + strconv.Itoa(int(d.Port))
	}
	return d.IP + ":" + strconv.Itoa(int(d.Port))
}

// vendorLabel is "Vendor: Service (category)" without empty or repeated
// parts: the vendor is left out when the service already names it
// ("Google Public DNS"), the service when the vendor's name holds it
// ("Sensors Data (Sensors Analytics)"), and a placeholder service such as
// "Google (other)" adds nothing.
func vendorLabel(d audit.Dest) string {
	v, svc := d.Vendor, d.Service
	lv, ls := strings.ToLower(v), strings.ToLower(svc)
	switch {
	case svc == "" || lv == ls || strings.Contains(lv, ls) || strings.HasSuffix(ls, "(other)"):
		svc = ""
	case v != "" && strings.HasPrefix(ls, lv):
		v = ""
	}
	s := v
	if svc != "" {
		if s != "" {
			s += ": "
		}
		s += svc
	}
	if d.Category != "" && d.Category != "other" {
		if s != "" {
			s += " "
		}
		s += "(" + d.Category + ")"
	}
	if s == "" && d.Hosting != "" {
		owner := d.Domain
		if owner == "" {
			owner = "?"
		}
		s = owner + " (hosted on " + d.Hosting + ")"
	}
	return s
}

// asLabel is "AS15169 Google LLC".
func asLabel(d audit.Dest) string {
	switch {
	case d.ASN == 0:
		return d.ASOrg
	case d.ASOrg == "":
		return "AS" + strconv.FormatUint(uint64(d.ASN), 10)
	}
	return "AS" + strconv.FormatUint(uint64(d.ASN), 10) + " " + d.ASOrg
}

// deviceLabel is "name (id)" or the id alone.
func deviceLabel(d *audit.Device) string {
	if d.Name == "" || d.Name == d.ID {
		return d.ID
	}
	return d.Name + " (" + d.ID + ")"
}

// leakIdent is the identifier, marked when it matched a --devices value.
func leakIdent(l audit.Leak) string {
	if l.Known {
		return l.Identifier + " (known)"
	}
	return l.Identifier
}

// frameLabel is the frame number, with the merged count when above one.
func frameLabel(frame uint64, count int) string {
	if count > 1 {
		return u64(frame) + " ×" + itoa(count)
	}
	return u64(frame)
}

// inputLabel prefixes a frame number with its input ("b.pcap:") when the
// report has several inputs (the model sets Input only then).
func inputLabel(input string) string {
	if input == "" {
		return ""
	}
	return input + ":"
}
