package envoyconf

import (
	"fmt"
	"strings"
)

// Severity ranks a Finding.
type Severity int

// Severities, from the one that fails a validation to the one that only informs.
const (
	// Error is a problem that makes the proxy reject the file, or lets requests past
	// Tollgate unchecked.
	Error Severity = iota
	// Warning is a likely mistake that does not open a way around Tollgate by itself.
	Warning
	// Note says what could not be checked, and why.
	Note
)

// String returns the label a Finding of this severity is printed with.
func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Note:
		return "note"
	}
	return "error"
}

// Finding is one thing a validation has to say about a file.
type Finding struct {
	// File is the file the finding is about, as it was named to the validator.
	File string
	// Path locates the finding in the file, in the file's own keys, such as
	// static_resources.listeners[0].filter_chains[0]; empty for the whole file.
	Path     string
	Severity Severity
	Message  string
}

// String formats the finding as one line: "FILE: PATH: message", with "warning: " or
// "note: " before the message of a finding that is not an error.
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.File)
	b.WriteString(": ")
	if f.Path != "" {
		b.WriteString(f.Path)
		b.WriteString(": ")
	}
	if f.Severity != Error {
		b.WriteString(f.Severity.String())
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// report collects the findings about one file.
type report struct {
	file     string
	findings []Finding
}

func (r *report) add(s Severity, path, format string, args ...any) {
	r.findings = append(r.findings, Finding{File: r.file, Path: path, Severity: s, Message: fmt.Sprintf(format, args...)})
}

func (r *report) errorf(path, format string, args ...any) { r.add(Error, path, format, args...) }
func (r *report) warnf(path, format string, args ...any)  { r.add(Warning, path, format, args...) }
func (r *report) notef(path, format string, args ...any)  { r.add(Note, path, format, args...) }

// field, index and key extend a path by a field name, a list index or a map key.
func field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func key(path, k string) string { return fmt.Sprintf("%s[%q]", path, k) }
