package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"

	"github.com/tollgate/tollgate/bench/fixture"
)

// sample is one check of the one-at-a-time client.
type sample struct {
	at   time.Time
	took time.Duration
	ok   bool // the expected answer came back
}

// serial sends reqs in turn, one at a time, until ctx ends or d has passed, and
// returns every check's latency and whether it got want.
func serial(ctx context.Context, s *server, reqs []*authv3.CheckRequest, want fixture.Want, d time.Duration) ([]sample, string) {
	var out []sample
	var firstBad string
	end := time.Now().Add(d)
	for i := 0; ctx.Err() == nil && time.Now().Before(end); i++ {
		t0 := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := s.client.Check(cctx, reqs[i%len(reqs)])
		cancel()
		took := time.Since(t0)
		if ctx.Err() != nil {
			break
		}
		bad := answerError(resp, err, want)
		if bad != "" && firstBad == "" {
			firstBad = bad
		}
		out = append(out, sample{at: t0, took: took, ok: bad == ""})
	}
	s.checks += int64(len(out))
	return out, firstBad
}

// answerError says how a Check's answer differs from want; "" when it does not.
func answerError(resp *authv3.CheckResponse, err error, want fixture.Want) string {
	if err != nil {
		return err.Error()
	}
	got := fixture.Want{
		Code: codes.Code(resp.GetStatus().GetCode()),
		HTTP: int(resp.GetDeniedResponse().GetStatus().GetCode()),
	}
	if want.Reason != "" {
		got.Reason = resp.GetStatus().GetMessage()
	}
	if got != want {
		return fmt.Sprintf("got %+v, want %+v", got, want)
	}
	return ""
}

// latencies are the percentiles of a set of samples.
type latencies struct {
	n, failed     int
	p50, p99, max time.Duration
}

func summarize(ss []sample) latencies {
	l := latencies{n: len(ss)}
	if l.n == 0 {
		return l
	}
	d := make([]time.Duration, len(ss))
	for i, s := range ss {
		d[i] = s.took
		if !s.ok {
			l.failed++
		}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	l.p50, l.p99, l.max = at(0.50), at(0.99), d[len(d)-1]
	return l
}
