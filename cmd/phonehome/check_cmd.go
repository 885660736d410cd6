package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/cireport"
	"github.com/phonehome/phonehome/pkg/escape"
	"github.com/phonehome/phonehome/pkg/lab"
	"github.com/phonehome/phonehome/pkg/policy"
	"github.com/phonehome/phonehome/pkg/report"
)

// deviceFlag is analyze's --device filter, shared by check and baseline.
func deviceFlag() cli.Flag {
	for _, f := range outputFlags() {
		if slices.Contains(f.Names(), "device") {
			return f
		}
	}
	return &cli.StringSliceFlag{Name: "device", Usage: "only this device (id, name or MAC); repeatable"}
}

func checkCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "policy", Aliases: []string{"p"}, Usage: "policy `FILE` (YAML, see docs/ci.md)"},
		&cli.StringFlag{Name: "baseline", Usage: "baseline `FILE` from `phonehome baseline`: new destinations, countries, vendors and leaks fail"},
		&cli.StringFlag{Name: "ignore", Usage: "suppression `FILE`: YAML entries with a reason and an expiry date"},
		&cli.StringFlag{Name: "fail-on", Usage: "also fail on any leak or finding of this `SEVERITY` or higher (info, low, medium, high, critical)"},
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "output format: " + strings.Join(cireport.Formats(), ", ")},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the result to `FILE` instead of standard output"},
		&cli.StringSliceFlag{Name: "also", Usage: "also write `FORMAT=FILE`, e.g. junit=report.xml or markdown=$GITHUB_STEP_SUMMARY; repeatable"},
		&cli.StringFlag{Name: "date", Usage: "judge suppression expiry at this `DATE` (YYYY-MM-DD or RFC 3339; default: now)"},
		&cli.BoolFlag{Name: "lint", Usage: "only load and lint the policy and ignore files; no capture needed"},
		deviceFlag(),
	}
	return &cli.Command{
		Name:      "check",
		Usage:     "CI gate: check captures against a policy, a baseline or a severity threshold",
		ArgsUsage: "CAPTURE...",
		Description: `Analyses the captures like analyze (it takes the same flags) and checks the
report against the policy rules (see docs/ci.md), the baseline and --fail-on.
Prints one line per violation and a PASS/FAIL summary, or CI formats: junit,
sarif, github (workflow annotations), markdown, json.

Examples:
   phonehome check --policy policy.yaml fw.pcap
   phonehome check --policy policy.yaml --baseline approved.json --ignore ignore.yaml \
       --format sarif -o phonehome.sarif --also junit=phonehome.xml fw.pcap
   phonehome check --fail-on high --format github fw.pcap

Exit codes: 0 no violation; 1 a violation that is not suppressed; 2 usage error,
invalid policy/baseline/ignore file or unreadable capture; 3 damaged capture
without violation (results cover only what was read); 4 the output could not be written (nothing left
under its name); 5 records lost or interrupted (the report is marked incomplete); 6 nothing
analysed: no device in the capture, or none matches --device (a pass on nothing is not a pass).`,
		Flags:  append(flags, analysisFlags()...),
		Action: runCheck,
	}
}

// output is one rendering of the result and where it goes.
type output struct {
	format, path string // path "" or "-": standard output
}

func parseOutputs(c *cli.Context) ([]output, error) {
	outs := []output{{format: c.String("format"), path: c.String("output")}}
	for _, a := range c.StringSlice("also") {
		f, p, ok := strings.Cut(a, "=")
		if !ok || p == "" {
			return nil, usageErr("--also %q: want FORMAT=FILE, e.g. junit=report.xml", a)
		}
		outs = append(outs, output{format: f, path: p})
	}
	for _, o := range outs {
		if !slices.Contains(cireport.Formats(), o.format) {
			return nil, usageErr("unknown format %q (want one of %s)", o.format, strings.Join(cireport.Formats(), ", "))
		}
	}
	return outs, nil
}

// checkInputs are the files that define the gate.
type checkInputs struct {
	policy   *policy.Policy
	baseline *policy.Baseline
	ignore   *policy.Ignore
	failOn   audit.Severity
	now      time.Time
	lint     []policy.Issue
}

func loadCheckInputs(c *cli.Context) (*checkInputs, error) {
	in := &checkInputs{now: time.Now().UTC()}
	var err error
	if p := c.String("policy"); p != "" {
		if in.policy, err = policy.Load(p); err != nil {
			return nil, withCode(exitUsage, err)
		}
		in.lint = policy.Lint(in.policy)
	}
	if p := c.String("baseline"); p != "" {
		if in.baseline, err = policy.LoadBaseline(p); err != nil {
			return nil, withCode(exitUsage, err)
		}
	}
	if p := c.String("ignore"); p != "" {
		if in.ignore, err = policy.LoadIgnore(p); err != nil {
			return nil, withCode(exitUsage, err)
		}
	}
	if s := c.String("fail-on"); s != "" {
		if in.failOn, err = audit.ParseSeverity(s); err != nil || in.failOn == audit.None {
			return nil, usageErr("--fail-on %q: want info, low, medium, high or critical", s)
		}
	}
	if s := c.String("date"); s != "" {
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, s); err != nil {
				return nil, usageErr("--date %q: want YYYY-MM-DD or an RFC 3339 time", s)
			}
		}
		in.now = t.UTC()
	}
	return in, nil
}

func runCheck(c *cli.Context) error {
	in, err := loadCheckInputs(c)
	if err != nil {
		return err
	}
	for _, is := range in.lint {
		fmt.Fprintln(c.App.ErrWriter, "phonehome: "+escape.Terminal(is.String()))
	}
	if c.Bool("lint") {
		return lintCheckInputs(c.App.Writer, c.App.ErrWriter, in)
	}
	if in.policy == nil && in.baseline == nil && in.failOn == audit.None {
		return usageErr("nothing to check: give --policy, --baseline or --fail-on (see --help)")
	}
	outs, err := parseOutputs(c)
	if err != nil {
		return err
	}
	for _, o := range outs {
		if err := checkOutputs(o.path); err != nil {
			return err
		}
	}
	rep, runErr := buildReport(c)
	if rep == nil {
		return runErr
	}
	all := rep.Devices
	if devs := c.StringSlice("device"); len(devs) > 0 {
		rep = report.Apply(rep, report.Filter{Devices: devs})
	}
	aliases, err := deviceAliases(c.String("devices"))
	if err != nil {
		return withCode(exitUsage, err)
	}
	res := policy.Evaluate(rep, in.policy, policy.Options{FailOn: in.failOn, Baseline: in.baseline,
		BaselineFile: c.String("baseline"), Ignore: in.ignore, Now: in.now, Aliases: aliases})
	for _, is := range in.lint {
		res.Warnings = append(res.Warnings, policy.Warning{Code: "policy-lint", Message: is.Msg, Pos: is.Pos})
	}
	var nothing error
	if len(rep.Devices) == 0 {
		nothing = nothingAnalysed(c.StringSlice("device"), all)
		res.Warnings = append(res.Warnings, policy.Warning{Code: "nothing-analysed", Message: nothing.Error()})
	}
	for _, o := range outs {
		if err := writeCheck(c.App.Writer, o, res); err != nil {
			return err
		}
	}
	if res.Failed() {
		return withCode(exitViolation, fmt.Errorf("check failed: %d violation(s)", res.Open()))
	}
	if nothing != nil {
		// Lost records or an unwritable output still win (exitCode).
		return errors.Join(withCode(exitNothing, nothing), runErr)
	}
	return runErr
}

// nothingAnalysed says why check judged no device: a pass on nothing is
// not a pass.
func nothingAnalysed(filter []string, all []audit.Device) error {
	msg := "nothing analysed: the capture holds no devices, so no rule could be checked"
	if len(filter) > 0 && len(all) > 0 {
		var ids []string
		for _, d := range all {
			ids = append(ids, d.ID)
		}
		more := ""
		if len(ids) > 10 {
			ids, more = ids[:10], fmt.Sprintf(" and %d more", len(all)-10)
		}
		msg = fmt.Sprintf("nothing analysed: no device matches --device %s (the capture's devices: %s%s)",
			strings.Join(filter, ", "), strings.Join(ids, ", "), more)
	}
	return errors.New(msg)
}

func writeCheck(stdout io.Writer, o output, res *policy.Result) error {
	return writeTo(o.path, stdout, func(w io.Writer) error { return cireport.Write(w, res, o.format) })
}

// deviceAliases maps the ids of a --devices file to their MACs, so that
// rule scopes may name lab devices by id.
func deviceAliases(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	lf, err := lab.Load(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, d := range lf.Devices {
		if d.ID == "" || d.MAC == "" {
			continue
		}
		mac := d.MAC
		if hw, err := net.ParseMAC(mac); err == nil {
			mac = hw.String()
		}
		m[strings.ToLower(d.ID)] = mac
	}
	return m, nil
}

// lintCheckInputs is check --lint: the policy's lint warnings (already
// printed by the caller), suppressions that have expired at --date, and a
// closing line that says what was checked.
func lintCheckInputs(stdout, stderr io.Writer, in *checkInputs) error {
	if in.policy == nil && in.ignore == nil {
		return usageErr("--lint needs --policy or --ignore")
	}
	warnings := len(in.lint)
	var parts []string
	if in.policy != nil {
		parts = append(parts, fmt.Sprintf("policy %s: %d rule(s)", in.policy.File, len(in.policy.Rules)))
	}
	if in.ignore != nil {
		expired := 0
		for i := range in.ignore.Entries {
			e := &in.ignore.Entries[i]
			if e.Expired(in.now) {
				expired++
				fmt.Fprintf(stderr, "phonehome: %s: warning: suppression expired on %s (reason was: %s); it no longer suppresses anything\n", e.Pos, escape.Terminal(e.ExpiresText), escape.Terminal(e.Reason))
			}
		}
		warnings += expired
		parts = append(parts, fmt.Sprintf("ignore %s: %d suppression(s), %d expired", in.ignore.File, len(in.ignore.Entries), expired))
	}
	verdict := "OK"
	if warnings > 0 {
		verdict = fmt.Sprintf("OK with %d warning(s)", warnings)
	}
	fmt.Fprintf(stdout, "%s: %s\n", verdict, strings.Join(parts, "; "))
	return nil
}
