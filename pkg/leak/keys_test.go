package leak

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKeysErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // every error, after "leak: invalid key file: "
	}{
		{"empty is no keys", "", nil},
		{"unknown class", "classes:\n  shoe_size: [x]\n", []string{`u.yaml:2:3: unknown class "shoe_size"`}},
		{"every error, not only the first", "classes:\n  shoe_size: [x]\n  imei: [[a]]\n  imsi: {a: b}\n  phone: [\"-\"]\nextra: 1\n", []string{
			`u.yaml:2:3: unknown class "shoe_size"`,
			`u.yaml:3:10: class imei: key names entry: want a plain value, found a list`,
			`u.yaml:4:9: want class imsi: key names (a list), found a mapping`,
			`u.yaml:5:11: empty key name`,
			`u.yaml:6:1: unknown key "extra" (want classes)`,
		}},
		{"not a mapping", "- a\n", []string{`u.yaml:1:1: want a mapping with key "classes", found a list`}},
		{"class twice", "classes:\n  imei: [a]\n  imei: [b]\n", []string{`u.yaml:3:3: key "imei" given twice (first on line 2)`}},
		{"alias", "classes:\n  imei: &k [a]\n  imsi: *k\n", []string{`u.yaml:3:9: YAML aliases are not allowed`}},
		{"syntax", "classes: [\n", []string{`u.yaml:2:1: YAML syntax: did not find expected node content`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeys("u.yaml", []byte(tt.in))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if !errors.Is(err, ErrKeys) {
				t.Fatalf("error %v does not wrap ErrKeys", err)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("errors:\n%v\nwant %d", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], ErrKeys.Error()+": "+w) {
					t.Errorf("error %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

// TestParseKeysAddsNothingOnError: a file with a mistake adds none of its keys.
func TestParseKeysAddsNothingOnError(t *testing.T) {
	k := &Keys{m: map[string]string{}}
	if err := k.add("u.yaml", []byte("classes:\n  imei: [hw_ident]\n  shoe: [x]\n")); err == nil {
		t.Fatal("no error")
	}
	if len(k.m) != 0 {
		t.Errorf("keys added from a bad file: %v", k.m)
	}
}

// FuzzParseKeys: any bytes load as a key list or fail with positioned
// ErrKeys errors, never a panic.
func FuzzParseKeys(f *testing.F) {
	f.Add(defaultKeys)
	f.Add([]byte("classes:\n  imei: [hw_ident]\n"))
	f.Add([]byte("classes:\n  shoe_size: [x]\n  imei: [[a]]\nextra: 1\n"))
	f.Add([]byte("classes: &a {imei: *a}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKeys("f.yaml", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, ErrKeys.Error()+": f.yaml") {
					t.Fatalf("error without position: %q", line)
				}
			}
			return
		}
		for n, c := range k.m {
			if n == "" || !validClass(c) {
				t.Fatalf("bad key %q -> %q", n, c)
			}
		}
	})
}
