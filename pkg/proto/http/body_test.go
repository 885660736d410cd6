package http

import (
	"mime"
	"strings"
	"testing"
)

// checkMediaType: mediaType gives the media type the full parse (and its
// fallback) gives, and the parameters of a multipart type.
func checkMediaType(t *testing.T, ct string) {
	t.Helper()
	mt, params := mediaType(ct)
	want, wantParams, err := mime.ParseMediaType(ct)
	if err != nil {
		want, wantParams = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0])), nil
	}
	if !strings.HasPrefix(want, "multipart/") {
		wantParams = nil // not read
	}
	if mt != want || len(params) != len(wantParams) {
		t.Errorf("mediaType(%q) = %q %v, want %q %v", ct, mt, params, want, wantParams)
	}
	for k, v := range wantParams {
		if params[k] != v {
			t.Errorf("mediaType(%q): %s = %q, want %q", ct, k, params[k], v)
		}
	}
}

var mediaTypeCases = []string{"", " ", "text/html", " Text/HTML ", "APPLICATION/JSON", "text/html;charset=utf-8",
	"multipart/form-data; boundary=x", "bad type", "text/", "/", "a/b/c", "tëxt/Ä", "text/html\t", "\u00a0text/plain\u00a0",
	"text/plain; charset", "x;y", ";", "image/svg+xml", "\xff/\xfe", "K\u212a/x", " Multipart/Mixed ; boundary=\"a b\"",
	"multipart/form-data; boundary", "multipart/x;a=1;a=2", "\u00a0multipart/x\u00a0; boundary=b"}

func TestMediaType(t *testing.T) {
	for _, ct := range mediaTypeCases {
		checkMediaType(t, ct)
	}
}

func FuzzMediaType(f *testing.F) {
	for _, ct := range mediaTypeCases {
		f.Add(ct)
	}
	f.Fuzz(checkMediaType)
}

// BenchmarkFillBody classifies a form body and a JSON one as Event.Fields
// does for bodies of the real bench.
func BenchmarkFillBody(b *testing.B) {
	form := []byte("device_id=a1b2c3d4e5f6&model=IPC-G22&fw=1.2.3&mac=00%3A11%3A22%3A33%3A44%3A55&lat=52.1&lon=4.3&ts=1714554055&sig=deadbeef")
	js := []byte(`{"status":"ok","items":[1,2,3]}`)
	b.ReportAllocs()
	for b.Loop() {
		fb := Body{Data: form}
		fillBody(&fb, "application/x-www-form-urlencoded")
		jb := Body{Data: js}
		fillBody(&jb, "application/json; charset=utf-8")
		tb := Body{Data: js}
		fillBody(&tb, "text/html")
	}
}
