package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonehome/phonehome/internal/corpus"
)

// TestKeylogFlag: a bad key log line is a warning with its file and line
// number and never its content; a missing key log is a usage error.
func TestKeylogFlag(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("ab", 48)
	keys := filepath.Join(dir, "keys.log")
	content := "# comment\r\n" +
		"CLIENT_RANDOM " + strings.Repeat("01", 32) + " " + secret + "\r\n" +
		"CLIENT_RANDOM " + strings.Repeat("02", 31) + " " + secret + "\n" + // client random too short
		"CLIENT_RANDOM " + strings.Repeat("03", 32) + " " + secret[:90] + "zz\n" // not hex
	if err := os.WriteFile(keys, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCLI(t, "analyze", "--keylog", keys, "-f", "json", "fixtures/demo.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{keys + ":3: key log line not used: client random is 62 hex digits", keys + ":4: key log line not used: secret is not hex"} {
		if !strings.Contains(out, want) {
			t.Errorf("report does not warn %q", want)
		}
	}
	if strings.Contains(out+errs, secret[:32]) || strings.Contains(out+errs, strings.Repeat("02", 31)) {
		t.Error("a key log line's content is in the output")
	}
	_, errs, code = runCLI(t, "analyze", "--keylog", filepath.Join(dir, "nope.log"), "fixtures/demo.pcap")
	if code != exitUsage || !strings.Contains(errs, "--keylog") {
		t.Errorf("missing key log: exit %d, stderr %q", code, errs)
	}
}

// TestSecretsNeverInOutput decrypts real captures (the corpus's browser
// TLS 1.2 with --keylog and with the keys embedded in a pcapng; TLS 1.3
// with HTTP/2, TLS 1.2 CBC and HTTP/3 captures of real stacks) and writes
// every output format, every table, with --show-evidence: no secret of the
// key logs appears in any of them, in hex of either case or raw.
func TestSecretsNeverInOutput(t *testing.T) {
	root, _ := filepath.Abs("../..")
	type input struct {
		capture string
		keylog  bool   // give the key log with --keylog (else it is in the pcapng)
		secrets string // the key log
	}
	var inputs []input
	for _, n := range []string{"tlsdecrypt/testdata/tls13-h2", "tlsdecrypt/testdata/tls12-cbc-sha-etm", "quicdecrypt/testdata/quic-v1-h3"} {
		base := filepath.Join(root, "pkg", n)
		inputs = append(inputs, input{base + ".pcap", true, base + ".keys"})
	}
	if dir := corpus.Dir(); dir != "" {
		base := filepath.Join(dir, "decrypt", "tls-1.2-stream-keylog")
		inputs = append(inputs, input{base + ".pcap", true, base + ".keys"})
		if _, err := exec.LookPath("editcap"); err == nil {
			dsb := filepath.Join(t.TempDir(), "dsb.pcapng")
			if out, err := exec.Command("editcap", "--inject-secrets", "tls,"+base+".keys", base+".pcap", dsb).CombinedOutput(); err != nil {
				t.Fatalf("editcap: %v %s", err, out)
			}
			inputs = append(inputs, input{dsb, false, base + ".keys"})
		}
	} else {
		t.Log("shared corpus not found: its captures are skipped")
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in.capture), func(t *testing.T) {
			b, err := os.ReadFile(in.secrets)
			if err != nil {
				t.Fatal(err)
			}
			var secrets [][]byte
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) == 3 && !strings.HasPrefix(f[0], "#") {
					raw, _ := hex.DecodeString(f[2])
					secrets = append(secrets, []byte(strings.ToLower(f[2])), []byte(strings.ToUpper(f[2])), raw)
				}
			}
			if len(secrets) == 0 {
				t.Fatal("no secrets")
			}
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "csv"), 0o755); err != nil {
				t.Fatal(err)
			}
			opts := []string{"--show-evidence"}
			if in.keylog {
				opts = append(opts, "--keylog", in.secrets)
			}
			var tables []string
			for _, tb := range []string{"overview", "devices", "destinations", "leaks", "findings", "summary", "flows"} {
				tables = append(tables, "--table", tb)
			}
			var runs [][]string
			for _, f := range []string{"table", "markdown", "html"} {
				runs = append(runs, append([]string{"-f", f, "-o", filepath.Join(dir, "out."+f)}, tables...))
			}
			runs = append(runs, []string{"-f", "json", "-o", filepath.Join(dir, "out.json")},
				[]string{"-f", "ndjson", "-o", filepath.Join(dir, "out.ndjson")},
				[]string{"-f", "csv", "-o", filepath.Join(dir, "csv"), "--table", "devices", "--table", "destinations", "--table", "leaks", "--table", "findings", "--table", "flows"},
				[]string{"-f", "parquet", "-o", filepath.Join(dir, "parquet")})
			for _, r := range runs {
				args := append(append(append([]string{"analyze"}, r...), opts...), in.capture)
				out, errs, code := runCLI(t, args...)
				if code != 0 {
					t.Fatalf("%v: exit %d: %s", r, code, errs)
				}
				for _, s := range secrets {
					if bytes.Contains([]byte(out+errs), s) {
						t.Errorf("%v: a secret is on stdout or stderr", r)
					}
				}
			}
			decrypted := false
			err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
				if err != nil || fi.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				for _, s := range secrets {
					if bytes.Contains(b, s) {
						t.Errorf("%s holds a secret", p)
					}
				}
				decrypted = decrypted || bytes.Contains(b, []byte("(decrypted)"))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !decrypted {
				t.Error("no output says (decrypted): the test proves nothing")
			}
		})
	}
}
