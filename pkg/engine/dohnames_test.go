package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/leak"
)

// dohCapture writes a crafted capture: a device looks names up over DNS
// over HTTPS (h2c and HTTP/1.1), and connects to the answered addresses before and after
// the answers (opaque bytes: nothing else names those connections).
func dohCapture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doh.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := writeDoHCapture(f); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeDoHCapture writes dohCapture's capture to w (also a FuzzRun seed).
func writeDoHCapture(w io.Writer) error {
	c, err := craft.New(w, time.Unix(1767225600, 0))
	if err != nil {
		return err
	}
	dev := craft.NewHost("02:11:22:33:44:55", "10.0.0.5")
	srv := func(ip string) craft.Host { return craft.NewHost("02:00:00:00:00:01", ip) }
	opaque := func(port uint16, ip string, sport uint16, up []byte) {
		k := c.Dial(dev, port, srv(ip), sport)
		k.Send(true, up)
		k.Send(false, craft.Opaque(200, uint32(port)))
		k.Close()
		c.Advance(time.Second)
	}
	// Before the answers.
	opaque(50001, "203.0.113.7", 8443, craft.Opaque(300, 1))

	// The lookups: two GETs on one h2c connection.
	cl, sv := craft.NewH2C(true), craft.NewH2C(false)
	k := c.Dial(dev, 50002, srv("192.0.2.53"), 80)
	k.Send(true, cl.DoHGet(1, "doh.example.net", craft.DNSQuery(0, "tracker.example.net", 1)).
		DoHGet(3, "doh.example.net", craft.DNSQuery(0, "cdn.example.org", 1)).Take())
	k.Send(false, sv.DoHAnswer(1, craft.DNSAnswer(0, "tracker.example.net", []string{"edge.example.com"}, "203.0.113.7")).
		DoHAnswer(3, craft.DNSAnswer(0, "cdn.example.org", nil, "198.51.100.9")).Take())
	c.Advance(time.Second)
	// One over HTTP/1.1.
	ans := craft.DNSAnswer(0, "img.example.org", nil, "198.51.100.20")
	c.Exchange(dev, 50009, srv("192.0.2.54"), 80,
		craft.HTTPRequest("GET", "doh1.example.net", "/dns-query?dns="+base64.RawURLEncoding.EncodeToString(craft.DNSQuery(0, "img.example.org", 1)), nil, nil),
		craft.HTTPResponse(200, "application/dns-message", ans))
	c.Advance(time.Second)

	// After them.
	// HTTP with an address for Host, which names nothing; its URL leaks.
	c.Exchange(dev, 50003, srv("203.0.113.7"), 443, craft.HTTPRequest("GET", "203.0.113.7", "/v1?email=alice@example.com", nil, nil),
		craft.HTTPResponse(204, "text/plain", nil))
	c.Advance(time.Second)
	opaque(50004, "203.0.113.7", 443, craft.Opaque(300, 4))
	opaque(50005, "198.51.100.9", 443, craft.Opaque(300, 5))
	opaque(50006, "192.0.2.99", 443, craft.Opaque(300, 6))
	opaque(50010, "198.51.100.20", 443, craft.Opaque(300, 10))
	opaque(50007, "203.0.113.7", 8443, craft.Opaque(300, 7))
	k = c.Dial(dev, 50008, srv("198.51.100.9"), 8443)
	k.Send(true, craft.ClientHello("pinned.example.com", craft.TLS12))
	k.Close()
	return c.Err()
}

// TestDoHNamesLaterFlows: DoH answers name the destination rows (and their
// flows and leaks) whose flows all began after them; other sources that
// rank higher keep their names; a row with a flow from before the answer
// keeps no name (a row is renamed whole or not at all). The same whatever
// GOMAXPROCS and number of goroutines, kept or spooled records.
func TestDoHNamesLaterFlows(t *testing.T) {
	path := dohCapture(t)
	sc, err := leak.NewScanner(nil, leak.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"203.0.113.7:443":   "tracker.example.net (dns)", // the first name of the CNAME chain
		"198.51.100.9:443":  "cdn.example.org (dns)",
		"192.0.2.99:443":    " ()", // not answered
		"203.0.113.7:8443":  " ()", // one of its flows began before the answer
		"198.51.100.9:8443": "pinned.example.com (sni)",
		"192.0.2.53:80":     "doh.example.net (http-host)",
		"198.51.100.20:443": "img.example.org (dns)", // answered over HTTP/1.1
		"192.0.2.54:80":     "doh1.example.net (http-host)",
	}
	type result struct {
		flows, dests map[string]string
		leaks, recs  []string // recs: the flow records' JSON
		js           []byte
	}
	run := func(t *testing.T, cfg Config) result {
		t.Helper()
		cfg.Scanner, cfg.KeepFlows = sc, true
		rep, err := Run(context.Background(), cfg, []string{path})
		if err != nil && !errors.Is(err, ErrDamaged) {
			t.Fatal(err)
		}
		r := result{flows: map[string]string{}, dests: map[string]string{}}
		add := func(f audit.Flow) {
			n := f.Name + " (" + f.NameSource + ")"
			if o, ok := r.flows[f.Server]; ok && o != n {
				t.Errorf("flows to %s named %q and %q", f.Server, o, n)
			}
			r.flows[f.Server] = n
			b, _ := f.AppendJSON(nil)
			r.recs = append(r.recs, string(b))
		}
		for _, f := range rep.Flows {
			add(f)
		}
		if rep.Records != nil {
			err := rep.Records.Each(nil, func(b []byte) error {
				var f audit.Flow
				if err := json.Unmarshal(b, &f); err != nil {
					return err
				}
				add(f)
				return nil
			}, func([]byte) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			rep.Records.Close()
			rep.Records = nil
		}
		for _, d := range rep.Devices {
			for _, x := range d.Destinations {
				r.dests[fmt.Sprintf("%s:%d", x.IP, x.Port)] = x.Name + " (" + x.NameSource + ")"
			}
			for _, l := range d.Leaks {
				r.leaks = append(r.leaks, fmt.Sprintf("%s %s:%d %s (%s)", l.Identifier, l.Dest.IP, l.Dest.Port, l.Dest.Name, l.Dest.NameSource))
			}
		}
		slices.Sort(r.leaks)
		slices.Sort(r.recs)
		if r.js, err = json.Marshal(rep); err != nil {
			t.Fatal(err)
		}
		if n := rep.Counters["doh_named_destinations"]; n != 3 {
			t.Errorf("doh_named_destinations %d, want 3", n)
		}
		return r
	}
	wantLeaks := []string{"email 203.0.113.7:443 tracker.example.net (dns)"}
	var first *result
	for _, procs := range []int{1, 2} {
		for _, workers := range []int{0, 1, 2, 4, 8} {
			for _, spool := range []bool{false, true} {
				name := fmt.Sprintf("procs=%d/workers=%d/spool=%v", procs, workers, spool)
				t.Run(name, func(t *testing.T) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					r := run(t, Config{Workers: workers, SpoolRecords: spool})
					for srv, w := range want {
						if g := r.flows[srv]; g != w {
							t.Errorf("flows to %s named %q, want %q", srv, g, w)
						}
						if g := r.dests[srv]; g != w {
							t.Errorf("destination %s named %q, want %q", srv, g, w)
						}
					}
					if !slices.Equal(r.leaks, wantLeaks) {
						t.Errorf("leaks %q, want %q", r.leaks, wantLeaks)
					}
					if first != nil && !slices.Equal(r.recs, first.recs) {
						t.Errorf("flow records differ from the first run's:\n%q\n%q", r.recs, first.recs)
					}
					if spool {
						return
					}
					if first == nil {
						first = &r
					} else if string(r.js) != string(first.js) {
						t.Errorf("report differs from the first run's")
					}
				})
			}
		}
	}
}
