package parquet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pq "github.com/parquet-go/parquet-go"

	"github.com/phonehome/phonehome/internal/corpus"
	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/engine"
	"github.com/phonehome/phonehome/pkg/keylog"
)

// TestCorpusDecryptionCounts runs the engine on the corpus's real Firefox
// TLS 1.2 captures with their key log, the other capture's (no key) and
// none, and checks that the Parquet tables carry the decryption counts the
// JSON report has: per destination, per device summary, and the capture's
// in the files' metadata; all null without key logs.
func TestCorpusDecryptionCounts(t *testing.T) {
	dir := corpus.Dir()
	if dir == "" {
		t.Skip("corpus not found: put the shared corpus at ../shared/corpus beside the repository or set PHONEHOME_CORPUS")
	}
	names := []string{"tls12-decryption", "tls-1.2-stream-keylog"}
	for i, name := range names {
		base := filepath.Join(dir, "decrypt", name)
		if _, err := os.Stat(base + ".pcap"); err != nil {
			t.Skip("not in this corpus: ", err)
		}
		for _, tc := range []struct {
			keys  string // key log file, "" for none
			wrong bool   // change the last hex digit of each secret
			want  string // capture summary.decryption as JSON, "" for none
		}{
			{base + ".keys", false, `{"decrypted":1,"no_key":0,"failed":0}`},
			{filepath.Join(dir, "decrypt", names[1-i]+".keys"), false, `{"decrypted":0,"no_key":1,"failed":0}`},
			{base + ".keys", true, `{"decrypted":0,"no_key":0,"failed":1,"stopped":{"auth":1}}`},
			{"", false, ""},
		} {
			t.Run(fmt.Sprintf("%s/%s/wrong=%v", name, filepath.Base(tc.keys), tc.wrong), func(t *testing.T) {
				var keys *keylog.Log
				if tc.keys != "" {
					b, err := os.ReadFile(tc.keys)
					if err != nil {
						t.Fatal(err)
					}
					if tc.wrong {
						b = wrongSecrets(b)
					}
					keys = keylog.New()
					if err := keys.Read(bytes.NewReader(b), tc.keys); err != nil {
						t.Fatal(err)
					}
				}
				rep, err := engine.Run(context.Background(), engine.Config{Keys: keys}, []string{base + ".pcap"})
				if err != nil {
					t.Fatal(err)
				}
				out := t.TempDir()
				if _, err := Write(out, "x", rep, Capture{Path: name, SHA256: "x"}); err != nil {
					t.Fatal(err)
				}
				// The capture's counts, in every file's metadata.
				for _, table := range Tables {
					f, err := os.Open(filepath.Join(out, table, "x.parquet"))
					if err != nil {
						t.Fatal(err)
					}
					st, _ := f.Stat()
					pf, err := pq.OpenFile(f, st.Size())
					if err != nil {
						t.Fatal(err)
					}
					got, _ := pf.Lookup(MetaDecryption)
					f.Close()
					if got != tc.want {
						t.Errorf("%s: metadata %s = %q, want %q", table, MetaDecryption, got, tc.want)
					}
				}
				// Per device and per destination, as in the report.
				devs, err := pq.ReadFile[DeviceRow](filepath.Join(out, "devices", "x.parquet"))
				if err != nil {
					t.Fatal(err)
				}
				dests, err := pq.ReadFile[DestinationRow](filepath.Join(out, "destinations", "x.parquet"))
				if err != nil {
					t.Fatal(err)
				}
				var wantDev, wantDest, gotDev, gotDest []string
				sessions := 0
				for _, d := range rep.Devices {
					wantDev = append(wantDev, d.ID+" "+counts(d.Summary.Decryption))
					for _, x := range d.Destinations {
						wantDest = append(wantDest, d.ID+" "+x.IP+" "+counts(x.Decryption))
						sessions += x.Decryption.Sessions()
					}
				}
				// parquet-go's reader gives embedded optional columns
				// non-nil pointers to zero: nulls are read from the rows.
				devNull := nulls(t, filepath.Join(out, "devices", "x.parquet"), "summary_decryption_decrypted")
				for i, r := range devs {
					c := DecryptionCols{r.SummaryDecrypted, r.SummaryNoKey, r.SummaryFailed, r.SummaryStopped}
					if devNull[i] {
						c = DecryptionCols{}
					}
					gotDev = append(gotDev, r.ID+" "+colCounts(c))
				}
				destNull := nulls(t, filepath.Join(out, "destinations", "x.parquet"), "decryption_decrypted")
				for i, r := range dests {
					c := r.DecryptionCols
					if destNull[i] {
						c = DecryptionCols{}
					}
					gotDest = append(gotDest, r.Device+" "+r.IP+" "+colCounts(c))
				}
				if g, w := join(gotDev), join(wantDev); g != w {
					t.Errorf("devices:\n%s\nwant\n%s", g, w)
				}
				if g, w := join(gotDest), join(wantDest); g != w {
					t.Errorf("destinations:\n%s\nwant\n%s", g, w)
				}
				if tc.want != "" && sessions == 0 {
					t.Error("no destination counted a session")
				}
			})
		}
	}
}

// wrongSecrets changes the last hex digit of each key log line's secret.
func wrongSecrets(b []byte) []byte {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			d := "0"
			if strings.HasSuffix(f[2], "0") {
				d = "1"
			}
			f[2] = f[2][:len(f[2])-1] + d
			line = strings.Join(f, " ")
		}
		out = append(out, line)
	}
	return []byte(strings.Join(out, "\n"))
}

// nulls says for each row of the file at path whether column col is null.
func nulls(t *testing.T, path, col string) []bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := pq.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	leaf, ok := pf.Schema().Lookup(col)
	if !ok {
		t.Fatalf("%s: no column %s", path, col)
	}
	r := pq.NewReader(pf)
	defer r.Close()
	var out []bool
	rows := make([]pq.Row, 16)
	for {
		n, err := r.ReadRows(rows)
		for _, row := range rows[:n] {
			null := true
			for _, v := range row {
				if v.Column() == leaf.ColumnIndex {
					null = v.IsNull()
				}
			}
			out = append(out, null)
		}
		if err != nil {
			break
		}
	}
	return out
}

// counts is a Decryption as the tests compare it; "null" for nil.
func counts(d *audit.Decryption) string {
	if d == nil {
		return "null"
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// colCounts rebuilds the JSON object from the flattened columns.
func colCounts(c DecryptionCols) string {
	if c.Decrypted == nil && c.NoKey == nil && c.Failed == nil && c.Stopped == nil {
		return "null"
	}
	if c.Decrypted == nil || c.NoKey == nil || c.Failed == nil {
		return "partly null"
	}
	d := &audit.Decryption{Decrypted: int(*c.Decrypted), NoKey: int(*c.NoKey), Failed: int(*c.Failed)}
	for _, s := range c.Stopped {
		if d.Stopped == nil {
			d.Stopped = map[string]int{}
		}
		d.Stopped[s.Reason] = int(s.Sessions)
	}
	return counts(d)
}

func join(s []string) string {
	out := ""
	for _, x := range s {
		out += x + "\n"
	}
	return out
}
