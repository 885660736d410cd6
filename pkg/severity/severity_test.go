package severity

import "testing"

func TestNamesRoundTrip(t *testing.T) {
	for s := None; s <= Critical; s++ {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%v: round trip gave %v, %v", s, back, err)
		}
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Severity
		ok   bool
	}{
		{"high", High, true},
		{"HIGH", High, true},
		{"Critical", Critical, true},
		{"none", None, true},
		{"severe", None, false},
		{"", None, false},
	} {
		got, err := Parse(c.in)
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("Parse(%q) = %v, %v; want %v, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
	if High <= Medium || Critical <= High || Info <= None {
		t.Error("severities must order as none < info < low < medium < high < critical")
	}
	if got := Severity(9).String(); got != "severity(9)" {
		t.Errorf("unknown severity prints %q", got)
	}
}
