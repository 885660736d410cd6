package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
)

// writeOutput runs write on the --output file or, without one or with
// "-", on standard output (see writeTo).
func writeOutput(c *cli.Context, write func(io.Writer) error) error {
	return writeTo(c.String("output"), c.App.Writer, write)
}

// writeTo runs write on the file path or, when path is "" or "-", on
// stdout. A file is written to a temporary file in the same directory and
// renamed to path only when everything was written and closed, so path
// never holds a partial report (an existing file is replaced whole or left
// alone). Errors are of kind errWrite, except write's own errors that
// already have a kind (a bad --table is a usage error) and a temporary
// file that cannot be created (errUsage: the directory is not writable).
func writeTo(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return orWrite(write(stdout))
	}
	target, inPlace, err := outputTarget(path)
	if err != nil {
		return withKind(errUsage, err)
	}
	if inPlace {
		return writeInPlace(path, write)
	}
	path = target
	f, err := createTempBeside(path)
	if err != nil {
		return withKind(errUsage, err)
	}
	tmp := f.Name()
	if st, err := os.Stat(path); err == nil {
		f.Chmod(st.Mode().Perm()) // a replaced report keeps its mode
	}
	err = write(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: %w", path, cerr)
	}
	if err == nil {
		if err = os.Rename(tmp, path); err != nil {
			err = fmt.Errorf("%s: %w", path, err)
		}
	}
	if err != nil {
		os.Remove(tmp)
		return orWrite(err)
	}
	return nil
}

// outputTarget is the file a report for path is renamed to: path itself,
// or the file a symbolic link points to (the link stays). An existing
// path that is not a regular file (/dev/null, a named pipe, a terminal)
// is written in place: renaming over it would replace the device.
func outputTarget(path string) (target string, inPlace bool, err error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return "", false, fmt.Errorf("%s: is a directory", path)
	case err == nil && !st.Mode().IsRegular():
		return path, true, nil
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real, false, nil
	}
	return path, false, nil
}

// writeInPlace writes to an existing file that is not a regular one.
func writeInPlace(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return withKind(errUsage, err)
	}
	err = write(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: %w", path, cerr)
	}
	return orWrite(err)
}

// orWrite gives err the kind errWrite unless it has a kind already.
func orWrite(err error) error {
	if err == nil || classified(err) {
		return err
	}
	return writeErr(err)
}

// createTempBeside creates the temporary file for path, in its directory,
// readable as a report written with os.Create would be (0644).
func createTempBeside(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot write %s: %v", path, err)
	}
	f.Chmod(0o644)
	return f, nil
}

// checkOutputs fails at once, before any analysis, when an output file
// could not be written: its directory is missing or not writable, or the
// path is a directory. The names are the --output value and any others.
func checkOutputs(paths ...string) error {
	for _, p := range paths {
		if p == "" || p == "-" {
			continue
		}
		target, inPlace, err := outputTarget(p)
		if err != nil {
			return withKind(errUsage, err)
		}
		if inPlace {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return withKind(errUsage, err)
			}
			f.Close()
			continue
		}
		f, err := createTempBeside(target)
		if err != nil {
			return withKind(errUsage, err)
		}
		f.Close()
		os.Remove(f.Name())
	}
	return nil
}
