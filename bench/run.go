package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/tollgate/tollgate/bench/fixture"
)

// runner holds the settings of one `tollgate-bench run` and what it measured.
type runner struct {
	tollgateBin, self string // binaries
	out, logs         string
	set               *fixture.Set
	cpu               string // the servers' CPU
	load              load
	warmup            time.Duration
	duration          time.Duration // of each throughput phase
	latency           time.Duration // of each one-at-a-time phase
	checks            int64         // before the memory reading
	reloads, starts   int

	rows  []*row
	scale scaleResult
}

// row is one case measured on one server.
type row struct {
	kase, server string
	floor        *row // what a Tollgate row is compared with; nil for a floor row
	h2           h2result
	lat          latencies
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	r := &runner{}
	fs.StringVar(&r.tollgateBin, "tollgate", "bench/bin/tollgate", "the Tollgate `binary` to measure")
	fs.StringVar(&r.out, "out", "bench/out", "`dir` for fixtures, server logs and results.md")
	policies := fs.String("policies", "policies", "the policy `dir` Tollgate serves")
	fs.StringVar(&r.cpu, "server-cpu", "1", "the `CPU` the servers are pinned to (taskset -c)")
	fs.StringVar(&r.load.cpu, "client-cpu", "0", "the `CPU` h2load is pinned to; pin this program there too")
	fs.IntVar(&r.load.conns, "conns", 2, "h2load connections")
	fs.IntVar(&r.load.streams, "streams", 25, "h2load concurrent streams per connection")
	fs.DurationVar(&r.warmup, "warmup", 2*time.Second, "h2load warm-up before each throughput phase")
	fs.DurationVar(&r.duration, "duration", 10*time.Second, "each throughput phase (h2load; whole seconds)")
	fs.DurationVar(&r.latency, "latency", 5*time.Second, "each one-request-at-a-time latency phase")
	fs.Int64Var(&r.checks, "checks", 1_000_000, "checks the scale server answers before its memory is read")
	fs.IntVar(&r.reloads, "reloads", 5, "reloads (SIGHUP) of the scale data")
	fs.IntVar(&r.starts, "starts", 3, "starts of Tollgate with the scale data, to time startup")
	_ = fs.Parse(args)

	for _, tool := range []string{"h2load", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed (make bench installs h2load with apt-get install nghttp2-client): %w", tool, err)
		}
	}
	var err error
	if r.self, err = os.Executable(); err != nil {
		return err
	}
	if r.tollgateBin, err = filepath.Abs(r.tollgateBin); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(r.out, "fixtures")); err != nil {
		return err
	}
	r.logs = filepath.Join(r.out, "logs")
	if err := os.MkdirAll(r.logs, 0o755); err != nil {
		return err
	}
	if allowed := cpusAllowed(); allowed != r.load.cpu {
		log.Printf("warning: this program may run on CPUs %s, not only on %s with h2load: run it under taskset -c %s", allowed, r.load.cpu, r.load.cpu)
	}
	log.Printf("generating fixtures in %s", filepath.Join(r.out, "fixtures"))
	r.set, err = fixture.Generate(fixture.Options{Dir: filepath.Join(r.out, "fixtures"), Policies: *policies})
	if err != nil {
		return err
	}

	start := time.Now()
	if err := r.measureAll(); err != nil {
		return err
	}
	report := r.report(time.Since(start))
	fmt.Print(report)
	return os.WriteFile(filepath.Join(r.out, "results.md"), []byte(report), 0o644)
}

// Case names of the table, in its order.
const (
	caseCached    = "allow, cached token"
	caseDenyScope = "deny insufficient_scope, cached token"
	caseNeverSeen = "allow, token never seen"
	caseBadSig    = "deny bad signature"
	caseScale     = "allow, cached token, scale data"
)

var caseOrder = []string{caseCached, caseDenyScope, caseNeverSeen, caseBadSig, caseScale}

// measureAll runs every phase, one server at a time, floors and Tollgate interleaved
// so that a change in the machine's load shows in both.
func (r *runner) measureAll() error {
	set := r.set
	one := func(c fixture.Case) []*authv3.CheckRequest { return []*authv3.CheckRequest{request(c)} }
	var distinct []*authv3.CheckRequest
	for _, tok := range set.Distinct {
		distinct = append(distinct, fixture.CheckRequest(set.Allow.Method, set.Allow.Path, tok))
	}

	var fa, cached, tgBadSig, fj, fjBadSig *row
	err := r.with(r.floor("allow"), func(s *server) (err error) {
		fa, err = r.measure(s, caseCached, nil, set.Allow, one(set.Allow), fixture.Want{})
		return err
	})
	if err != nil {
		return err
	}
	err = r.with(r.tollgate("tollgate", set.SmallConfig), func(s *server) (err error) {
		r.scale.smallStartup = s.ready
		if cached, err = r.measure(s, caseCached, fa, set.Allow, one(set.Allow), set.Allow.Tollgate); err != nil {
			return err
		}
		if _, err = r.measure(s, caseDenyScope, fa, set.DenyScope, one(set.DenyScope), set.DenyScope.Tollgate); err != nil {
			return err
		}
		tgBadSig, err = r.measure(s, caseBadSig, nil, set.BadSignature, one(set.BadSignature), set.BadSignature.Tollgate)
		return err
	})
	if err != nil {
		return err
	}
	err = r.with(r.floor("jwt"), func(s *server) (err error) {
		// The floor has no cache: every check verifies, whichever token it carries.
		if fj, err = r.measure(s, caseNeverSeen, nil, set.Allow, distinct, set.Allow.FloorJWT); err != nil {
			return err
		}
		fjBadSig, err = r.measure(s, caseBadSig, nil, set.BadSignature, one(set.BadSignature), set.BadSignature.FloorJWT)
		return err
	})
	if err != nil {
		return err
	}
	tgBadSig.floor = fjBadSig
	// h2load sends one body, so the throughput phase repeats one token with the cache
	// off; the one-at-a-time client sends distinct tokens.
	err = r.with(r.tollgate("tollgate, token_cache.size 0", set.NoCacheConfig), func(s *server) (err error) {
		_, err = r.measure(s, caseNeverSeen, fj, set.Allow, distinct, set.Allow.Tollgate)
		return err
	})
	if err != nil {
		return err
	}
	return r.measureScale(fa, cached)
}

// with runs f with a started server, and stops the server after.
func (r *runner) with(start func() (*server, error), f func(*server) error) error {
	s, err := start()
	if err != nil {
		return err
	}
	defer s.stop()
	return f(s)
}

// measure runs one case on s: a check of the answer, an h2load warm-up, the
// throughput phase, and the one-at-a-time phase with reqs.
func (r *runner) measure(s *server, kase string, floor *row, c fixture.Case, reqs []*authv3.CheckRequest, want fixture.Want) (*row, error) {
	ctx := context.Background()
	resp, err := s.client.Check(ctx, request(c))
	if bad := answerError(resp, err, want); bad != "" {
		return nil, fmt.Errorf("%s, %s: payload %s: %s", s.name, kase, c.Payload, bad)
	}
	if _, err := r.load.run(s, c.Payload, r.warmup, 0); err != nil {
		return nil, fmt.Errorf("%s, %s: warm-up: %w", s.name, kase, err)
	}
	h2, err := r.load.run(s, c.Payload, r.duration, 0)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", s.name, kase, err)
	}
	samples, bad := serial(ctx, s, reqs, want, r.latency)
	if bad != "" {
		return nil, fmt.Errorf("%s, %s: one-at-a-time client: %s", s.name, kase, bad)
	}
	rw := &row{kase: kase, server: s.name, floor: floor, h2: h2, lat: summarize(samples)}
	r.rows = append(r.rows, rw)
	log.Printf("%-28s %-38s %6.0f checks/s, %.2f cores, %5.1f µs CPU/check; p50 %.0f µs, p99 %.0f µs",
		s.name, kase, h2.rps, h2.cores(), micros(h2.cpuPerCheck()), micros(rw.lat.p50), micros(rw.lat.p99))
	return rw, nil
}

// floor returns a function that starts the floor server in mode.
func (r *runner) floor(mode string) func() (*server, error) {
	return func() (*server, error) { return r.startFloor(mode) }
}

func (r *runner) startFloor(mode string) (*server, error) {
	return start("floor-"+mode, r.cpu, r.set.Floor, "", filepath.Join(r.logs, "floor-"+mode+".log"),
		r.self, "floor", "-mode", mode, "-addr", r.set.Floor, "-config", r.set.FloorConfig)
}

// tollgate returns a function that starts Tollgate with config.
func (r *runner) tollgate(name, config string) func() (*server, error) {
	return func() (*server, error) { return r.startTollgate(name, config) }
}

func (r *runner) startTollgate(name, config string) (*server, error) {
	logName := filepath.Base(config[:len(config)-len(filepath.Ext(config))]) + ".log"
	return start(name, r.cpu, r.set.GRPC, "http://"+r.set.HTTP+"/readyz", filepath.Join(r.logs, logName),
		r.tollgateBin, "serve", "--config", config)
}

func request(c fixture.Case) *authv3.CheckRequest {
	return fixture.CheckRequest(c.Method, c.Path, c.Token)
}

// cpusAllowed is this process's CPU affinity list, from /proc/self/status.
func cpusAllowed() string {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
