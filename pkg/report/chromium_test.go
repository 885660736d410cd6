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
	if n := strings.Count(s, "<svg"); n != 6 {
		t.Errorf("%d chart SVGs, want 6 (2 per device)", n)
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
