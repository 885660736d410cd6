package report

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"io"
	"strconv"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/escape"
)

//go:embed assets/report.html.tmpl assets/report.css assets/report.js
var assets embed.FS

// htmlPage is the view model of the HTML report's frame, a template in
// four parts ("top", "overview", "flows", "end"). Its tables, device
// sections and charts, which hold almost all of its bytes, are written
// between the parts by htmlw (htmlw.go) as they are made, a row or a
// device's heading at a time.
type htmlPage struct {
	CSP        string
	Title      string
	Meta       []string
	Incomplete bool
	CSS        template.CSS // trusted: embedded file, hashed into CSP
	JS         template.JS  // trusted: embedded file, hashed into CSP
	Matrix     leakMatrix
	Flowmap    flowmap
	DevNav     []htmlNav
	FlowCount  int
}

type htmlNav struct{ Anchor, Title string }

// writeHTML writes one self-contained page: embedded CSS and JS (allowed by
// their SHA-256 in a strict Content-Security-Policy), tables per device and
// server-side SVG charts. Captured strings are escaped as html/template
// escapes them (by html/template in the frame, by appendHTMLEscaped in
// the parts htmlw writes), after escape.Terminal has made control and
// bidi characters visible.
func writeHTML(w io.Writer, r *audit.Report, opt Options) error {
	tmplText, err := assets.ReadFile("assets/report.html.tmpl")
	if err != nil {
		return err
	}
	css, err := assets.ReadFile("assets/report.css")
	if err != nil {
		return err
	}
	js, err := assets.ReadFile("assets/report.js")
	if err != nil {
		return err
	}
	t, err := template.New("report").Parse(string(tmplText))
	if err != nil {
		return err
	}
	name := r.Tool.Name
	if name == "" {
		name = "phonehome"
	}
	p := htmlPage{
		CSP: "default-src 'none'; style-src " + cspHash(css) + "; script-src " + cspHash(js) +
			"; img-src 'none'; base-uri 'none'; form-action 'none'",
		Title:      name + " report",
		Incomplete: r.Incomplete,
		CSS:        template.CSS(css),
		JS:         template.JS(js),
		Matrix:     newLeakMatrix(r),
		Flowmap:    flowMap(r),
		FlowCount:  len(r.Flows),
	}
	for _, in := range r.Inputs {
		line := in.Path + " (" + in.Format + ", " + u64(in.Frames) + " frames"
		if !in.First.IsZero() {
			line += ", " + fmtTimeShort(in.First) + " – " + fmtTimeShort(in.Last)
		}
		p.Meta = append(p.Meta, escape.Terminal(line+")"))
	}
	if r.Tool.Version != "" {
		p.Meta = append(p.Meta, name+" "+r.Tool.Version+", schema "+r.SchemaVersion)
	}
	devs := deviceOrder(r)
	for i, d := range devs {
		title, _ := deviceHeading(d)
		p.DevNav = append(p.DevNav, htmlNav{Anchor: deviceAnchor(i), Title: escape.Terminal(title)})
	}
	h := &htmlw{w: w}
	part := func(name string) {
		if h.err == nil {
			h.err = t.ExecuteTemplate(w, name, p)
		}
	}
	part("top")
	h.grid(overviewGrid(r), "")
	part("overview")
	h.grid(deviceGrid(r), "")
	h.str("\n</section>")
	for i, d := range devs {
		if h.err != nil {
			break
		}
		h.device(d, deviceAnchor(i), opt)
	}
	h.str("\n<section id=\"capture\">\n<h2>Capture</h2>\n")
	h.grid(captureGrid(r), "")
	if len(r.Warnings) > 0 {
		h.str("\n")
		h.grid(warningGrid(r), "")
	}
	h.flush()
	part("flows")
	h.flows(r)
	part("end")
	return h.err
}

func deviceAnchor(i int) string { return "device-" + strconv.Itoa(i+1) }

// cspHash is the CSP source expression allowing exactly this inline body.
func cspHash(b []byte) string {
	sum := sha256.Sum256(b)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// sevClass maps a severity name to a CSS class suffix (never raw input).
func sevClass(s string) string {
	if v, err := audit.ParseSeverity(s); err == nil {
		return v.String()
	}
	return "none"
}
