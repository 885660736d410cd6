package coding

import (
	"slices"
	"testing"
)

func TestUndone(t *testing.T) {
	for _, c := range []struct {
		enc   string
		flags []string
		want  []string
	}{
		{"gzip", nil, []string{"gzip"}},
		{"x-gzip", nil, []string{"gzip"}},
		{"gzip, br", nil, []string{"br", "gzip"}},
		{" Identity , GZIP", nil, []string{"gzip"}},
		{"", nil, nil},
		{"identity", nil, nil},
		{"gzip", []string{"decode-error"}, nil},
		{"snappy", []string{"unknown-encoding"}, nil},
		{"gzip", []string{"truncated"}, []string{"gzip"}},
	} {
		if got := Undone(c.enc, c.flags); !slices.Equal(got, c.want) {
			t.Errorf("Undone(%q, %v) = %v, want %v", c.enc, c.flags, got, c.want)
		}
	}
}
