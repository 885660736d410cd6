package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phonehome/phonehome/fixtures/craft"
	"github.com/phonehome/phonehome/fixtures/scenario"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/leak"
)

// The cases of issue 14 (sections 2 and 3), as one capture.
const (
	trackIMEI  = "490154203237518" // a valid IMEI (Luhn), generic detector
	knownIMEI  = scenario.DemoIMEI // in the devices file below
	knownSer   = "2218"            // a known "serial" that equals a Content-Length
	basicCreds = "user:s3cr3t"
)

const maskingDevicesYAML = `devices:
  - id: phone
    mac: "f8:a4:5f:0d:e5:01"
    identifiers:
      imei: "` + knownIMEI + `"
      serial: "` + knownSer + `"
`

func maskingCapture(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	c, err := craft.New(&b, scenario.Start)
	if err != nil {
		t.Fatal(err)
	}
	phone := scenario.Phone
	gw := func(ip string) craft.Host { h := craft.NewHost("c0:25:e9:11:22:01", ip); return h }
	// Section 2: three TLS flows to one address under two names.
	for i, sni := range []string{"tracking.intl.miui.com", "sa.api.intl.miui.com", "sa.api.intl.miui.com"} {
		k := c.Dial(phone, uint16(50200+i), gw("161.117.97.20"), 443)
		k.Send(true, craft.ClientHello(sni, craft.TLS12, "http/1.1"))
		k.Send(false, craft.ServerHello(craft.TLS12, 0xc02f))
		k.Close()
		c.Advance(10 * time.Millisecond)
	}
	// HTTPDNS: an address as Host is no server name.
	c.Exchange(phone, 50210, gw("203.107.1.33"), 80,
		craft.HTTPRequest("GET", "203.107.1.33", "/100000/d?host=www.example.com", nil, nil),
		craft.HTTPResponse(200, "text/plain", []byte("93.184.216.34")))
	// Section 3: a generic IMEI in the query and in the Host name.
	c.Exchange(phone, 50211, gw("198.51.100.7"), 80,
		craft.HTTPRequest("GET", trackIMEI+".host.tracker-example.com", "/t?imei="+trackIMEI+"&email=a@example.org",
			map[string]string{"User-Agent": "App/1.0 (imei " + trackIMEI + ")"}, nil),
		craft.HTTPResponse(204, "text/plain", nil))
	// A known IMEI base64-encoded in a query; Basic credentials; a known
	// serial equal to the request's Content-Length.
	body := []byte("serial=" + knownSer + "&")
	body = append(body, bytes.Repeat([]byte("x"), 2218-len(body))...)
	c.Exchange(phone, 50212, gw("198.51.100.8"), 80,
		craft.HTTPRequest("POST", "api.example.net", "/v1?d="+base64.StdEncoding.EncodeToString([]byte(knownIMEI)),
			map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(basicCreds)),
				"Content-Type": "application/x-www-form-urlencoded"}, body),
		craft.HTTPResponse(200, "text/plain", nil))
	// A gzip-coded body (section 5: the chain starts with the coding).
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"imei":"` + knownIMEI + `"}`))
	zw.Close()
	c.Exchange(phone, 50214, gw("198.51.100.8"), 80,
		craft.HTTPRequest("POST", "api.example.net", "/v2", map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/json"}, gz.Bytes()),
		craft.HTTPResponse(200, "text/plain", nil))
	// A protocol no decoder knows: the IMEI in its first bytes (unknown
	// event head_text and head_hex).
	k0 := c.Dial(phone, 50215, gw("198.51.100.10"), 7777)
	k0.Send(true, []byte("imei="+trackIMEI+";model=x;fw=1.2.3;uptime=77\n"))
	k0.Close()
	// MQTT: the password "pass" inside the client id must not be masked.
	k := c.Dial(phone, 50213, gw("198.51.100.9"), 1883)
	k.Send(true, craft.MQTTConnect("myvoiceismypassport", "device", "pass"))
	k.Send(false, craft.MQTTConnAck())
	k.Close()
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "masking.pcap")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func maskingConfig(t *testing.T) Config {
	t.Helper()
	lf, err := lab.Parse("d.yaml", []byte(maskingDevicesYAML))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := leak.NewScanner(lf.Devices, leak.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := labConfig(t)
	cfg.Known, cfg.Scanner = lf.Devices, sc
	cfg.KeepFlows, cfg.KeepEvents = true, true
	return cfg
}

func TestIssue14Destinations(t *testing.T) {
	rep, err := Run(context.Background(), maskingConfig(t), []string{maskingCapture(t)})
	if err != nil {
		t.Fatal(err)
	}
	flows := map[string]int{}
	for _, d := range rep.Devices {
		for _, ds := range d.Destinations {
			if ds.IP == "161.117.97.20" {
				flows[ds.Name] += ds.Flows
			}
			if ds.IP == "203.107.1.33" && ds.Name != "" {
				t.Errorf("HTTPDNS address named %q (name source %s)", ds.Name, ds.NameSource)
			}
		}
	}
	if want := map[string]int{"tracking.intl.miui.com": 1, "sa.api.intl.miui.com": 2}; !mapsEqual(flows, want) {
		t.Errorf("destinations at 161.117.97.20:443: %v, want %v", flows, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestIssue14Masking checks the masking cases of issue 14 in every format,
// from memory and from the spool.
func TestIssue14Masking(t *testing.T) {
	in := maskingCapture(t)
	for _, spool := range []bool{false, true} {
		cfg := maskingConfig(t)
		cfg.SpoolRecords, cfg.SpoolDir = spool, t.TempDir()
		rep, err := Run(context.Background(), cfg, []string{in})
		if err != nil {
			t.Fatal(err)
		}
		outs := writeAll(t, rep)
		if rep.Records != nil {
			rep.Records.Close()
		}
		forbidden := []string{
			trackIMEI, knownIMEI, base64.StdEncoding.EncodeToString([]byte(knownIMEI)),
			base64.StdEncoding.EncodeToString([]byte(basicCreds)), basicCreds, "a@example.org",
			hex.EncodeToString([]byte(trackIMEI)),
		}
		for format, out := range outs {
			for _, f := range forbidden {
				if strings.Contains(out, f) {
					t.Errorf("spool=%v %s: %q in clear", spool, format, f)
				}
			}
			if (format == "json" || format == "ndjson") && !strings.Contains(out, "myvoiceismypassport") {
				t.Errorf("spool=%v %s: the MQTT client id was altered", spool, format)
			}
		}
		js := outs["json"]
		var doc map[string]any
		if err := json.Unmarshal([]byte(js), &doc); err != nil {
			t.Fatalf("spool=%v json: %v", spool, err)
		}
		if !strings.Contains(js, `"content_length": 2218`) {
			t.Errorf("spool=%v json: content_length 2218 altered", spool)
		}
		if !strings.Contains(js, `"Basic ********"`) {
			t.Errorf("spool=%v json: Authorization not masked to its scheme", spool)
		}
		if !strings.Contains(js, "4901*******7518.host.tracker-example.com") {
			t.Errorf("spool=%v json: Host-derived name not masked as its IMEI", spool)
		}
		for _, line := range strings.Split(strings.TrimSpace(outs["ndjson"]), "\n") {
			if !json.Valid([]byte(line)) {
				t.Errorf("spool=%v ndjson: invalid line %s", spool, line)
			}
		}
	}
}

// TestMaskingOffKeepsValues: with ShowEvidence nothing is masked.
func TestMaskingOffKeepsValues(t *testing.T) {
	cfg := maskingConfig(t)
	cfg.ShowEvidence = true
	rep, err := Run(context.Background(), cfg, []string{maskingCapture(t)})
	if err != nil {
		t.Fatal(err)
	}
	js := writeAll(t, rep)["json"]
	for _, v := range []string{trackIMEI + ".host.tracker-example.com", "a@example.org", base64.StdEncoding.EncodeToString([]byte(knownIMEI)), hex.EncodeToString([]byte(trackIMEI))} {
		if !strings.Contains(js, v) {
			t.Errorf("--show-evidence: %q missing", v)
		}
	}
	var enc []string
	for _, d := range rep.Devices {
		for _, l := range d.Leaks {
			enc = append(enc, l.Identifier+":"+l.Encoding)
		}
	}
	if !slices.Contains(enc, "imei:gzip > plain") {
		t.Errorf("leak encodings %v lack the gzip-coded IMEI", enc)
	}
	if !slices.Contains(enc, "imei:base64 > plain") {
		t.Errorf("leak encodings %v lack the base64 IMEI", enc)
	}
}

// TestSeveralInputsPointAtOnePacket: with two inputs, every leak, finding,
// event, flow and destination of the second names it and carries the
// frame number it has in that file alone.
func TestSeveralInputsPointAtOnePacket(t *testing.T) {
	second := maskingCapture(t)
	first := filepath.Join(t.TempDir(), "demo.pcap")
	if err := os.WriteFile(first, scenario.Bytes(scenario.All()[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, spool := range []bool{false, true} {
		cfg := maskingConfig(t)
		cfg.SpoolRecords, cfg.SpoolDir = spool, t.TempDir()
		alone, err := Run(context.Background(), cfg, []string{second})
		if err != nil {
			t.Fatal(err)
		}
		both, err := Run(context.Background(), cfg, []string{first, second})
		if err != nil {
			t.Fatal(err)
		}
		want, got := evidence(t, alone, ""), evidence(t, both, second)
		if len(want) == 0 || !slices.Equal(want, got) {
			t.Errorf("spool=%v: evidence of the second input differs from the file alone:\n got %v\nwant %v", spool, got, want)
		}
		if n := len(evidence(t, both, first)); n == 0 {
			t.Errorf("spool=%v: nothing points at the first input", spool)
		}
	}
}

// evidence lists "kind what frame" for everything of the given input.
func evidence(t *testing.T, rep *audit.Report, input string) []string {
	var out []string
	for _, d := range rep.Devices {
		for _, l := range d.Leaks {
			if l.Input == input {
				out = append(out, fmt.Sprintf("leak %s %s %d", l.Identifier, l.Location, l.Frame))
			}
		}
		for _, f := range d.Findings {
			if f.Input == input {
				out = append(out, fmt.Sprintf("finding %s %d", f.Kind, f.Frame))
			}
		}
		for _, ds := range d.Destinations {
			if ds.Input == input {
				out = append(out, fmt.Sprintf("destination %s:%d %d", ds.IP, ds.Port, ds.FirstFrame))
			}
		}
	}
	add := func(js []byte) error {
		var x struct {
			Type       string
			Frame      uint64
			FirstFrame uint64 `json:"first_frame"`
			Input      string
			Server     string
			Request    *struct{ Frame uint64 }
		}
		if err := json.Unmarshal(js, &x); err != nil {
			return err
		}
		if x.Input != input {
			return nil
		}
		if x.Type == "" {
			out = append(out, fmt.Sprintf("flow %s %d", x.Server, x.FirstFrame))
		} else if x.Request != nil {
			out = append(out, fmt.Sprintf("event %s %d request %d", x.Type, x.Frame, x.Request.Frame))
		} else {
			out = append(out, fmt.Sprintf("event %s %d", x.Type, x.Frame))
		}
		return nil
	}
	if rep.Records != nil {
		if err := rep.Records.Each(nil, add, add); err != nil {
			t.Fatal(err)
		}
		rep.Records.Close()
	}
	for _, f := range rep.Flows {
		js, _ := json.Marshal(f)
		add(js)
	}
	for _, e := range rep.Events {
		js, _ := json.Marshal(e)
		add(js)
	}
	slices.Sort(out)
	return out
}
