// Command tollgate-bench is `make bench`: it measures Tollgate beside a floor server
// of its own on the same pinned cores, and prints the table of docs/performance.md.
//
// Usage:
//
//	tollgate-bench run -tollgate BIN [flags]   generate fixtures, measure, print the table
//	tollgate-bench gen -out DIR [flags]         only generate the fixtures
//	tollgate-bench floor -mode allow|jwt [-addr A] [-config floor.json]
//	                                            serve the floor (run starts it itself)
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"

	"github.com/tollgate/tollgate/bench/fixture"
	"github.com/tollgate/tollgate/bench/floor"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("tollgate-bench: ")
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "run":
		err = runCmd(args)
	case "gen":
		err = genCmd(args)
	case "floor":
		err = floorCmd(args)
	default:
		usage()
	}
	if err != nil {
		log.Fatal(err)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: tollgate-bench run|gen|floor [flags]  (-h for each)")
	os.Exit(2)
}

func genCmd(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	out := fs.String("out", "bench/out/fixtures", "output `dir`")
	policies := fs.String("policies", "policies", "the shipped policy's `dir`, named by the Tollgate configurations")
	distinct := fs.Int("distinct", 200, "distinct valid tokens for the never-seen case")
	_ = fs.Parse(args)
	set, err := fixture.Generate(fixture.Options{Dir: *out, Policies: *policies, Distinct: *distinct})
	if err != nil {
		return err
	}
	fmt.Printf("wrote fixtures to %s (scale data: %+v)\n", set.Dir, set.ScaleCounts)
	return nil
}

func floorCmd(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	mode := fs.String("mode", "allow", "allow: allow everything; jwt: verify the RS256 token and the route's scopes")
	addr := fs.String("addr", "127.0.0.1:19292", "listen `address`")
	cfgPath := fs.String("config", "bench/out/fixtures/floor.json", "jwt mode: the floor `configuration`")
	_ = fs.Parse(args)
	var srv authv3.AuthorizationServer
	switch *mode {
	case "allow":
		srv = floor.Allow{}
	case "jwt":
		cfg, err := floor.LoadConfig(*cfgPath)
		if err != nil {
			return err
		}
		if srv, err = floor.NewJWT(cfg); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown -mode %q", *mode)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	gs := grpc.NewServer()
	authv3.RegisterAuthorizationServer(gs, srv)
	log.Printf("floor mode=%s listening on %s", *mode, ln.Addr())
	err = gs.Serve(ln)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}
