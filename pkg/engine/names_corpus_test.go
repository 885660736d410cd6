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
	"github.com/phonehome/phonehome/pkg/proto/http2"
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
		HTTP2 []struct {
			Method    string `json:"method"`
			Authority string `json:"authority"`
			Path      string `json:"path"`
		} `json:"http2_requests"`
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
		if doh, isDoH := ev.Fields.(http2.DoHEvent); isDoH {
			d, ok = doh.Event, true // DNS over HTTPS, decoded from HTTP/2
		}
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
		if h2, ok := ev.Fields.(*http2.Event); ok && h2.Request != nil {
			return []string{h2.Request.Method + " " + h2.Request.Authority + " " + h2.Request.URI}
		}
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
}

// TestCorpusNames measures recall and precision of DNS query names, HTTP
// requests (HTTP/1 and HTTP/2) and TLS/QUIC SNI against tshark's, over
// every dev capture, per kind and overall, and lists the misses per kind
// with their capture. Values phonehome has and tshark does not fail the
// test unless an exception says why.
func TestCorpusNames(t *testing.T) {
	kinds := []string{"dns", "http", "tls", "quic"}
	entries := corpus.Dev(t)
	found, total, invented := map[string]int{}, map[string]int{}, map[string]int{}
	misses := map[string][]string{}
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
		for _, r := range truth.HTTP.HTTP2 {
			want["http"][r.Method+" "+r.Authority+" "+r.Path] = true
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
		for _, kind := range kinds {
			var missing, extra []string
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
					extra = append(extra, v)
				}
			}
			invented[kind] += len(extra)
			if len(missing)+len(extra) == 0 {
				continue
			}
			sort.Strings(missing)
			sort.Strings(extra)
			misses[kind] = append(misses[kind], fmt.Sprintf("%s: missing %q, not in tshark %q", e.Name(), missing, extra))
			if why, ok := nameExceptions[e.Name()+" "+kind]; ok {
				t.Logf("known (%s): %s %s", why, e.Name(), kind)
				continue
			}
			if len(extra) > 0 {
				t.Errorf("%s %s: not in tshark %q", e.Name(), kind, extra)
			}
		}
	}
	var allFound, allTotal, allInvented int
	for _, kind := range kinds {
		allFound, allTotal, allInvented = allFound+found[kind], allTotal+total[kind], allInvented+invented[kind]
		if total[kind] == 0 {
			continue
		}
		r := float64(found[kind]) / float64(total[kind])
		p := float64(found[kind]) / float64(max(1, found[kind]+invented[kind]))
		t.Logf("%s: recall %d/%d = %.4f, precision %d/%d = %.4f", kind, found[kind], total[kind], r, found[kind], found[kind]+invented[kind], p)
		for _, m := range misses[kind] {
			t.Logf("  %s miss: %s", kind, m)
		}
		if r < 0.99 {
			t.Errorf("%s recall %.4f < 0.99", kind, r)
		}
	}
	if allTotal == 0 {
		return
	}
	r := float64(allFound) / float64(allTotal)
	p := float64(allFound) / float64(max(1, allFound+allInvented))
	t.Logf("all names: recall %d/%d = %.4f, precision %d/%d = %.4f", allFound, allTotal, r, allFound, allFound+allInvented, p)
	if r < 0.997 || p < 0.997 {
		t.Errorf("names recall %.4f, precision %.4f: want both >= 0.997", r, p)
	}
}
