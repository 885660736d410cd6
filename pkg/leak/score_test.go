package leak

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/lab"
)

// planted is one generated payload and the identifiers truly in it.
type planted struct {
	name string
	in   Input
	want []string // "known|type|value" or "generic|type|value"
}

func genLab(r *rand.Rand, n int) []lab.Device {
	var devs []lab.Device
	for i := 0; i < n; i++ {
		imsi := "26202" + randDigits(r, 10)
		iccid := "894902" + randDigits(r, 13)
		iccid += string(luhnDigit(iccid))
		mac := fmt.Sprintf("3c:a6:2f:%02x:%02x:%02x", r.IntN(256), r.IntN(256), r.IntN(256))
		devs = append(devs, lab.Device{ID: fmt.Sprintf("dev%d", i), MAC: mac, Identifiers: []lab.Identifier{
			{Type: "imei", Value: genIMEI(r)},
			{Type: "imsi", Value: imsi},
			{Type: "iccid", Value: iccid},
			{Type: "phone", Value: fmt.Sprintf("+49 151 %08d", r.IntN(1e8))},
			{Type: "android_id", Value: randHex(r, 16)},
			{Type: "advertising_id", Value: genUUID(r)},
			{Type: "serial", Value: strings.ToUpper(randHex(r, 4)) + randDigits(r, 6)},
			{Type: "email", Value: fmt.Sprintf("lab.user%d@example.com", r.IntN(1e6))},
			{Type: "ssid", Value: fmt.Sprintf("Lab-Net-%d", r.IntN(1000))},
			{Type: "bssid", Value: fmt.Sprintf("b0:be:76:%02x:%02x:%02x", r.IntN(256), r.IntN(256), r.IntN(256))},
			{Type: "gps", Value: "x", Lat: 40 + r.Float64()*15, Lon: -5 + r.Float64()*25},
			{Type: "cloud_uid", Value: fmt.Sprintf("ACME-%04d-%s", r.IntN(1e4), strings.ToUpper(randHex(r, 4)))},
		}})
		g := &devs[i].Identifiers[10]
		g.Value = fmt.Sprintf("%.6f,%.6f", g.Lat, g.Lon)
	}
	return devs
}

// encoders turn a value into an encoded field value and the expected chain.
var encoders = []struct {
	name string
	fn   func(r *rand.Rand, v string) string
}{
	{"plain", func(r *rand.Rand, v string) string { return v }},
	{"upper", func(r *rand.Rand, v string) string { return strings.ToUpper(v) }},
	{"url", func(r *rand.Rand, v string) string { return url.QueryEscape(v) }},
	{"base64", func(r *rand.Rand, v string) string {
		return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(";", r.IntN(3)) + v + ";" + randHex(r, 5)))
	}},
	{"base64url", func(r *rand.Rand, v string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"v":"` + v + `"}`))
	}},
	{"hex", func(r *rand.Rand, v string) string { return hex.EncodeToString([]byte(v)) }},
	{"md5", func(r *rand.Rand, v string) string { return sumHex("md5", v) }},
	{"sha1", func(r *rand.Rand, v string) string { return sumHex("sha1", v) }},
	{"sha256", func(r *rand.Rand, v string) string { return sumHex("sha256", v) }},
	{"gzip-base64", func(r *rand.Rand, v string) string {
		return url.QueryEscape(base64.StdEncoding.EncodeToString(gz([]byte(`{"props":{"id":"` + v + `","n":` + fmt.Sprint(r.IntN(99)) + `}}`))))
	}},
}

// placers put an encoded field into a location.
var placers = []struct {
	name string
	fn   func(key, val string) Input
}{
	{"query", func(k, v string) Input {
		return Input{Location: "url.query", Data: []byte("app=shop&" + k + "=" + v + "&ts=1700000000")}
	}},
	{"json", func(k, v string) Input {
		return Input{Location: "body", Data: []byte(`{"event":"open","device":{"` + k + `":"` + v + `","os":"android"}}`)}
	}},
	{"form", func(k, v string) Input { return Input{Location: "body", Data: []byte("a=1&" + k + "=" + v)} }},
	{"cookie", func(k, v string) Input {
		return Input{Location: "header:Cookie", Data: []byte("sid=abc; " + k + "=" + v)}
	}},
	{"mqtt", func(k, v string) Input {
		return Input{Location: "mqtt.payload", Data: []byte(`{"` + k + `":"` + v + `"}`)}
	}},
}

func genPlanted(r *rand.Rand, devs []lab.Device) []planted {
	var out []planted
	keys := []string{"d", "x1", "payload", "v"}
	for _, d := range devs {
		for _, id := range d.Identifiers {
			for _, e := range encoders {
				if id.Type == "gps" && e.name != "plain" && e.name != "base64url" && e.name != "gzip-base64" {
					continue
				}
				p := placers[r.IntN(len(placers))]
				v := id.Value
				if id.Type == "gps" {
					v = fmt.Sprintf("%.5f,%.5f", id.Lat, id.Lon)
				}
				ev := e.fn(r, v)
				if p.name == "cookie" || p.name == "form" || p.name == "query" {
					if e.name == "base64" || e.name == "base64url" {
						ev = url.QueryEscape(ev)
					}
				}
				out = append(out, planted{
					name: fmt.Sprintf("%s/%s/%s/%s", d.ID, id.Type, e.name, p.name),
					in:   p.fn(keys[r.IntN(len(keys))], ev),
					want: []string{"known|" + id.Type + "|" + id.Value},
				})
			}
		}
		// The device MAC, from the device entry.
		out = append(out, planted{name: d.ID + "/mac", in: Input{Location: "body", Data: []byte(`{"wlan":"` + strings.ToUpper(d.MAC) + `"}`)}, want: []string{"known|mac|" + d.MAC}})
		// DNS labels.
		out = append(out, planted{name: d.ID + "/dns", in: Input{Location: "dns.qname", Data: []byte(d.Identifiers[4].Value + ".t.example.net")}, want: []string{"known|android_id|" + d.Identifiers[4].Value}})
		out = append(out, planted{name: d.ID + "/dns-hex", in: Input{Location: "dns.qname", Data: []byte(hex.EncodeToString([]byte(d.Identifiers[0].Value)) + ".t.example.net")}, want: []string{"known|imei|" + d.Identifiers[0].Value}})
	}
	// Generic identifiers: values nobody declared.
	for i := 0; i < 12; i++ {
		imei := genIMEI(r)
		imsi := "46001" + randDigits(r, 10)
		iccid := "898600" + randDigits(r, 13)
		iccid += string(luhnDigit(iccid))
		aid := randHex(r, 16)
		ad := genUUID(r)
		mac := fmt.Sprintf("a4:5e:60:%02x:%02x:%02x", r.IntN(256), r.IntN(256), r.IntN(256))
		mail := fmt.Sprintf("person%d@mail.example.org", r.IntN(1e6))
		phone := fmt.Sprintf("+49151%08d", r.IntN(1e8))
		lat, lon := fmt.Sprintf("%.5f", 30+r.Float64()*20), fmt.Sprintf("%.5f", 100+r.Float64()*20)
		sn := "R58M" + randDigits(r, 5) + "X"
		p := placers[r.IntN(len(placers))]
		cases := []planted{
			{"imei", p.fn("imei", imei), []string{"generic|imei|" + imei}},
			{"imsi", p.fn("imsi", imsi), []string{"generic|imsi|" + imsi}},
			{"iccid", p.fn("iccid", iccid), []string{"generic|iccid|" + iccid}},
			{"android_id", p.fn("android_id", aid), []string{"generic|android_id|" + aid}},
			{"gaid", p.fn("gaid", ad), []string{"generic|advertising_id|" + ad}},
			{"mac", Input{Location: "body", Data: []byte("bt=" + mac + "\n")}, []string{"generic|mac|" + mac}},
			{"email", Input{Location: "body", Data: []byte(`{"contact":"` + mail + `"}`)}, []string{"generic|email|" + mail}},
			{"phone", Input{Location: "url.query", Data: []byte("to=" + url.QueryEscape(phone))}, []string{"generic|phone|" + phone}},
			{"gps", p.fn("lat", lat+"&lng="+lon), []string{"generic|gps|" + lat + "," + lon}},
			{"serial", p.fn("serialno", sn), []string{"generic|serial|" + sn}},
			{"imei-b64", Input{Location: "body", Data: []byte("data=" + base64.StdEncoding.EncodeToString([]byte(`{"imei":"`+imei+`","x":1}`)))}, []string{"generic|imei|" + imei}},
			{"imei-gzip", Input{Location: "body", Data: gz([]byte(`{"imei":"` + imei + `"}`))}, []string{"generic|imei|" + imei}},
		}
		if p.name == "json" || p.name == "mqtt" {
			cases[8].in = Input{Location: "body", Data: []byte(`{"lat":` + lat + `,"lng":` + lon + `}`)}
		}
		for _, c := range cases {
			c.name = fmt.Sprintf("generic%d/%s/%s", i, c.name, p.name)
			out = append(out, c)
		}
	}
	// Decoys: look like identifiers but are not.
	for i := 0; i < 60; i++ {
		bad := genIMEI(r)
		bad = bad[:14] + string('0'+(bad[14]-'0'+1)%10)
		decoys := []string{
			`{"request_id":"` + genUUID(r) + `","trace":"` + randHex(r, 16) + `"}`,
			"imei=" + bad + "&v=2",
			"order=" + randDigits(r, 15) + "&amount=" + randDigits(r, 4),
			`{"sha":"` + sumHex("sha256", randHex(r, 8)) + `","ts":17000` + randDigits(r, 8) + `}`,
			"blob=" + base64.StdEncoding.EncodeToString([]byte(randHex(r, 40))),
			`{"weights":[0.` + randDigits(r, 5) + `,0.` + randDigits(r, 5) + `,0.` + randDigits(r, 5) + `]}`,
			"GET /static/app." + randHex(r, 20) + ".js HTTP/1.1",
			`{"version":"12.4.1","build":"RP1A.200720.011","sdk":30}`,
			"session=" + randHex(r, 32) + "; theme=dark",
			`{"ssid":"","mac":"02:00:00:00:00:00","idfa":"00000000-0000-0000-0000-000000000000"}`,
			"img=icon@2x.png&offset=+0100&id=" + randDigits(r, 12),
		}
		d := decoys[i%len(decoys)]
		out = append(out, planted{name: fmt.Sprintf("decoy%d", i), in: Input{Location: "body", Data: []byte(d)}})
	}
	return out
}

func TestScore(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 7))
	devs := genLab(r, 3)
	s, err := NewScanner(devs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cases := genPlanted(r, devs)
	if len(cases) < 300 {
		t.Fatalf("only %d planted payloads", len(cases))
	}
	var tp, fp, fn int
	perType := map[string][2]int{}
	for _, c := range cases {
		want := map[string]bool{}
		for _, w := range c.want {
			want[w] = true
		}
		got := map[string]bool{}
		for _, h := range scanAll(s, c.in) {
			kind := "generic"
			if h.Known {
				kind = "known"
			}
			got[kind+"|"+h.Identifier+"|"+h.Value] = true
		}
		for w := range want {
			typ := strings.Split(w, "|")[1]
			x := perType[typ]
			x[1]++
			if got[w] {
				tp++
				x[0]++
			} else {
				fn++
				t.Logf("missed %s: %s in %q", c.name, w, c.in.Data)
			}
			perType[typ] = x
		}
		var extra []string
		for g := range got {
			if !want[g] {
				extra = append(extra, g)
			}
		}
		sort.Strings(extra)
		for _, g := range extra {
			fp++
			t.Logf("false positive %s: %s in %q", c.name, g, c.in.Data)
		}
	}
	recall := float64(tp) / float64(tp+fn)
	precision := float64(tp) / float64(tp+fp)
	t.Logf("payloads %d, planted %d: recall %.4f (%d/%d), precision %.4f (%d/%d)", len(cases), tp+fn, recall, tp, tp+fn, precision, tp, tp+fp)
	var types []string
	for k := range perType {
		types = append(types, k)
	}
	sort.Strings(types)
	for _, k := range types {
		t.Logf("  %-15s %d/%d", k, perType[k][0], perType[k][1])
	}
	if recall < 0.98 || precision < 0.98 {
		t.Errorf("recall %.4f precision %.4f, want >= 0.98 each", recall, precision)
	}
}
