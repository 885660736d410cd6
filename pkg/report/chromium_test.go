package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestHTMLCSPHashes checks that the inline style and script are exactly
// the bodies whose hashes the Content-Security-Policy allows.
func TestHTMLCSPHashes(t *testing.T) {
	out := string(render(t, hostileFixture(), Options{Format: "html"}))
	csp := regexp.MustCompile(`Content-Security-Policy" content="([^"]*)"`).FindStringSubmatch(out)
	if csp == nil {
		t.Fatal("no CSP meta tag")
	}
	policy := strings.ReplaceAll(strings.ReplaceAll(csp[1], "&#39;", "'"), "&#43;", "+")
	for _, tag := range []string{"style", "script"} {
		body := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllStringSubmatch(out, -1)
		if len(body) != 1 {
			t.Fatalf("%d <%s> elements, want 1", len(body), tag)
		}
		sum := sha256.Sum256([]byte(body[0][1]))
		want := tag + "-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !strings.Contains(policy, want) {
			t.Errorf("policy %q lacks %q", policy, want)
		}
	}
	if !strings.Contains(policy, "default-src 'none'") {
		t.Errorf("policy %q is not default-deny", policy)
	}
}

// chromium returns the headless browser, or skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("PHONEHOME_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("chromium not found (/usr/bin/chromium from Debian's chromium package; or set PHONEHOME_CHROMIUM): skipping the browser test")
	return ""
}

func runChromium(t *testing.T, bin string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.Bytes())
	}
	return out.Bytes(), errb.Bytes()
}

// TestHTMLInChromium renders the hostile report in headless Chromium: the
// tables and charts must be there, our script must have run (it sorts and
// adds filter boxes) and the captured <script> Host header must not have.
// Set PHONEHOME_SCREENSHOT=path to keep a screenshot.
func TestHTMLInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	bin := chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, render(t, hostileFixture(), Options{Format: "html"}), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page
	dom, logs := runChromium(t, bin, "--dump-dom", url)
	s := string(dom)
	if !strings.Contains(s, "<title>phonehome report</title>") || strings.Contains(s, "pwned</title>") {
		t.Errorf("document title changed: the captured script ran")
	}
	if !strings.Contains(s, "&lt;script&gt;document.title='pwned'&lt;/script&gt;") {
		t.Errorf("hostile Host header is not shown as text")
	}
	if !strings.Contains(s, `class="js"`) || !strings.Contains(s, `class="filter"`) || !strings.Contains(s, `class="num sortable"`) {
		t.Errorf("the report's own script did not run (CSP hash mismatch?)")
	}
	for _, id := range []string{"device-1-destinations-table", "device-1-leaks-table", "device-2-findings-table", "device-1-summary-table", "devices-table"} {
		if !strings.Contains(s, `id="`+id+`"`) {
			t.Errorf("table %s missing", id)
		}
	}
	if n := strings.Count(s, `<figure class="chart"`); n != 6 {
		t.Errorf("%d chart figures, want 6 (2 per device)", n)
	}
	for _, id := range []string{"overview-table", "matrix", "flowmap"} {
		if !strings.Contains(s, `id="`+id+`"`) {
			t.Errorf("overview part %s missing", id)
		}
	}
	if n := strings.Count(s, "<rect"); n < 20 {
		t.Errorf("only %d bars drawn", n)
	}
	if bytes.Contains(logs, []byte("Content Security Policy")) {
		t.Errorf("CSP violations logged:\n%s", logs)
	}
	shot := os.Getenv("PHONEHOME_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(dir, "shot.png")
	}
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1400,2400", url)
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 10000 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot is not a real PNG (%d bytes)", len(png))
	}
}

// TestHTMLPrintsWithoutClipping prints the report to PDF in headless
// Chromium and reads the text back (pdftotext): host names must come out
// whole, not broken per character, and the last column of the widest table
// must be on the page. Set PHONEHOME_PDF=path to keep the PDF and look at
// it (pdftoppm -png).
func TestHTMLPrintsWithoutClipping(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	bin := chromium(t)
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext not found (Debian's poppler-utils): skipping the print test")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, render(t, fixture(), Options{Format: "html"}), 0o644); err != nil {
		t.Fatal(err)
	}
	pdf := os.Getenv("PHONEHOME_PDF")
	if pdf == "" {
		pdf = filepath.Join(dir, "report.pdf")
	}
	runChromium(t, bin, "--no-pdf-header-footer", "--print-to-pdf="+pdf, "file://"+page)
	out, err := exec.Command(pdftotext, "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, host := range []string{"firebaselogging-pa.googleapis.com", "log.ipcam-cloud.cn", "graph.facebook.com"} {
		if !strings.Contains(text, host) {
			t.Errorf("%s is not whole in the printed report (broken across lines or clipped)", host)
		}
	}
	// The flows table is not printed (closed details); the leaks table's
	// last column is Frame, the destinations table's First seen.
	for _, col := range []string{"First seen", "Frame", "Sent to Internet"} {
		if !strings.Contains(text, col) {
			t.Errorf("column %q is missing from the printed report (clipped?)", col)
		}
	}
}
