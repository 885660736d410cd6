package main

import (
	"errors"
	"fmt"

	"github.com/phonehome/phonehome/pkg/audit"
	"github.com/phonehome/phonehome/pkg/engine"
)

// Exit codes, the same for every command, one meaning each (the table in
// README.md and docs/ci.md). exitCode is the only place that picks one.
const (
	exitOK         = 0 // done
	exitViolation  = 1 // check/diff: a policy rule was violated, or NEW has new things
	exitUsage      = 2 // bad flags, unreadable config or input, unwritable -o directory
	exitDamaged    = 3 // input damaged part-way: the report covers everything before the damage
	exitWrite      = 4 // the report could not be written (disk full, encoding failure)
	exitIncomplete = 5 // records were lost: the report is marked incomplete
	exitNothing    = 6 // check: no device analysed (empty capture, --device matching none)
)

// exitPartial is the old name of exitDamaged.
const exitPartial = exitDamaged

// The kinds of failure a command returns (wrapped in its error); exitCode
// maps each to its code.
var (
	errViolation  = errors.New("policy violated")
	errUsage      = errors.New("usage error")
	errDamaged    = errors.New("input damaged")
	errWrite      = errors.New("report not written")
	errIncomplete = errors.New("analysis incomplete")
	errNothing    = errors.New("nothing analysed")
)

// exitCode maps an error returned by a command to the process exit code.
// When an error has several kinds (errors.Join), the first case wins: a
// report that could not be written is worse than one with lost records,
// which is worse than damaged input; a violation found in a complete
// report is reported as such. check returns "nothing analysed" only without
// a violation.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errWrite):
		return exitWrite
	case errors.Is(err, errIncomplete), errors.Is(err, engine.ErrIncomplete):
		return exitIncomplete
	case errors.Is(err, errNothing):
		return exitNothing
	case errors.Is(err, errDamaged), errors.Is(err, engine.ErrDamaged):
		return exitDamaged
	case errors.Is(err, errViolation):
		return exitViolation
	default:
		return exitUsage // errUsage, and anything unclassified
	}
}

// runKind is the kind of failure of what engine.Run returned — the kind
// `phonehome analyze` exits with — or nil. The single run (runOutcome) and
// each capture of a per-file run (batchRun.one) both ask it, so a capture's
// exit_code in the index is the code analyze alone would exit with.
func runKind(rep *audit.Report, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, engine.ErrInput):
		return errUsage
	case rep == nil:
		return errIncomplete
	case errors.Is(err, engine.ErrIncomplete):
		return errIncomplete
	case errors.Is(err, engine.ErrDamaged):
		return errDamaged
	}
	return errIncomplete // interrupted (Ctrl-C, deadline): the report covers what was read
}

// worstCode is the exit code of several outcomes together, by exitCode's
// order (a report not written first).
func worstCode(codes ...int) int {
	var errs []error
	for _, c := range codes {
		if c != exitOK {
			errs = append(errs, withCode(c, errors.New("")))
		}
	}
	return exitCode(errors.Join(errs...))
}

// kinded is an error of one kind: its message is err's, and errors.Is sees
// both the kind and err's chain.
type kinded struct {
	kind, err error
}

func (e *kinded) Error() string   { return e.err.Error() }
func (e *kinded) Unwrap() []error { return []error{e.kind, e.err} }

// withKind marks err (nil stays nil) as a failure of that kind.
func withKind(kind, err error) error {
	if err == nil {
		return nil
	}
	return &kinded{kind: kind, err: err}
}

func usageErr(format string, a ...any) error {
	return withKind(errUsage, fmt.Errorf(format, a...))
}

// writeErr marks a failure to write the report.
func writeErr(err error) error { return withKind(errWrite, err) }

// kindOf is the kind for an exit code (used by withCode).
func kindOf(code int) error {
	switch code {
	case exitViolation:
		return errViolation
	case exitDamaged:
		return errDamaged
	case exitWrite:
		return errWrite
	case exitIncomplete:
		return errIncomplete
	case exitNothing:
		return errNothing
	default:
		return errUsage
	}
}

// withCode marks err with the kind that exits with code.
func withCode(code int, err error) error { return withKind(kindOf(code), err) }

// classified reports whether err already has a kind.
func classified(err error) bool {
	for _, k := range []error{errViolation, errUsage, errDamaged, errWrite, errIncomplete, errNothing, engine.ErrDamaged, engine.ErrIncomplete} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// orCode gives err the exit code code unless it already has a kind.
func orCode(code int, err error) error {
	if err == nil || classified(err) {
		return err
	}
	return withCode(code, err)
}
