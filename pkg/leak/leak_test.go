package leak

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/lab"
)

func labScanner(t testing.TB) *Scanner {
	t.Helper()
	f, err := lab.Load("../lab/testdata/issue.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScanner(f.Devices, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scanAll(s *Scanner, in Input) []Hit {
	var out []Hit
	s.Scan(in, func(h Hit) { out = append(out, h) })
	return out
}

func hitStrings(hs []Hit) []string {
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%s=%s", h.Identifier, h.Value))
	}
	return out
}

func TestValidators(t *testing.T) {
	s := labScanner(t)
	tests := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"imei ok", validIMEI, "867891045582412", true},
		{"imei luhn fail", validIMEI, "867891045582413", false},
		{"imei bad rbi", validIMEI, "127891045582416", false},
		{"imei short", validIMEI, "86789104558241", false},
		{"imei zeros", validIMEI, "350000000000006", false},
		{"imeisv", validIMEISV, "8678910455824101", true},
		{"meid hex", validMEID, "A0000012345678", true},
		{"meid low region", validMEID, "12000012345678", false},
		{"imsi ok", s.validIMSI, "262023932190109", true},
		{"imsi bad mcc", s.validIMSI, "999023932190109", false},
		{"iccid ok", func(v string) bool { return validICCID(v) != "" }, "89490222457675951421", true},
		{"iccid F pad", func(v string) bool { return validICCID(v) != "" }, "8949022245767595142F", false},
		{"iccid luhn", func(v string) bool { return validICCID(v) != "" }, "89490222457675951422", false},
		{"iccid prefix", func(v string) bool { return validICCID(v) != "" }, "79490222457675951421", false},
		{"email", validEmail, "someone@example.com", true},
		{"email image", validEmail, "icon@2x.png", false},
		{"email no tld", validEmail, "root@localhost", false},
		{"uuid", isUUID, "426672f0-0f0b-4cc5-aa43-cb92d841d8cf", true},
		{"uuid short", isUUID, "426672f0-0f0b-4cc5-aa43-cb92d841d8c", false},
		{"mac colon", func(v string) bool { return parseMAC(v, false) != "" }, "F8:A4:5F:0D:E5:01", true},
		{"mac dash", func(v string) bool { return parseMAC(v, false) != "" }, "f8-a4-5f-0d-e5-01", true},
		{"mac cisco", func(v string) bool { return parseMAC(v, false) != "" }, "f8a4.5f0d.e501", true},
		{"mac bare", func(v string) bool { return parseMAC(v, true) != "" }, "F8A45F0DE501", true},
		{"mac broadcast", func(v string) bool { return parseMAC(v, false) != "" }, "ff:ff:ff:ff:ff:ff", false},
		{"mac zero", func(v string) bool { return parseMAC(v, false) != "" }, "00:00:00:00:00:00", false},
		{"mac android placeholder", func(v string) bool { return parseMAC(v, false) != "" }, "02:00:00:00:00:00", false},
		{"mac multicast", func(v string) bool { return parseMAC(v, false) != "" }, "01:00:5e:00:00:fb", false},
		{"serial", validSerial, "78e93538", true},
		{"serial placeholder", validSerial, "unknown", false},
		{"serial run", validSerial, "123456789", false},
		{"lan ip", func(v string) bool { return lanIP(v) != "" }, "192.168.1.23", true},
		{"public ip", func(v string) bool { return lanIP(v) != "" }, "8.8.8.8", false},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("%s: %q = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestGenericDetectors(t *testing.T) {
	s, err := NewScanner(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, loc, data string
		want            []string
	}{
		{"imei keyed", "url.query", "imei=867891045582412&x=1", []string{"imei=867891045582412"}},
		{"imei luhn fail", "url.query", "imei=867891045582413", nil},
		{"imei without key", "body", "id 867891045582412 ok", nil},
		{"imei dashed keyed", "body", `{"deviceImei":"86-789104-558241-2"}`, []string{"imei=867891045582412"}},
		{"imeisv", "url.query", "imeisv=8678910455824101", []string{"imeisv=8678910455824101"}},
		{"meid", "url.query", "meid=A0000012345678", []string{"meid=A0000012345678"}},
		{"imsi", "body", "imsi: 262023932190109\n", []string{"imsi=262023932190109"}},
		{"imsi bad mcc", "body", "imsi=999023932190109", nil},
		{"iccid", "url.query", "iccid=89490222457675951421", []string{"iccid=89490222457675951421"}},
		{"iccid luhn", "url.query", "iccid=89490222457675951422", nil},
		{"phone plus keyless", "body", "call me at +49 162 89027936 now", []string{"phone=+4916289027936"}},
		{"phone national keyed", "url.query", "msisdn=016289027936", []string{"phone=+4916289027936"}},
		{"phone national keyless", "body", "nr 016289027936", nil},
		{"phone invalid", "url.query", "phone=+49 1", nil},
		{"timezone not phone", "body", "offset +0100 and +1 day", nil},
		{"mac keyless", "body", "wifi ap f8:a4:5f:0d:e5:01 seen", []string{"mac=f8:a4:5f:0d:e5:01"}},
		{"mac bare keyed", "url.query", "wifi_mac=F8A45F0DE501", []string{"mac=f8:a4:5f:0d:e5:01"}},
		{"mac bare keyless", "body", "F8A45F0DE501", nil},
		{"mac broadcast", "body", "dst ff:ff:ff:ff:ff:ff", nil},
		{"bssid keyed", "body", `{"bssid":"3c:a6:2f:db:5f:37"}`, []string{"bssid=3c:a6:2f:db:5f:37"}},
		{"android id keyed", "url.query", "android_id=df3d43bf047edbe6", []string{"android_id=df3d43bf047edbe6"}},
		{"android id no key", "url.query", "x=df3d43bf047edbe6", nil},
		{"16 hex under aid", "url.query", "aid=df3d43bf047edbe6", nil},
		{"gaid keyed", "body", `{"gaid":"426672F0-0F0B-4CC5-AA43-CB92D841D8CF"}`, []string{"advertising_id=426672f0-0f0b-4cc5-aa43-cb92d841d8cf"}},
		{"uuid without key", "body", `{"request":"426672f0-0f0b-4cc5-aa43-cb92d841d8cf"}`, nil},
		{"zero ad id", "url.query", "idfa=00000000-0000-0000-0000-000000000000", nil},
		{"oaid hex", "url.query", "oaid=9f1b2c3d4e5f60718293a4b5c6d7e8f9", []string{"advertising_id=9f1b2c3d4e5f60718293a4b5c6d7e8f9"}},
		{"device id", "url.query", "openudid=9f1b2c3d4e5f6071", []string{"device_id=9f1b2c3d4e5f6071"}},
		{"device id timestamp", "url.query", "did=1700000000123", nil},
		{"email keyless", "body", "from: someone@example.com;", []string{"email=someone@example.com"}},
		{"email image name", "body", "img=logo@2x.png", nil},
		// Query and form separators end the local part: one e-mail, not
		// "serial=SN…&email=u1@…" as well.
		{"email after query params", "url.query", "serial=SN8812&email=u1@example.org", []string{"serial=SN8812", "email=u1@example.org"}},
		{"email in a path query", "body", "GET /reg?uid=7&mail=u2@example.org HTTP/1.1", []string{"email=u2@example.org"}},
		{"email after a path", "body", "/v1/users/u3@example.org", []string{"email=u3@example.org"}},
		{"gps keyed", "url.query", "lat=52.5125&lon=13.3252", []string{"gps=52.5125,13.3252"}},
		{"gps json", "body", `{"location":{"latitude":52.51254,"longitude":13.32519}}`, []string{"gps=52.51254,13.32519"}},
		{"gps few decimals", "url.query", "lat=52.5&lon=13.3", nil},
		{"gps pair keyless", "body", "pos 52.51254,13.32519 end", []string{"gps=52.51254,13.32519"}},
		{"float list", "body", "[0.12345,0.23456,0.34567]", nil},
		{"ssid", "body", `{"ssid":"Lab-WiFi"}`, []string{"ssid=Lab-WiFi"}},
		{"ssid unknown", "body", `{"ssid":"<unknown ssid>"}`, nil},
		{"serial", "url.query", "sn=78e93538", []string{"serial=78e93538"}},
		{"lan ip", "body", `{"local_ip":"192.168.1.23"}`, []string{"lan_ip=192.168.1.23"}},
		{"public ip", "body", `{"local_ip":"8.8.8.8"}`, nil},
		{"hostname", "body", "hostname=Kitchen-Speaker", []string{"hostname=Kitchen-Speaker"}},
		{"password", "body", "user=bob&password=hunter2", []string{"password=hunter2"}},
		{"api key in url", "url.query", "api_key=AIzaSyD3x9k2Lm4Np8Qr6St0Uv", []string{"api_key=AIzaSyD3x9k2Lm4Np8Qr6St0Uv"}},
		{"api key in body", "body", "api_key=AIzaSyD3x9k2Lm4Np8Qr6St0Uv", nil},
		{"basic auth", "header:Authorization", "Basic Ym9iOmh1bnRlcjI=", []string{"basic_auth=bob:hunter2"}},
		{"mqtt password", "mqtt.password", "s3cret-pass", []string{"password=s3cret-pass"}},
		{"url encoded keyed", "url.query", "data=imei%3D867891045582412", []string{"imei=867891045582412"}},
		{"xml", "body", "<r><imei>867891045582412</imei></r>", []string{"imei=867891045582412"}},
		{"base64 json", "body", "d=" + base64.StdEncoding.EncodeToString([]byte(`{"imsi":"262023932190109"}`)), []string{"imsi=262023932190109"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hitStrings(scanAll(s, Input{Location: tt.loc, Data: []byte(tt.data)}))
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// findKnown scans and returns the hit for the known value of type typ.
func findKnown(s *Scanner, in Input, typ string) (Hit, bool) {
	for _, h := range scanAll(s, in) {
		if h.Known && h.Identifier == typ {
			return h, true
		}
	}
	return Hit{}, false
}

func sumHex(name, v string) string {
	switch name {
	case "md5":
		h := md5.Sum([]byte(v))
		return hex.EncodeToString(h[:])
	case "sha1":
		h := sha1.Sum([]byte(v))
		return hex.EncodeToString(h[:])
	}
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

func TestKnownForms(t *testing.T) {
	s := labScanner(t)
	values := map[string]string{
		"imei": "867891045582412", "imsi": "262023932190109", "iccid": "89490222457675951421",
		"android_id": "df3d43bf047edbe6", "advertising_id": "426672f0-0f0b-4cc5-aa43-cb92d841d8cf",
		"serial": "78e93538", "email": "someone@example.com", "ssid": "Lab-WiFi", "bssid": "3c:a6:2f:db:5f:37",
	}
	type form struct {
		name string
		enc  func(v string) string
		want string
	}
	forms := []form{
		{"plain", func(v string) string { return v }, "plain"},
		{"upper", strings.ToUpper, "plain"},
		{"compact", stripSeps, "plain"},
		{"url", url.QueryEscape, "plain"},
		{"hex", func(v string) string { return hex.EncodeToString([]byte(v)) }, "hex>plain"},
		{"HEX", func(v string) string { return strings.ToUpper(hex.EncodeToString([]byte(v))) }, "hex>plain"},
		{"md5", func(v string) string { return sumHex("md5", v) }, "md5>plain"},
		{"sha1", func(v string) string { return strings.ToUpper(sumHex("sha1", v)) }, "sha1>plain"},
		{"sha256", func(v string) string { return sumHex("sha256", v) }, "sha256>plain"},
		{"sha256 b64", func(v string) string { h := sha256.Sum256([]byte(v)); return base64.StdEncoding.EncodeToString(h[:]) }, "base64>sha256>plain"},
	}
	for _, pre := range []string{"", "a", "ab"} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			pre, enc := pre, enc
			forms = append(forms, form{fmt.Sprintf("b64 align %d %p", len(pre), enc), func(v string) string {
				return enc.EncodeToString([]byte(pre + v + "\x00\xff~tail"))
			}, "base64>plain"})
		}
	}
	for typ, v := range values {
		for _, f := range forms {
			data := "x=1&v=" + f.enc(v) + "&y=2"
			h, ok := findKnown(s, Input{Location: "url.query", Data: []byte(data)}, typ)
			if !ok {
				t.Errorf("%s %s: not found in %q", typ, f.name, data)
				continue
			}
			if got := strings.Join(h.Encoding, ">"); got != f.want && !(f.name == "url" && got == "url>plain") {
				t.Errorf("%s %s: encoding %s, want %s", typ, f.name, got, f.want)
			}
			if h.Value != v || h.DeviceID != "phone" || !strings.HasPrefix(h.Location, "url.query:v") {
				t.Errorf("%s %s: hit %+v", typ, f.name, h)
			}
		}
	}
}

func TestKnownVariants(t *testing.T) {
	s := labScanner(t)
	tests := []struct{ typ, data string }{
		{"phone", "tel=%2B4916289027936"},
		{"phone", "tel=004916289027936"},
		{"phone", "tel=016289027936"},
		{"phone", `{"msisdn":"4916289027936"}`},
		{"mac", "m=F8A45F0DE501"},
		{"mac", "m=f8-a4-5f-0d-e5-01"},
		{"mac", "m=f8a4.5f0d.e501"},
		{"imei", "i=86-789104-558241-2"},
		{"imei", "i=86789104558241"},
		{"advertising_id", "a=426672F00F0B4CC5AA43CB92D841D8CF"},
	}
	for _, tt := range tests {
		if _, ok := findKnown(s, Input{Location: "body", Data: []byte(tt.data)}, tt.typ); !ok {
			t.Errorf("%s not found in %q", tt.typ, tt.data)
		}
	}
	// Boundaries: a value inside a longer number is not that value.
	for _, d := range []string{"i=1867891045582412", "i=8678910455824123", "ssid=Lab-WiFiX"} {
		for _, h := range scanAll(s, Input{Location: "body", Data: []byte(d)}) {
			if h.Known {
				t.Errorf("%q: unexpected known hit %+v", d, h)
			}
		}
	}
	// A sibling device's IMEI differs only in the last digits: no confusion
	// at any base64 alignment.
	for _, pre := range []string{"", "a", "ab"} {
		b := base64.StdEncoding.EncodeToString([]byte(pre + "867891045582412"))
		for _, h := range scanAll(s, Input{Location: "body", Data: []byte(b)}) {
			if h.Known && h.Value != "867891045582412" {
				t.Errorf("align %d: wrong value %+v", len(pre), h)
			}
		}
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zl(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestNestedEncodings(t *testing.T) {
	s := labScanner(t)
	js := []byte(`{"device":{"imei":"867891045582412"}}`)
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name  string
		in    Input
		chain string
		loc   string
	}{
		{"gzip body", Input{Location: "body", Data: gz(js)}, "gzip>plain", "body>$.device.imei"},
		{"zlib body", Input{Location: "body", Data: zl(js)}, "zlib>plain", "body>$.device.imei"},
		{"gzip>base64", Input{Location: "body", Data: []byte("data_list=" + url.QueryEscape(b64(gz(js))) + "&gzip=1")}, "url>base64>gzip>plain", "body:data_list>$.device.imei"},
		{"base64>gzip raw", Input{Location: "body", Data: []byte(b64(gz(js)))}, "base64>gzip>plain", "body>$.device.imei"},
		{"url-escaped padding", Input{Location: "url.query", Data: []byte("d=" + url.QueryEscape(b64(js)))}, "base64>plain", "url.query:d>$.device.imei"},
		{"url>base64", Input{Location: "url.query", Data: []byte("d=" + url.QueryEscape("{\"x\":\"ab\",\"v\":\""+b64(js)+"\"}"))}, "url>base64>plain", "url.query:d>$.v>$.device.imei"},
		{"hex>gzip", Input{Location: "body", Data: []byte(hex.EncodeToString(gz(js)))}, "hex>gzip>plain", "body>$.device.imei"},
		{"base64>base64", Input{Location: "body", Data: []byte(b64([]byte(b64(js))))}, "base64>base64>plain", "body>$.device.imei"},
		{"json string", Input{Location: "body", Data: []byte(`{"payload":"{\"device\":{\"imei\":\"867891045582412\"}}"}`)}, "plain", "body.json:$.payload>$.device.imei"},
		{"deflate by content type", Input{Location: "body", Data: deflateRaw(js), ContentType: "application/json; deflate"}, "deflate>plain", "body>$.device.imei"},
	}
	for _, tt := range tests {
		h, ok := findKnown(s, tt.in, "imei")
		if !ok {
			t.Errorf("%s: not found", tt.name)
			continue
		}
		if got := strings.Join(h.Encoding, ">"); got != tt.chain {
			t.Errorf("%s: chain %s, want %s", tt.name, got, tt.chain)
		}
		if h.Location != tt.loc {
			t.Errorf("%s: location %q, want %q", tt.name, h.Location, tt.loc)
		}
	}
}

func TestGPSVariants(t *testing.T) {
	s := labScanner(t)
	for _, d := range []string{
		"lat=52.5125&lon=13.3252",
		"lat=52.51254&lng=13.32519",
		"lat=52.512544&lon=13.325194",
		"ll=52.51254,13.32519",
		"13.32519,52.51254",
		`{"lat":52.5125,"lon":13.3251}`,
		`{"lon":13.3252,"accuracy":12,"lat":52.5125}`,
	} {
		h, ok := findKnown(s, Input{Location: "body", Data: []byte(d)}, "gps")
		if !ok || h.Value != "52.512544,13.325194" {
			t.Errorf("%q: gps not found (%+v)", d, h)
		}
	}
	for _, d := range []string{"lat=52.51&lon=13.32", "lat=52.5125", "lat=52.5125&x=1&lon=13.9999"} {
		if h, ok := findKnown(s, Input{Location: "body", Data: []byte(d)}, "gps"); ok {
			t.Errorf("%q: unexpected %+v", d, h)
		}
	}
}

func TestCaps(t *testing.T) {
	s := labScanner(t)
	// base64 nested 50 deep stops at MaxDepth without error.
	d := []byte("i")
	for i := 0; i < 50; i++ {
		d = []byte(base64.StdEncoding.EncodeToString(d))
	}
	if hs := scanAll(s, Input{Location: "body", Data: d}); len(hs) != 0 {
		t.Errorf("50-deep base64: %v", hs)
	}
	// 4 layers are within the cap.
	d = []byte("imei=867891045582412")
	for i := 0; i < 3; i++ {
		d = []byte(base64.StdEncoding.EncodeToString(d))
	}
	if _, ok := findKnown(s, Input{Location: "body", Data: d}, "imei"); !ok {
		t.Error("3-deep base64 not found")
	}
	// Decompression bomb: 8 MiB of zeros inflate only up to MaxDecoded.
	small, err := NewScanner(nil, Options{MaxDecoded: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	bomb := gz(make([]byte, 8<<20))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	scanAll(small, Input{Location: "body", Data: bomb})
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 8<<20 {
		t.Errorf("bomb: allocated %d bytes, want well under the 8 MiB it inflates to", d)
	}
	// Hit cap.
	var many bytes.Buffer
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&many, "u%d@example.com ", i)
	}
	if n := len(scanAll(s, Input{Location: "body", Data: many.Bytes()})); n > 256 {
		t.Errorf("hits = %d, want <= 256", n)
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ id, in, want string }{
		{"imei", "867891045582412", "8678*******2412"},
		{"email", "someone@example.com", "s*****e@example.com"},
		{"email", "ab@example.com", "a*@example.com"},
		{"phone", "+49 162 89027936", "+49 16* ****7936"},
		{"mac", "f8:a4:5f:0d:e5:01", "f8:a4:5f:**:**:**"},
		{"gps", "52.512544,13.325194", "52.5*****,13.3*****"},
		{"password", "hunter2", "********"},
		{"api_key", "AIzaSyD3x9k2Lm4Np8Qr6St0Uv", "********"},
		{"basic_auth", "bob:hunter2", "***:********"},
		{"serial", "78e93538", "78****38"},
		{"ssid", "Lab-WiFi", "L**-****"},
		{"opaque", "abc", "***"},
		{"advertising_id", "426672f0-0f0b-4cc5-aa43-cb92d841d8cf", "4266****-****-****-****-********d8cf"},
	}
	for _, tt := range tests {
		if got := Mask(tt.id, tt.in); got != tt.want {
			t.Errorf("Mask(%s, %q) = %q, want %q", tt.id, tt.in, got, tt.want)
		}
	}
}

func TestSeverity(t *testing.T) {
	tests := []struct {
		id   string
		e    Exposure
		want audit.Severity
	}{
		{"imei", Exposure{}, audit.Low},
		{"imei", Exposure{Plaintext: true}, audit.High},
		{"imei", Exposure{ThirdParty: true, Abroad: true}, audit.High},
		{"imei", Exposure{Plaintext: true, ThirdParty: true}, audit.Critical},
		{"imei", Exposure{Plaintext: true, ThirdParty: true, Abroad: true}, audit.Critical},
		{"advertising_id", Exposure{}, audit.Info},
		{"advertising_id", Exposure{ThirdParty: true}, audit.Low},
		{"advertising_id", Exposure{Plaintext: true, ThirdParty: true, Abroad: true}, audit.High},
		{"password", Exposure{Plaintext: true}, audit.Critical},
		{"password", Exposure{ThirdParty: true}, audit.Medium},
		{"lan_ip", Exposure{Plaintext: true, ThirdParty: true, Abroad: true}, audit.Medium},
		{"cloud_uid", Exposure{}, audit.Info},
		// Same LAN or multicast ranks below the Internet.
		{"mac", Exposure{Plaintext: true, Local: true}, audit.Low},
		{"email", Exposure{Plaintext: true, Local: true}, audit.Low},
		{"email", Exposure{Local: true}, audit.Info},
		{"advertising_id", Exposure{Plaintext: true, Local: true}, audit.Info},
		{"password", Exposure{Plaintext: true, Local: true}, audit.Medium},
		{"hostname", Exposure{Plaintext: true, Local: true}, audit.Info},
		// Local wins over flags that cannot apply on the LAN.
		{"imei", Exposure{Plaintext: true, Local: true, ThirdParty: true, Abroad: true}, audit.Low},
	}
	for _, tt := range tests {
		if got := Severity(tt.id, tt.e); got != tt.want {
			t.Errorf("Severity(%s, %+v) = %v, want %v", tt.id, tt.e, got, tt.want)
		}
	}
	// For a strong identifier, on one kind of channel: LAN < Internet <
	// third party < third party abroad (encrypted), LAN < Internet (clear).
	for _, order := range [][]Exposure{
		{{Local: true}, {}, {ThirdParty: true}, {ThirdParty: true, Abroad: true}},
		{{Plaintext: true, Local: true}, {Plaintext: true}, {Plaintext: true, ThirdParty: true}},
	} {
		for i := 1; i < len(order); i++ {
			if Severity("email", order[i]) <= Severity("email", order[i-1]) {
				t.Errorf("%+v is not rated above %+v", order[i], order[i-1])
			}
		}
	}
}

func TestKeysFile(t *testing.T) {
	k, err := ParseKeys("user.yaml", []byte("classes:\n  imei: [hw_ident]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if k.Class("HW-Ident") != "imei" {
		t.Error("user key not mapped")
	}
	s, err := NewScanner(nil, Options{Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	if got := hitStrings(scanAll(s, Input{Location: "body", Data: []byte("hw_ident=867891045582412")})); len(got) != 1 {
		t.Errorf("user key: %v", got)
	}
	_, err = ParseKeys("user.yaml", []byte("classes:\n  shoe_size: [x]\n"))
	if err == nil || !strings.Contains(err.Error(), "user.yaml:2:3") {
		t.Errorf("unknown class error = %v", err)
	}
	def, err := LoadKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range classNames {
		if len(def.Names(c)) == 0 {
			t.Errorf("class %s has no default key", c)
		}
	}
}

// TestScanCommonPathDoesNotAllocate: inputs with nothing to report and no
// encoded field are scanned without allocating (the scan state and its
// buffers are reused).
func TestScanCommonPathDoesNotAllocate(t *testing.T) {
	s, err := NewScanner(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	opaque := make([]byte, 1400)
	for i := range opaque {
		opaque[i] = byte(i*7 + i*i*13)
	}
	for _, in := range []Input{
		{Location: "header:User-Agent", Data: []byte("Dalvik/2.1.0 (Linux; U; Android 9; SM-G960F Build/PPR1.180610.011)")},
		{Location: "dns.qname", Data: []byte("connectivitycheck.gstatic.com")},
		{Location: "url.query", Data: []byte("app=com.example.shop&ver=4.2&ts=1700000000&lang=en")},
		{Location: "body", ContentType: "text/plain", Data: []byte("fc9098f366b9b56f2e81d71dfb97c0f32a48a0237304d723b773b6bb08983650")},
		{Location: "tcp.payload", Data: opaque},
		{Location: "body", ContentType: "application/json", Data: []byte(`{"name":"screen_view","params":{"screen":"home","duration_ms":1200,"network":"wifi"}}`)},
	} {
		in.MACs = [2][6]byte{{0x94, 0x10, 0x3e, 0x35, 0x01, 0xc1}, {0x00, 0xb5, 0x6d, 0x06, 0x08, 0xba}} // the flow's link addresses
		t.Run(in.Location, func(t *testing.T) {
			hits := 0
			if n := testing.AllocsPerRun(100, func() { s.Scan(in, func(Hit) { hits++ }) }); n > 0 || hits > 0 {
				t.Errorf("%.0f allocations, %d hits per Scan", n, hits)
			}
		})
	}
}
