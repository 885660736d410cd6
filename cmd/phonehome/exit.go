package main

import (
	"errors"
	"fmt"
)

// Exit codes, the same for every command (documented in README and docs/ci.md).
const (
	exitOK        = 0 // clean run
	exitViolation = 1 // check: a policy rule was violated
	exitUsage     = 2 // bad flags, unreadable config, not a capture
	exitPartial   = 3 // input damaged: results up to the damage were written
)

// exitError carries an exit code through urfave/cli without letting the
// library call os.Exit.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitUsage
}

// orCode gives err the exit code code unless it already carries one.
func orCode(code int, err error) error {
	var ee *exitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	return withCode(code, err)
}
