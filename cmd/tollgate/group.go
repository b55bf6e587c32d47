package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// subcommand is one verb of a command group that calls the admin API, such as
// `app create`. A group may nest (`app keys generate`).
type subcommand struct {
	name    string
	args    []string // positional arguments, by name, for the usage line
	summary string
	flags   func(*flag.FlagSet) // registers the verb's own flags; may be nil
	run     func(ctx context.Context, c *adminClient, args []string, p *printer) error
	group   []subcommand // a nested group instead of run
}

// runGroup dispatches args to the verbs of the group named name.
func runGroup(name string, verbs []subcommand, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		groupUsage(stderr, name, verbs)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, v := range verbs {
		if v.name != args[0] {
			continue
		}
		if v.group != nil {
			return runGroup(name+" "+v.name, v.group, args[1:], stdout, stderr)
		}
		return runVerb(name+" "+v.name, v, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "tollgate %s: unknown verb %q\n\n", name, args[0])
	groupUsage(stderr, name, verbs)
	return exitUsage
}

func groupUsage(w io.Writer, name string, verbs []subcommand) {
	fmt.Fprintf(w, "Usage: tollgate %s VERB [flags]\n\nVerbs:\n", name)
	for _, v := range verbs {
		fmt.Fprintf(w, "  %-18s %s\n", strings.TrimSpace(v.name+" "+strings.Join(v.args, " ")), v.summary)
	}
}

// runVerb parses a verb's flags (they may come before or after its arguments) and runs
// it against the admin API.
func runVerb(name string, v subcommand, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var af adminFlags
	af.register(fs)
	if v.flags != nil {
		v.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tollgate %s %s [flags]\n", name, strings.Join(v.args, " "))
		fs.PrintDefaults()
	}
	positional, code, ok := parseInterspersed(fs, args, stderr, len(v.args))
	if !ok {
		return code
	}
	c, err := af.client()
	if err != nil {
		return exitFor(err, name, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), af.timeout)
	defer cancel()
	return exitFor(v.run(ctx, c, positional, &printer{w: stdout, output: af.output}), name, stderr)
}

// parseInterspersed parses flags wherever they are among exactly n positional
// arguments, as `tollgate app bind shop-web --issuer asgardeo` reads best.
func parseInterspersed(fs *flag.FlagSet, args []string, stderr io.Writer, n int) ([]string, int, bool) {
	positional, code, ok := parsePositional(fs, args, stderr)
	if !ok {
		return nil, code, false
	}
	if len(positional) != n {
		fmt.Fprintf(stderr, "tollgate %s: expected %d argument(s), got %d; see -h\n", fs.Name(), n, len(positional))
		return nil, exitUsage, false
	}
	return positional, 0, true
}

// parsePositional parses flags wherever they are among the positional arguments, and
// returns those.
func parsePositional(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, int, bool) {
	fs.SetOutput(stderr)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		if fs.NArg() == 0 {
			return positional, 0, true
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// printer writes a command's result as a table, as JSON, or as shell assignments.
type printer struct {
	w      io.Writer
	output string // table, json or env
}

// print writes v as indented JSON, as NAME='value' lines of its string fields (for
// eval), or as the table rows makes of it.
func (p *printer) print(v any, header []string, rows func() [][]string) error {
	switch p.output {
	case "json":
		enc := json.NewEncoder(p.w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "env":
		return printEnv(p.w, v)
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows() {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// printEnv writes the string fields of the JSON object v as shell assignments.
func printEnv(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return errors.New("-o env needs a single object; use -o json")
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if s, ok := fields[k].(string); ok {
			fmt.Fprintf(w, "%s='%s'\n", strings.ToUpper(k), strings.ReplaceAll(s, "'", `'\''`))
		}
	}
	return nil
}

// done writes a one-line confirmation, or {} in JSON.
func (p *printer) done(format string, args ...any) error {
	if p.output == "json" {
		_, err := fmt.Fprintln(p.w, "{}")
		return err
	}
	_, err := fmt.Fprintf(p.w, format+"\n", args...)
	return err
}
