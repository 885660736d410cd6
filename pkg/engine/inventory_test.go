package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/enrich"
	"github.com/phonehome/phonehome/pkg/flow"
	"github.com/phonehome/phonehome/pkg/leak"
)

// testFlow is a finished flow from client c to server s.
func testFlow(c, s string, proto uint8, frame uint64, cMAC, sMAC byte) *flow.Flow {
	t0 := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	f := &flow.Flow{Client: netip.MustParseAddrPort(c), Server: netip.MustParseAddrPort(s),
		Packets: [2]uint64{3, 2}, Bytes: [2]uint64{300 + frame, 200}, FirstFrame: frame,
		First: t0.Add(time.Duration(frame) * time.Second), Last: t0.Add(time.Duration(frame+5) * time.Second)}
	f.Key.Proto = proto
	if cMAC != 0 {
		f.HasMAC, f.ClientMAC, f.ServerMAC = true, [6]byte{2, 0, 0, 0, 0, cMAC}, [6]byte{2, 0, 0, 0, 1, sMAC}
	}
	return f
}

type filed struct {
	f                                    *flow.Flow
	name, nameSrc, channel, protocol, ua string
	leak                                 bool
}

func testFlows() []filed {
	return []filed{
		{f: testFlow("198.51.100.7:40001", "203.0.113.5:443", flow.ProtoTCP, 10, 1, 9), name: "a.example", nameSrc: "dns", channel: "TLS1.2", protocol: "tls"},
		{f: testFlow("198.51.100.7:40002", "203.0.113.5:443", flow.ProtoTCP, 4, 1, 9), name: "a.example", nameSrc: "sni", channel: "TLS1.3", protocol: "tls"},
		{f: testFlow("198.51.100.7:40003", "203.0.113.5:80", flow.ProtoTCP, 20, 1, 9), name: "a.example", nameSrc: "http-host", channel: "HTTP", protocol: "http", ua: "ua/1", leak: true},
		{f: testFlow("198.51.100.7:40003", "203.0.113.5:80", flow.ProtoTCP, 30, 1, 9), name: "", channel: "HTTP", protocol: "http", ua: "ua/0", leak: true},
		{f: testFlow("198.51.100.7:5353", "203.0.113.5:53", flow.ProtoUDP, 2, 1, 9), name: "", channel: "DNS", protocol: "dns"},
	}
}

func (x filed) session() *session {
	s := &session{}
	if x.ua != "" {
		s.uas = []string{x.ua}
	}
	if x.leak {
		s.leaks = []audit.Leak{{Identifier: "imei", Value: "867891045582412", Encoding: "plain", Location: "url.query:imei", Frame: x.f.FirstFrame, Count: 1}}
		s.findings = []audit.Finding{{Severity: audit.High, Kind: "k", Message: "m", Frame: x.f.FirstFrame}}
	}
	return s
}

// rowsOf is a device's rows as the enrichment stage gets them, sorted.
func rowsOf(d *devAgg) enrich.Device {
	d.dests.finish(d.tab, maxDests) // as resolve does
	in := d.aggregate()
	slices.SortFunc(in.Dests, func(a, b audit.Destination) int {
		return cmpStrings(a.IP+fmt.Sprint(a.Port)+a.Transport+a.Name, b.IP+fmt.Sprint(b.Port)+b.Transport+b.Name)
	})
	for i := range in.Dests {
		slices.Sort(in.Dests[i].Protocols)
	}
	return in
}

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestPendingPairSidesAsDirect: either side of a pending pair, made at the
// end, has the rows the device would have had with its flows filed
// directly under it.
func TestPendingPairSidesAsDirect(t *testing.T) {
	saved := maxDests
	t.Cleanup(func() { maxDests = saved })
	for _, tc := range []struct {
		clientSide bool
		maxDests   int // 2: the pair keeps its sides' rows, capped
	}{{true, saved}, {false, saved}, {true, 2}, {false, 2}} {
		clientSide := tc.clientSide
		maxDests = tc.maxDests
		t.Run(fmt.Sprint("client side ", clientSide, ", cap ", maxDests), func(t *testing.T) {
			pairs, direct := newInventory(nil, nil), newInventory(nil, nil)
			var pp *pendingPair
			var d *devAgg
			for _, x := range testFlows() {
				var dd *devAgg
				dd, _, pp = pairs.deviceOf(x.f)
				if pp == nil || dd != nil {
					t.Fatal("a flow between public addresses is not pending")
				}
				pairs.addFlow(nil, false, pp, x.f, x.session(), x.name, x.nameSrc, x.channel, x.protocol)
				d = direct.devs[pairSideKey(pp, clientSide)]
				if d == nil {
					mac, addr := x.f.ServerMAC, x.f.Server.Addr()
					if clientSide {
						mac, addr = x.f.ClientMAC, x.f.Client.Addr()
					}
					d = newDevAgg(direct.tab, hostKey(true, mac, addr), mac, true, x.f)
					direct.devs[d.d.ID] = d
				}
				if clientSide {
					d.touch(x.f.Client.Addr(), x.f)
				} else {
					d.touch(x.f.Server.Addr(), x.f)
				}
				direct.addFlow(d, clientSide, nil, x.f, x.session(), x.name, x.nameSrc, x.channel, x.protocol)
			}
			set := pp.side(pairs.tab, clientSide)
			set.finish(pairs.tab, maxDests)
			ms := pairs.madeSide(pp, clientSide, set)
			got, want := rowsOf(pairs.pairSide(pp, &ms, clientSide)), rowsOf(d)
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.MarshalIndent(got, "", " ")
				wj, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("pair side:\n%s\ndirect:\n%s", gj, wj)
			}
			if len(want.Dests) < min(3, maxDests) || len(want.Leaks) == 0 || len(want.Findings) == 0 || len(want.UserAgents) != 2 {
				t.Errorf("the flows make %d rows, %d leaks, %d findings, %d user agents: the test shows little",
					len(want.Dests), len(want.Leaks), len(want.Findings), len(want.UserAgents))
			}
		})
	}
}

// TestDestSetCapIsOrderFree: past the cap a set keeps the rows of the
// smallest keys, whatever the order its flows come in and however they are
// split over sets merged later.
func TestDestSetCapIsOrderFree(t *testing.T) {
	const cap = 5
	tab := newStrtab()
	var flows []struct {
		k  destKey
		ff flowFacts
	}
	for i := range 40 {
		ip := netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte((i * 7) % 23)}), uint16(443+i%3))
		ff := flowFacts{tr: tab.id("tcp"), channel: "TLS1.3", chID: tab.id("TLS1.3"), frame: uint64(i + 1),
			pkts: [2]uint64{1, 2}, bytes: [2]uint64{uint64(i), 5}, first: stampOf(time.Unix(int64(1000+i), 0))}
		ff.protoBit, ff.protocol = tab.protoBit("tls"), "tls"
		flows = append(flows, struct {
			k  destKey
			ff flowFacts
		}{destKeyOf(ip, ff.tr, 0), ff})
	}
	build := func(order []int, parts int) []audit.Destination {
		sets := make([]destSet, parts)
		for n, i := range order {
			sets[n%parts].addFlow(tab, flows[i].k, &flows[i].ff, 0, cap)
		}
		var all destSet
		for i := range sets {
			all.merge(tab, &sets[i], tab, cap)
		}
		all.finish(tab, cap)
		rows := all.rows(tab)
		slices.SortFunc(rows, func(a, b audit.Destination) int { return cmpStrings(a.IP+fmt.Sprint(a.Port), b.IP+fmt.Sprint(b.Port)) })
		return rows
	}
	forward := make([]int, len(flows))
	for i := range forward {
		forward[i] = i
	}
	backward := slices.Clone(forward)
	slices.Reverse(backward)
	want := build(forward, 1)
	if len(want) != cap+1 || want[0].Name != "(other destinations)" {
		t.Fatalf("%d rows (first %q), want %d and the other-destinations row", len(want), want[0].Name, cap+1)
	}
	for _, tc := range []struct {
		order []int
		parts int
	}{{backward, 1}, {forward, 2}, {backward, 3}, {forward, 8}} {
		if got := build(tc.order, tc.parts); !reflect.DeepEqual(got, want) {
			t.Errorf("order %v…, %d sets: %+v\nwant %+v", tc.order[:2], tc.parts, got, want)
		}
	}
}

// TestInventoryCapsDoNotDependOnWorkers: with the inventory caps (devices,
// destination rows per device, pending pairs) low enough to cut, the
// report is the same whatever the number of goroutines.
func TestInventoryCapsDoNotDependOnWorkers(t *testing.T) {
	saved := [3]int{maxPending, maxDevices, maxDests}
	t.Cleanup(func() { maxPending, maxDevices, maxDests = saved[0], saved[1], saved[2] })
	maxPending, maxDevices, maxDests = 3, 4, 2
	inputs := append(scenarioInputs(t, 2000), writeCapsCapture(t))
	base := labConfig(t)
	overflow := false
	for _, in := range inputs {
		var first []byte
		for _, n := range []int{1, 2, 3, 8} {
			cfg := base
			cfg.Workers, cfg.KeepFlows, cfg.KeepEvents = n, true, true
			rep, err := Run(context.Background(), cfg, []string{in})
			if err != nil && !errors.Is(err, ErrDamaged) {
				t.Fatalf("%s: %v", in, err)
			}
			for _, d := range rep.Devices {
				overflow = overflow || d.ID == otherDevices
			}
			b, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = b
			} else if !bytes.Equal(first, b) {
				t.Errorf("%s: %d workers give a different report than 1", filepath.Base(in), n)
				if dir := os.Getenv("CAPDIFF"); dir != "" {
					os.WriteFile(filepath.Join(dir, "w1.json"), first, 0o644)
					os.WriteFile(filepath.Join(dir, fmt.Sprintf("w%d.json", n)), b, 0o644)
				}
			}
		}
	}
	if !overflow {
		t.Error("no input had more devices than the cap: the test shows nothing")
	}
}

// writeCapsCapture writes a capture of 12 lab devices calling 6 servers
// each (HTTP, some requests with an IMEI) and 10 hosts with public
// addresses calling 3 servers each (pending pairs), the connections
// closed out of order.
func writeCapsCapture(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "caps.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := craft.New(f, scenario.Start)
	if err != nil {
		t.Fatal(err)
	}
	gw := c.Gateway.String()
	var open []*craft.Conn
	for i := range 22 {
		client := craft.NewHost(fmt.Sprintf("f8:a4:5f:00:01:%02x", i), fmt.Sprintf("192.168.7.%d", 10+i))
		servers := 6
		if i >= 12 {
			client = craft.NewHost(fmt.Sprintf("3c:22:fb:00:02:%02x", i), fmt.Sprintf("198.51.100.%d", i))
			servers = 3
		}
		for j := range servers {
			srv := craft.NewHost(gw, fmt.Sprintf("203.0.%d.%d", 113+j%2, 10+(i*7+j*3)%40))
			k := c.Dial(client, uint16(30000+i*10+j), srv, 80)
			q := fmt.Sprintf("/p?n=%d", j)
			if (i+j)%4 == 0 {
				q += "&imei=" + scenario.DemoIMEI
			}
			k.Send(true, craft.HTTPRequest("GET", fmt.Sprintf("s%d.example.com", j), q, nil, nil))
			k.Send(false, craft.HTTPResponse(200, "text/plain", []byte("ok")))
			open = append(open, k)
			c.Advance(time.Millisecond)
		}
	}
	for i := range open {
		open[(i*37)%len(open)].Close()
		c.Advance(time.Millisecond)
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAggregatesWithoutPointers: the per-flow aggregates hold no pointers
// (the collector does not mark them) and stay small.
func TestAggregatesWithoutPointers(t *testing.T) {
	for _, tc := range []struct {
		v    any
		size uintptr
	}{{destRow{}, 112}, {destKey{}, 28}, {destEnt{}, 144}, {pairKey{}, 48}, {pairRowKey{}, 12}, {pairRow{}, 136}, {stamp{}, 12}, {pairFinding{}, 72}} {
		typ := reflect.TypeOf(tc.v)
		if p := pointerIn(typ); p != "" {
			t.Errorf("%s holds a pointer (%s)", typ, p)
		}
		if s := reflect.ValueOf(tc.v).Type().Size(); s > tc.size {
			t.Errorf("%s is %d bytes, want at most %d", typ, s, tc.size)
		}
	}
	if s := unsafe.Sizeof(pendingPair{}); s > 128 {
		t.Errorf("pendingPair is %d bytes, want at most 128", s)
	}
}

func pointerIn(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return t.String()
	case reflect.Array:
		return pointerIn(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if p := pointerIn(t.Field(i).Type); p != "" {
				return t.Field(i).Name + " " + p
			}
		}
	}
	return ""
}

// BenchmarkPendingPairs files flows between public addresses (every one a
// pending pair until the end) into an inventory, 4,096 pairs per
// inventory: allocations and bytes per flow filed.
func BenchmarkPendingPairs(b *testing.B) {
	const hosts = 4096
	flows := make([]*flow.Flow, 0, hosts)
	for i := range hosts {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), uint16(40000+i%1000))
		s := netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, byte(i % 7), byte(i % 251)}), 443)
		f := testFlow("1.1.1.1:1", "2.2.2.2:2", flow.ProtoTCP, uint64(i+1), byte(i), 1)
		f.Client, f.Server = c, s
		flows = append(flows, f)
	}
	s := &session{}
	b.ReportAllocs()
	b.ResetTimer()
	var inv *inventory
	for i := range b.N {
		if i%hosts == 0 {
			inv = newInventory(nil, nil)
		}
		f := flows[i%hosts]
		d, c, pp := inv.deviceOf(f)
		inv.addFlow(d, c, pp, f, s, "api.example.com", "sni", "TLS1.3", "tls")
	}
}

// TestDeviceCapWarnsForPairs: devices past the cap that come from pending
// pairs (decided at the end) are counted in the device-cap warning like
// those filed during the run; the warning was written before the pairs
// were decided, so such a cut went unreported.
func TestDeviceCapWarnsForPairs(t *testing.T) {
	saved := maxDevices
	t.Cleanup(func() { maxDevices = saved })
	maxDevices = 12 // the capture's lab devices: only its pairs go past it
	rep, err := Run(context.Background(), labConfig(t), []string{writeCapsCapture(t)})
	if err != nil {
		t.Fatal(err)
	}
	var folded uint64
	for _, d := range rep.Devices {
		if d.ID == otherDevices {
			for _, dst := range d.Destinations {
				folded += uint64(dst.Flows)
			}
		}
	}
	if folded == 0 {
		t.Fatal("no pair was folded into other-devices: the test shows nothing")
	}
	for _, w := range rep.Warnings {
		if w.Code == "device-cap" {
			if w.Count != folded {
				t.Errorf("device-cap counts %d flows, other-devices has %d", w.Count, folded)
			}
			return
		}
	}
	t.Errorf("other-devices holds %d flows and there is no device-cap warning", folded)
}

// TestResolveSameWhateverGoroutines: the pending pairs' sides made by 2
// or 3 goroutines, in blocks of 1 to 1,024 pairs (and their ids sorted in
// halves then merged), give the same report as made by one, also when the
// device cap folds pairs into the other-devices aggregate (the filing
// order decides which).
func TestResolveSameWhateverGoroutines(t *testing.T) {
	saved := [2]int{maxDevices, resolveBlock}
	savedWorkers := resolveWorkers
	t.Cleanup(func() { maxDevices, resolveBlock, resolveWorkers = saved[0], saved[1], savedWorkers })
	caps := writeCapsCapture(t) // 12 lab devices, then 10 hosts known only by pending pairs
	inputs := append(scenarioInputs(t, 2000), caps)
	base := labConfig(t)
	for _, devCap := range []int{saved[0], 4, 14, 17} {
		maxDevices = devCap
		if devCap != saved[0] {
			inputs = []string{caps} // the cap falls among the pairs' devices
		}
		for _, in := range inputs {
			var first []byte
			for _, c := range []struct{ workers, block int }{{1, 1024}, {2, 1}, {3, 2}, {2, 1024}, {3, 7}} {
				resolveWorkers, resolveBlock = func() int { return c.workers }, c.block
				cfg := base
				cfg.Workers, cfg.KeepFlows, cfg.KeepEvents = 2, true, true
				rep, err := Run(context.Background(), cfg, []string{in})
				if err != nil && !errors.Is(err, ErrDamaged) {
					t.Fatalf("%s: %v", in, err)
				}
				b, err := json.Marshal(rep)
				if err != nil {
					t.Fatal(err)
				}
				if first == nil {
					first = b
				} else if !bytes.Equal(first, b) {
					t.Errorf("%s (device cap %d): pairs resolved by %d goroutines in blocks of %d give a different report than by one", filepath.Base(in), devCap, c.workers, c.block)
				}
			}
		}
	}
}

// TestSortSides: the pairs sorted in two halves and merged are in the
// order one sort gives, ids equal or not.
func TestSortSides(t *testing.T) {
	for _, n := range []int{0, 1, 8191, 8192, 8193, 20000} {
		sides := make([]side, n)
		for i := range sides {
			sides[i].key.c[15] = byte(i)
			sides[i].key.s[14], sides[i].key.s[15] = byte(i>>8), byte(i>>16)
			sides[i].id = fmt.Sprintf("pair:%d", (i*7919)%(n/3+1)) // repeated ids: the keys decide
		}
		want := slices.Clone(sides)
		slices.SortFunc(want, cmpSide)
		for _, w := range []int{1, 2, 3} {
			got := slices.Clone(sides)
			sortSides(got, w)
			if !slices.EqualFunc(got, want, func(a, b side) bool { return a.key == b.key && a.id == b.id }) {
				t.Errorf("%d pairs, %d goroutines: not the order of one sort", n, w)
			}
		}
	}
}

// TestFilingWritesNoSessionArray: filing a flow whose leaks make a
// behaviour finding (directly and as a pending pair) writes nothing into
// the session's arrays past their lengths, which release then leaves as
// they are (reuse clears only the lengths).
func TestFilingWritesNoSessionArray(t *testing.T) {
	for _, x := range []filed{
		{f: testFlow("192.168.1.7:40003", "203.0.113.5:80", flow.ProtoTCP, 20, 1, 9), name: "a.example", nameSrc: "http-host", channel: "HTTP", protocol: "http"},
		{f: testFlow("198.51.100.7:40003", "203.0.113.5:80", flow.ProtoTCP, 20, 1, 9), name: "a.example", nameSrc: "http-host", channel: "HTTP", protocol: "http"},
	} {
		s := &session{
			leaks: append(make([]audit.Leak, 0, 4),
				audit.Leak{Identifier: "imei", Value: "867891045582412", Encoding: "plain", Location: "body:imei", Frame: 20, Count: 1},
				audit.Leak{Identifier: leak.AppUsage, Value: "app_open: com.example.app", Encoding: "plain", Location: "body:events", Frame: 20, Count: 1}),
			findings: append(make([]audit.Finding, 0, 4), audit.Finding{Severity: audit.High, Kind: "k", Message: "m", Frame: 20}),
		}
		inv := newInventory(nil, nil)
		d, deviceIsClient, pp := inv.deviceOf(x.f)
		inv.addFlow(d, deviceIsClient, pp, x.f, s, x.name, x.nameSrc, x.channel, x.protocol)
		if d != nil && len(d.findings) != 2 || pp != nil && len(pp.x.findings)+len(pp.x.full) != 2 {
			t.Errorf("%v: not filed with the behaviour finding", x.f.Client)
		}
		for i, fi := range s.findings[len(s.findings):cap(s.findings)] {
			if fi != (audit.Finding{}) {
				t.Errorf("%v: findings[%d] past the length written: %+v", x.f.Client, len(s.findings)+i, fi)
			}
		}
		if got := reuse(s.findings, 4); len(got) != 0 || cap(got) != 4 || got[:4][0] != (audit.Finding{}) {
			t.Errorf("reuse: %d/%d %+v", len(got), cap(got), got[:1])
		}
	}
}
