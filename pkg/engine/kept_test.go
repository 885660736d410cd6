package engine

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/flow"
)

const flowLinger = flow.DefaultClosedLinger

// writeLateEnders writes a capture whose earliest flows end last: long
// connections are opened first and closed at the very end, and between
// them many short ones open and close, and end first. A cap applied in the order flows
// end keeps the short ones; the cap must keep the first flows by first
// frame.
func writeLateEnders(t *testing.T, long, short int) string {
	t.Helper()
	var buf bytes.Buffer
	c, err := craft.New(&buf, time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	server := craft.NewHost("02:00:00:00:00:01", "203.0.113.80")
	host := func(i int) craft.Host {
		return craft.NewHost(fmt.Sprintf("02:11:00:00:%02x:%02x", i>>8, i&0xff), fmt.Sprintf("192.168.%d.%d", 1+i/200, 1+i%200))
	}
	var open []*craft.Conn
	for i := range long {
		open = append(open, c.Dial(host(i), uint16(40000+i), server, 443))
	}
	for i := range short {
		k := c.Dial(host(long+i), uint16(50000+i), server, 443)
		k.Send(true, []byte("hello"))
		k.Close()
	}
	// The short flows end when their linger after the FINs has passed,
	// at the next packets; the long ones stay within the idle timeout.
	c.Advance(flowLinger + time.Second)
	for _, k := range open {
		k.Send(true, []byte("late"))
		k.Close()
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "late-enders.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// --max-records keeps exactly the first flows by first frame, numbered
// 1..N as in the uncapped list, whatever the worker count and GOMAXPROCS,
// and counts the rest.
func TestMaxRecordsKeepsFirstFlows(t *testing.T) {
	path := writeLateEnders(t, 30, 400)
	run := func(workers, maxRecords int) *audit.Report {
		t.Helper()
		cfg := Config{KeepFlows: true, Workers: workers, MaxRecords: maxRecords}
		rep, err := Run(context.Background(), cfg, []string{path})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	all := run(1, 1<<20).Flows
	if len(all) != 430 {
		t.Fatalf("%d flows, want 430", len(all))
	}
	for _, tc := range []struct{ maxRecords, gomaxprocs, workers int }{
		{10, 1, 0}, {10, 2, 0}, {10, 0, 1}, {10, 0, 2}, {10, 0, 8}, {29, 0, 3}, {31, 2, 0}, {429, 0, 2}, {430, 0, 2},
	} {
		t.Run(fmt.Sprintf("max%d-procs%d-workers%d", tc.maxRecords, tc.gomaxprocs, tc.workers), func(t *testing.T) {
			if tc.gomaxprocs > 0 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.gomaxprocs))
			}
			rep := run(tc.workers, tc.maxRecords)
			got, want := rep.Flows, all[:tc.maxRecords]
			if len(got) != len(want) {
				t.Fatalf("%d flow records, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("record %d: got flow %d (first frame %d, %s), want flow %d (first frame %d, %s)",
						i, got[i].ID, got[i].FirstFrame, got[i].Client, want[i].ID, want[i].FirstFrame, want[i].Client)
				}
			}
			dropped := uint64(len(all) - tc.maxRecords)
			if n := rep.Counters["flow_records_dropped"]; n != dropped {
				t.Errorf("flow_records_dropped = %d, want %d", n, dropped)
			}
			var warned uint64
			for _, w := range rep.Warnings {
				if w.Code == "flow-record-cap" {
					warned = w.Count
				}
			}
			if warned != dropped {
				t.Errorf("flow-record-cap warning counts %d, want %d", warned, dropped)
			}
		})
	}
}

// The flow keys compare addresses as their text, written without making
// the string: exactly AddrPort.String.
func TestAppendAddrText(t *testing.T) {
	for _, s := range []string{"", "10.0.0.1:80", "[::1]:53", "[fe80::1%eth0]:5353", "[::ffff:10.1.2.3]:443", "0.0.0.0:0"} {
		var p netip.AddrPort
		if s != "" {
			p = netip.MustParseAddrPort(s)
		}
		if got := string(appendAddrText([]byte("x"), p)); got != "x"+p.String() {
			t.Errorf("%q: got %q, want %q", s, got, "x"+p.String())
		}
	}
}

// A packed record unpacks to the record that was packed, whatever its
// addresses (IPv4, IPv6, a zone, invalid), times (before 1970, the last
// before the first, far apart) and counters.
func TestKeptPackRoundTrip(t *testing.T) {
	ap := func(s string) netip.AddrPort {
		if s == "" {
			return netip.AddrPort{}
		}
		return netip.MustParseAddrPort(s)
	}
	for i, r := range []keptFlow{
		{},
		{client: ap("10.0.0.1:40000"), server: ap("198.18.0.1:443"), device: "mac:02:00:00:00:00:01", protocol: "tls", name: "example.com",
			nameSrc: "sni", chanl: "TLS1.3", packets: [2]uint64{12, 20}, bytes: [2]uint64{2400, 18000}, payload: [2]uint64{1200, 16000},
			firstFrame: 7, local: 3, firstSec: 1_700_000_000, firstNsec: 999_999_999, lastSec: 1_700_000_100, lastNsec: 1, worker: 7, transport: 6, state: flow.Closed},
		{client: ap("[fe80::1%eth0]:5353"), server: ap("[ff02::fb]:5353"), transport: 17, firstSec: -5, lastSec: -10},
		{client: ap("[::ffff:10.1.2.3]:443"), server: netip.AddrPortFrom(netip.Addr{}, 9), firstSec: math.MinInt64, lastSec: math.MaxInt64,
			packets: [2]uint64{math.MaxUint64, 0}, gapBytes: math.MaxUint64, local: math.MaxUint64, firstFrame: math.MaxUint64},
		{client: ap("0.0.0.0:0"), server: ap("[::]:0"), firstSec: math.MaxInt64, lastSec: math.MinInt64, device: "pair:x", chanl: "pair:x"},
	} {
		k := newKeptFlows(4)
		s := k.pack(&r)
		var got keptFlow
		var ids [6]uint32
		var dev uint32
		n := k.strs.unpack(&s, &got, &ids, &dev)
		if got != r {
			t.Errorf("%d: unpacked %+v, want %+v", i, got, r)
		}
		for _, id := range ids[:n] {
			k.strs.other.unref(id)
		}
		k.strs.devs.unref(dev)
		if n := k.strs.held(); n != 0 {
			t.Errorf("%d: %d strings held after the record was released", i, n)
		}
	}
}

// The interned strings are those of the records in the heap: a record
// that is replaced lets go of its strings, and a string shared by many
// records is held once.
func TestKeptStringsFollowTheHeap(t *testing.T) {
	k := newKeptFlows(3)
	for i := 1000; i > 0; i-- { // every record comes before the ones kept
		r := keptFlow{firstFrame: uint64(i), device: "pair:a/b", name: fmt.Sprintf("host%d.example", i), chanl: "TLS1.3"}
		k.add(&r)
	}
	if got, want := k.strs.held(), 3+2; got != want {
		t.Errorf("%d strings held, want %d", got, want)
	}
	l := k.sorted()
	if len(k.heap) != 0 || k.strs.held() != 0 {
		t.Errorf("after sorted, the heap still holds %d records and %d strings: the list should own them", len(k.heap), k.strs.held())
	}
	for i := range l.len() {
		r := l.at(i)
		if r.firstFrame != uint64(i+1) || r.name != fmt.Sprintf("host%d.example", i+1) || r.device != "pair:a/b" {
			t.Errorf("record %d: %+v", i, *r)
		}
	}
	if k.dropped != 997 {
		t.Errorf("dropped %d, want 997", k.dropped)
	}
}

// held is the number of strings the tables hold.
func (ks *keptStrs) held() int { return len(ks.devs.ids) + len(ks.other.ids) }

// The flow records made at the end carry the devices' final IDs and the
// names DoH answers gave their rows, in this order: a pending pair's
// provisional ID becomes its device's key (renameDevices), a DoH rename
// matches the record under that key, and a device named at the end gets
// its final ID.
func TestKeptRecordsRenamed(t *testing.T) {
	ap := netip.MustParseAddrPort
	recs := []keptFlow{
		{firstFrame: 1, client: ap("10.0.0.2:4000"), server: ap("198.18.0.1:443"), transport: 6, device: "pair:a", name: "p.example", nameSrc: "ptr"},
		{firstFrame: 2, client: ap("10.0.0.2:4001"), server: ap("198.18.0.1:443"), transport: 6, device: "mac:02:00:00:00:00:01", name: "p.example", nameSrc: "ptr"},
		{firstFrame: 3, client: ap("10.0.0.3:4002"), server: ap("198.18.0.2:443"), transport: 6, device: "pair:b", name: "x.example", nameSrc: "sni"},
		{firstFrame: 4, client: ap("10.0.0.4:4003"), server: ap("198.18.0.1:443"), transport: 6, device: "pair:c", name: "p.example", nameSrc: "ptr"},
	}
	k := newKeptFlows(10)
	for i := range recs {
		k.add(&recs[i])
	}
	l := k.sorted()
	l.renameDevices(map[string]string{"pair:a": "mac:02:00:00:00:00:01", "pair:b": "ip:10.0.0.3", "name:x": "unused"})
	doh := dohRenames{{"mac:02:00:00:00:00:01", "198.18.0.1:443", "tcp", "p.example"}: "doh.example"}
	got := l.records(doh, map[string]string{"mac:02:00:00:00:00:01": "phone"})
	want := []struct{ device, name, src string }{
		{"phone", "doh.example", "dns"},
		{"phone", "doh.example", "dns"},
		{"ip:10.0.0.3", "x.example", "sni"},
		{"pair:c", "p.example", "ptr"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		if f := got[i]; f.ID != uint64(i+1) || f.Device != w.device || f.Name != w.name || f.NameSource != w.src {
			t.Errorf("record %d: id %d device %q name %q (%s), want %d %q %q (%s)", i, f.ID, f.Device, f.Name, f.NameSource, i+1, w.device, w.name, w.src)
		}
	}
	if l.len() != 0 {
		t.Errorf("the list still holds %d records", l.len())
	}
}
