package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/proto/dns"
	phttp "github.com/phonehome/phonehome/pkg/proto/http"
	"github.com/phonehome/phonehome/pkg/proto/quic"
	ptls "github.com/phonehome/phonehome/pkg/proto/tls"
)

type truthNames struct {
	DNS struct {
		QueryNames []string `json:"query_names"`
		MDNSNames  []string `json:"mdns_names"`
	} `json:"dns"`
	HTTP struct {
		Requests []struct {
			Method    string `json:"method"`
			Host      string `json:"host"`
			URI       string `json:"uri"`
			Transport string `json:"transport"`
			SSDP      bool   `json:"ssdp"`
		} `json:"requests"`
	} `json:"http"`
	TLS struct {
		SNIs []string `json:"snis"`
	} `json:"tls"`
	QUIC struct {
		SNIs  []string `json:"snis"`
		GQUIC []struct {
			SNI []string `json:"sni"`
		} `json:"gquic_sni"`
	} `json:"quic"`
}

// nameKinds extracts, from a report's events, the values compared with the
// truth: DNS query names, HTTP request method+host+URI, TLS and QUIC SNI.
var nameKinds = map[string]func(ev audit.Event) []string{
	"dns": func(ev audit.Event) []string {
		d, ok := ev.Fields.(dns.Event)
		if !ok {
			return nil
		}
		var out []string
		for _, q := range d.Questions {
			out = append(out, strings.ToLower(strings.TrimSuffix(q.Name, ".")))
		}
		return out
	},
	"tls": func(ev audit.Event) []string {
		ss, ok := ev.Fields.(*ptls.Session)
		if !ok {
			return nil
		}
		var out []string
		for _, ch := range ss.ClientHellos {
			if ch.SNI != "" {
				out = append(out, strings.ToLower(ch.SNI))
			}
		}
		return out
	},
	"quic": func(ev audit.Event) []string {
		c, ok := ev.Fields.(*quic.Connection)
		if !ok || c.SNI == "" {
			return nil
		}
		return []string{strings.ToLower(c.SNI)}
	},
	"http": func(ev audit.Event) []string {
		h, ok := ev.Fields.(*phttp.Event)
		if !ok || h.Request == nil {
			return nil
		}
		return []string{h.Request.Method + " " + h.Request.Host + " " + h.Request.URI}
	},
}

// nameExceptions: truth values phonehome does not produce, or produces
// where tshark does not, with the reason.
var nameExceptions = map[string]string{
	// tshark shows DNS queries quoted inside ICMP errors as queries.
	"iot-sentinel/HueBridge/Setup-A-1-STA.pcap dns": "queries quoted inside ICMP errors",
	// DNS over HTTP/2 in clear (h2c): phonehome does not parse HTTP/2, so
	// the two names inside are not seen; the flow is reported as such.
	"suricata-verify/dns-over-http2.pcap dns": "DNS inside HTTP/2 frames is not decoded",
}

// TestCorpusNames measures recall of DNS query names, HTTP requests and
// TLS/QUIC SNI against tshark's, over every dev capture, and requires that
// phonehome invents no values tshark does not have.
func TestCorpusNames(t *testing.T) {
	entries := corpus.Dev(t)
	found := map[string]int{}
	total := map[string]int{}
	for _, e := range entries {
		var truth truthNames
		corpus.LoadTruth(t, e, &truth)
		want := map[string]map[string]bool{"dns": {}, "http": {}, "tls": {}, "quic": {}}
		for _, n := range truth.TLS.SNIs {
			want["tls"][strings.ToLower(n)] = true
		}
		for _, n := range truth.QUIC.SNIs {
			want["quic"][strings.ToLower(n)] = true
		}
		for _, g := range truth.QUIC.GQUIC { // Google QUIC's cleartext CHLO
			for _, n := range g.SNI {
				want["quic"][strings.ToLower(n)] = true
			}
		}
		for _, n := range append(truth.DNS.QueryNames, truth.DNS.MDNSNames...) {
			want["dns"][strings.ToLower(strings.TrimSuffix(n, "."))] = true
		}
		for _, r := range truth.HTTP.Requests {
			if r.Transport != "tcp" || r.SSDP {
				continue
			}
			want["http"][r.Method+" "+r.Host+" "+r.URI] = true
		}
		if len(want["dns"])+len(want["http"])+len(want["tls"])+len(want["quic"]) == 0 {
			continue
		}
		rep, err := Run(context.Background(), Config{KeepEvents: true}, []string{e.Path})
		if err != nil && !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		got := map[string]map[string]bool{"dns": {}, "http": {}, "tls": {}, "quic": {}}
		for _, ev := range rep.Events {
			if f := nameKinds[ev.Type]; f != nil {
				for _, v := range f(ev) {
					got[ev.Type][v] = true
				}
			}
		}
		for kind := range want {
			var missing, invented []string
			for v := range want[kind] {
				total[kind]++
				if got[kind][v] {
					found[kind]++
				} else {
					missing = append(missing, v)
				}
			}
			for v := range got[kind] {
				if !want[kind][v] {
					invented = append(invented, v)
				}
			}
			if len(missing)+len(invented) == 0 {
				continue
			}
			sort.Strings(missing)
			sort.Strings(invented)
			msg := fmt.Sprintf("%s %s: missing %q, not in tshark %q", e.Name(), kind, missing, invented)
			if why, ok := nameExceptions[e.Name()+" "+kind]; ok {
				t.Logf("known (%s): %s", why, msg)
				continue
			}
			if len(invented) > 0 {
				t.Errorf("%s", msg)
			} else {
				t.Logf("%s", msg)
			}
		}
	}
	for _, kind := range []string{"dns", "http", "tls", "quic"} {
		if total[kind] == 0 {
			continue
		}
		r := float64(found[kind]) / float64(total[kind])
		t.Logf("%s: recall %d/%d = %.4f", kind, found[kind], total[kind], r)
		if r < 0.99 {
			t.Errorf("%s recall %.4f < 0.99", kind, r)
		}
	}
}
