package jsonw

import (
	"encoding/json"
	"testing"
)

var stringCases = []string{
	"", "plain ascii", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f\x00\x1f\x7f",
	"é ü 中文 😀", "\u2028\u2029", "bad \xff\xfe utf-8 \xc3", "del \x7f end",
}

// TestStringMatchesEncodingJSON: byte for byte what json.Marshal writes.
func TestStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range stringCases {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Errorf("String(%q) = %s, want %s", s, got, want)
		}
	}
	want, _ := json.Marshal(stringCases)
	if got := Strings(nil, stringCases); string(got) != string(want) {
		t.Errorf("Strings = %s, want %s", got, want)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := String([]byte("x"), s); string(got[1:]) != string(want) {
			t.Fatalf("String(%q) = %s, want %s", s, got[1:], want)
		}
	})
}
