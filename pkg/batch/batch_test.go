package batch

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// tinyPcap is a classic pcap of n small Ethernet frames.
func tinyPcap(t *testing.T, n int) []byte {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		frame := make([]byte, 60)
		frame[12], frame[13] = 0x08, 0x06 // ARP
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000+int64(i), 0), CaptureLength: 60, Length: 60}
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestParseShard(t *testing.T) {
	cases := []struct {
		in   string
		want Shard
		err  string
	}{
		{"0/1", Shard{0, 1}, ""},
		{"3/8", Shard{3, 8}, ""},
		{" 7 / 8 ", Shard{7, 8}, ""},
		{"8/8", Shard{}, "0 <= I < N"},
		{"-1/4", Shard{}, "0 <= I < N"},
		{"0/0", Shard{}, "0 <= I < N"},
		{"1", Shard{}, "want I/N"},
		{"a/b", Shard{}, "want I/N"},
		{"", Shard{}, "want I/N"},
	}
	for _, tc := range cases {
		got, err := ParseShard(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseShard(%q) = %v, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"0/1", "3/8", "8/8", "-1/2", "x", "1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseShard(s)
		if err != nil {
			return
		}
		if sh.I < 0 || sh.I >= sh.N {
			t.Fatalf("ParseShard(%q) = %v", s, sh)
		}
		if again, err := ParseShard(sh.String()); err != nil || again != sh {
			t.Fatalf("round trip of %v: %v, %v", sh, again, err)
		}
	})
}

// TestShardPartition: every hash is in exactly one shard, and the split is
// fixed (a change would move every finished result of a running job).
func TestShardPartition(t *testing.T) {
	hashes := []string{
		"0000000000000000aa", "0000000000000001ff", "00000000000000ff00",
		"7cdbc515145477436261863fdf427283e3dd943fff1bb59c7deac1abd225e442",
		"bf2bac6ae29631fc046dddd9a3709284075da9aba72822a6063f2abdab3bf598",
	}
	want4 := []int{0, 1, 3, 3, 0} // first 8 bytes big-endian mod 4
	for i, h := range hashes {
		for _, n := range []int{1, 2, 3, 4, 7} {
			in := 0
			for s := range n {
				if (Shard{s, n}).Has(h) {
					in++
					if n == 4 && s != want4[i] {
						t.Errorf("%s in shard %d/4, want %d", h, s, want4[i])
					}
				}
			}
			if in != 1 {
				t.Errorf("%s is in %d of %d shards", h, in, n)
			}
		}
	}
}

func TestPlanDuplicates(t *testing.T) {
	caps := []Capture{
		{Path: "a/1.pcap", SHA256: "000000000000000100"},
		{Path: "a/2.pcap", SHA256: "000000000000000200"},
		{Path: "b/1-copy.pcap", SHA256: "000000000000000100"},
	}
	todo, dups := Plan(caps, Shard{})
	if len(todo) != 2 || todo[0].Path != "a/1.pcap" || todo[1].Path != "a/2.pcap" {
		t.Errorf("todo = %v", todo)
	}
	if dups["b/1-copy.pcap"] != "a/1.pcap" || len(dups) != 1 {
		t.Errorf("dups = %v", dups)
	}
	odd, _ := Plan(caps, Shard{1, 2})
	if len(odd) != 1 || odd[0].Path != "a/1.pcap" {
		t.Errorf("shard 1/2 = %v", odd)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	pcap := tinyPcap(t, 3)
	write := func(rel string, b []byte) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b/deep/x.pcap", pcap)
	write("a.pcap", pcap)
	write("notes.txt", []byte("lab notes\n"))
	write("out/reports/r.pcap", pcap) // inside the output directory: excluded
	write("empty.pcap", nil)
	caps, skipped, err := Find([]string{dir}, []string{filepath.Join(dir, "out")}, 2)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, c := range caps {
		paths = append(paths, strings.TrimPrefix(filepath.ToSlash(c.Path), filepath.ToSlash(dir)+"/"))
		if len(c.SHA256) != 64 || c.Size != int64(len(pcap)) {
			t.Errorf("%s: hash %q size %d", c.Path, c.SHA256, c.Size)
		}
	}
	if want := []string{"a.pcap", "b/deep/x.pcap"}; !slices.Equal(paths, want) {
		t.Errorf("captures %v, want %v", paths, want)
	}
	if len(skipped) != 2 || !strings.HasSuffix(skipped[0].Path, "empty.pcap") || !strings.HasSuffix(skipped[1].Path, "notes.txt") ||
		!strings.Contains(skipped[1].Reason, "not a capture") {
		t.Errorf("skipped = %v", skipped)
	}
	if _, _, err := Find([]string{filepath.Join(dir, "missing")}, nil, 1); err == nil {
		t.Error("a missing path is not an error")
	}
	if _, _, err := Find([]string{"-"}, nil, 1); err == nil {
		t.Error("stdin accepted per file")
	}
}

func TestStore(t *testing.T) {
	s := Store{Dir: t.TempDir(), Kind: "json"}
	sha := strings.Repeat("ab", 32)
	if _, ok := s.Done(sha); ok {
		t.Fatal("done before anything was written")
	}
	f, err := s.Create(ReportName(sha, ".json"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{}\n")
	// Before Commit only a temporary file exists, which globs skip.
	if got, _ := filepath.Glob(filepath.Join(s.Dir, "reports", "*.json")); len(got) != 0 {
		t.Errorf("partial report visible: %v", got)
	}
	if tmps := Temps(s.Dir); len(tmps) != 1 {
		t.Errorf("temps = %v", tmps)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	r := Result{Path: "x.pcap", SHA256: sha, Status: StatusDone, Files: []string{ReportName(sha, ".json")}, Resumed: true}
	if err := s.Commit(r); err != nil {
		t.Fatal(err)
	}
	got, ok := s.Done(sha)
	if !ok || got.Status != StatusDone || got.Resumed {
		t.Errorf("Done = %+v, %v", got, ok)
	}
	if _, ok := (Store{Dir: s.Dir, Kind: "parquet"}).Done(sha); ok {
		t.Error("a json result counts for parquet")
	}
	os.Remove(filepath.Join(s.Dir, "reports", sha+".json"))
	if _, ok := s.Done(sha); ok {
		t.Error("done although its report was removed")
	}
	if tmps := Temps(s.Dir); len(tmps) != 0 {
		t.Errorf("temps left: %v", tmps)
	}
}
