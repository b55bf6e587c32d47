package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// load is how h2load drives a server: connections × concurrent streams each.
type load struct {
	conns, streams int
	cpu            string // h2load's CPU
}

// h2result is one h2load run.
type h2result struct {
	done      int64   // responses received
	rps       float64 // as h2load reports it
	dataBytes int64   // DATA bytes received: a gRPC error has none
	wall      time.Duration
	cpuTicks  int64 // the server's CPU time meanwhile
}

// h2load sends payload (one framed CheckRequest) to s's Check method for d, or n
// requests when n > 0, and measures the server's CPU time around it. h2load counts
// HTTP/2 responses and does not read grpc-status; a gRPC error is a trailers-only
// response without DATA, so every response must bring at least a message header.
func (l load) run(s *server, payload string, d time.Duration, n int64) (h2result, error) {
	args := []string{"-c", l.cpu, "h2load", "-c", strconv.Itoa(l.conns), "-m", strconv.Itoa(l.streams),
		"-d", payload, "-H", "content-type: application/grpc", "-H", "te: trailers"}
	if n > 0 {
		args = append(args, "-n", strconv.FormatInt(n, 10))
	} else {
		args = append(args, "-D", strconv.Itoa(max(1, int(d.Round(time.Second).Seconds()))))
	}
	args = append(args, "http://"+s.addr+"/envoy.service.auth.v3.Authorization/Check")
	var out bytes.Buffer
	cmd := exec.Command("taskset", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	t0, err := s.cpuTicks()
	if err != nil {
		return h2result{}, err
	}
	w0 := time.Now()
	runErr := cmd.Run()
	r := h2result{wall: time.Since(w0)}
	t1, err := s.cpuTicks()
	if err != nil {
		return r, err
	}
	r.cpuTicks = t1 - t0
	if runErr != nil {
		return r, fmt.Errorf("h2load: %v\n%s", runErr, out.String())
	}
	if err := r.parse(out.Bytes()); err != nil {
		return r, fmt.Errorf("h2load output: %v\n%s", err, out.String())
	}
	s.checks += r.done
	return r, nil
}

var (
	reFinished = regexp.MustCompile(`(?m)^finished in [0-9.]+[a-z]+, ([0-9.]+) req/s`)
	reRequests = regexp.MustCompile(`(?m)^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	reStatus   = regexp.MustCompile(`(?m)^status codes: (\d+) 2xx`)
	reData     = regexp.MustCompile(`(?m)^traffic: .*\((\d+)\) data`)
)

func (r *h2result) parse(out []byte) error {
	m := reFinished.FindSubmatch(out)
	req := reRequests.FindSubmatch(out)
	st := reStatus.FindSubmatch(out)
	data := reData.FindSubmatch(out)
	if m == nil || req == nil || st == nil || data == nil {
		return fmt.Errorf("unexpected format")
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	r.done, _ = strconv.ParseInt(string(req[3]), 10, 64)
	ok, _ := strconv.ParseInt(string(req[4]), 10, 64)
	ok2xx, _ := strconv.ParseInt(string(st[1]), 10, 64)
	r.dataBytes, _ = strconv.ParseInt(string(data[1]), 10, 64)
	switch {
	case r.done == 0:
		return fmt.Errorf("no response")
	case ok != r.done || ok2xx != r.done:
		return fmt.Errorf("%d of %d responses failed or were not 2xx", r.done-min(ok, ok2xx), r.done)
	case r.dataBytes/r.done < 6:
		return fmt.Errorf("responses carry %d data bytes on average: gRPC errors?", r.dataBytes/r.done)
	}
	return nil
}

// cpuPerCheck is the server's CPU time per check.
func (r h2result) cpuPerCheck() time.Duration {
	return time.Duration(float64(r.cpuTicks) / clockTicks * float64(time.Second) / float64(r.done))
}

// cores is the server's CPU time over the wall time: 1 when it had its core to itself.
func (r h2result) cores() float64 {
	return float64(r.cpuTicks) / clockTicks / r.wall.Seconds()
}
