package lines

import (
	"fmt"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/pkg/proto"
)

// feed runs chunks (a chunk "GAP" is a gap) through a Reader and renders
// each line as data|len|long|afterGap|frame.
func feed(max int, chunks []string, split int) string {
	r := Reader{Max: max}
	var out []string
	for i, c := range chunks {
		if c == "GAP" {
			r.Gap()
			continue
		}
		m := proto.Meta{Frame: uint64(i + 1)}
		for b := []byte(c); len(b) > 0; {
			n := len(b)
			if split > 0 {
				n = min(n, split)
			}
			data := b[:n]
			b = b[n:]
			for len(data) > 0 {
				l, rest, ok := r.Next(data, m)
				data = rest
				if !ok {
					break
				}
				out = append(out, fmt.Sprintf("%q|%d|%v|%v|%d", l.Data, l.Len, l.Long, l.AfterGap, l.Meta.Frame))
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestReader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		max    int
		chunks []string
		want   string
	}{
		{"crlf-and-lf", 64, []string{"a\r\nb\nc"}, `"a"|1|false|false|1` + "\n" + `"b"|1|false|false|1`},
		{"across-chunks", 64, []string{"hel", "lo\r", "\nx\r\n"}, `"hello"|5|false|false|1` + "\n" + `"x"|1|false|false|3`},
		{"long", 4, []string{"abcdefgh\r\nok\r\n"}, `"abcd"|8|true|false|1` + "\n" + `"ok"|2|false|false|1`},
		{"long-cr-apart", 4, []string{"abcdefgh\r", "\nok\n"}, `"abcd"|8|true|false|1` + "\n" + `"ok"|2|false|false|2`},
		{"gap", 64, []string{"one\r\ntw", "GAP", "o lost\r\nthree\r\n"}, `"one"|3|false|false|1` + "\n" + `"three"|5|false|true|3`},
		{"empty", 64, []string{"\r\n\n"}, `""|0|false|false|1` + "\n" + `""|0|false|false|1`},
	} {
		for _, split := range []int{0, 1, 3} {
			if got := feed(tc.max, tc.chunks, split); got != tc.want {
				t.Errorf("%s (split %d):\n got %s\nwant %s", tc.name, split, got, tc.want)
			}
		}
	}
}

func TestPending(t *testing.T) {
	r := Reader{Max: 64}
	if _, _, ok := r.Next([]byte("partial"), proto.Meta{}); ok {
		t.Fatal("no line end, got a line")
	}
	if p := string(r.Pending()); p != "partial" {
		t.Errorf("Pending = %q", p)
	}
	if p := r.Pending(); p != nil {
		t.Errorf("second Pending = %q", p)
	}
}
