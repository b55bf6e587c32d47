package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/envoyconf"
)

// runEnvoy runs `tollgate envoy validate`: it checks Envoy bootstraps and Istio
// manifests and prints one line per finding, then "FILE: ok" for each file without an
// error. It exits 1 when a file has an error.
func runEnvoy(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprintln(stderr, "Usage: tollgate envoy validate [--tollgate-config FILE] FILE|DIR...")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return exitOK
		}
		return exitUsage
	}
	fs := flag.NewFlagSet("envoy validate", flag.ContinueOnError)
	tollgateConfig := fs.String("tollgate-config", "", "Tollgate's configuration `file`: ext_authz must reach its grpc.address port")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: tollgate envoy validate [--tollgate-config FILE] FILE|DIR...")
		fs.PrintDefaults()
	}
	paths, code, ok := parseAtLeastOne(fs, args[1:], stderr)
	if !ok {
		return code
	}
	var opts envoyconf.Options
	if *tollgateConfig != "" {
		cfg, err := config.Load(*tollgateConfig)
		if err != nil {
			fmt.Fprintln(stderr, "tollgate envoy validate:", err)
			return exitUsage
		}
		opts.TollgateConfig = cfg
	}
	reports, err := envoyconf.ValidateFiles(paths, opts)
	if err != nil {
		fmt.Fprintln(stderr, "tollgate envoy validate:", err)
		return exitUsage
	}
	return printReports(reports, stdout)
}

// parseAtLeastOne parses flags that may come before or after one or more positional
// arguments.
func parseAtLeastOne(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, int, bool) {
	positional, code, ok := parsePositional(fs, args, stderr)
	if !ok {
		return nil, code, false
	}
	if len(positional) == 0 {
		fmt.Fprintf(stderr, "tollgate %s: name at least one file or directory; see -h\n", fs.Name())
		return nil, exitUsage, false
	}
	return positional, 0, true
}

func printReports(reports []envoyconf.Report, stdout io.Writer) int {
	code := exitOK
	for _, r := range reports {
		for _, f := range r.Findings {
			fmt.Fprintln(stdout, f)
		}
		if r.OK() {
			fmt.Fprintf(stdout, "%s: ok\n", r.File)
		} else {
			code = exitDenied
		}
	}
	return code
}
