package main

import (
	"fmt"
	"os"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/keylog"
)

// loadKeyLogs reads the --keylog files into one key log. A file that cannot
// be read is a usage error; a line that cannot be used is a warning naming
// the file and line number and why, never the line (it may hold a secret).
func loadKeyLogs(paths []string) (*keylog.Log, []audit.Warning, error) {
	if len(paths) == 0 {
		return nil, nil, nil
	}
	keys := keylog.New()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, nil, usageErr("--keylog: %v", err)
		}
		err = keys.Read(f, p)
		f.Close()
		if err != nil {
			return nil, nil, usageErr("--keylog %s: %v", p, err)
		}
	}
	st := keys.Stats()
	var warns []audit.Warning
	for _, b := range st.BadLines {
		warns = append(warns, audit.Warning{Code: "keylog-bad-line", File: b.Source,
			Message: fmt.Sprintf("%s:%d: key log line not used: %s", b.Source, b.Line, b.Reason)})
	}
	if more := st.Bad - len(st.BadLines); more > 0 {
		warns = append(warns, audit.Warning{Code: "keylog-bad-line", Count: uint64(more),
			Message: fmt.Sprintf("%d more key log lines not used", more)})
	}
	if st.Entries == 0 {
		warns = append(warns, audit.Warning{Code: "keylog-empty",
			Message: fmt.Sprintf("the key logs given with --keylog hold no usable secret (%d lines read)", st.Lines)})
	}
	return keys, warns, nil
}
