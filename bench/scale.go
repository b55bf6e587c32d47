package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"syscall"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
)

// scaleResult is what the scale phase measured besides its table row.
type scaleResult struct {
	small, row   *row            // cached allow with the small and the scale data
	smallStartup time.Duration   // exec to ready, small data
	startups     []time.Duration // exec to ready, scale data
	checks       int64           // answered before the memory reading
	rss, peak    int64           // VmRSS and VmHWM then
	rssAfter     int64           // VmRSS after the reloads
	reloads      []time.Duration // SIGHUP to the reload seen in /readyz
	serverTook   []time.Duration // each reload's own time, from Tollgate's log
	during       latencies       // the one-at-a-time client while reloads ran
	spike        time.Duration   // its slowest check that overlapped a reload
	firstFailure string
}

// measureScale starts Tollgate with the scale data r.starts times (timing each
// startup), measures its cached allow, sends checks up to r.checks and reads its
// memory, then reloads the data r.reloads times under the one-at-a-time client.
func (r *runner) measureScale(fa, small *row) error {
	set := r.set
	r.scale.small = small
	var s *server
	for i := range max(r.starts, 1) {
		var err error
		if s, err = r.startTollgate("tollgate, scale data", set.ScaleConfig); err != nil {
			return err
		}
		r.scale.startups = append(r.scale.startups, s.ready)
		log.Printf("tollgate, scale data: ready %s after exec", s.ready.Round(time.Millisecond))
		if i < r.starts-1 {
			s.stop()
		}
	}
	defer s.stop()

	allow := []*authv3.CheckRequest{request(set.Allow)}
	row, err := r.measure(s, caseScale, fa, set.Allow, allow, set.Allow.Tollgate)
	if err != nil {
		return err
	}
	r.scale.row = row
	if more := r.checks - s.checks; more > 0 {
		log.Printf("tollgate, scale data: %d more checks before reading memory", more)
		if _, err := r.load.run(s, set.Allow.Payload, 0, more); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	r.scale.checks = s.checks
	if r.scale.rss, r.scale.peak, err = s.memory(); err != nil {
		return err
	}
	log.Printf("tollgate, scale data: VmRSS %.1f MB (peak %.1f MB) after %d checks", mb(r.scale.rss), mb(r.scale.peak), s.checks)

	if err := r.reloadUnderLoad(s, allow); err != nil {
		return err
	}
	r.scale.rssAfter, _, err = s.memory()
	return err
}

// reloadUnderLoad sends SIGHUP r.reloads times, a second apart, and times each until
// /readyz reports it, while the one-at-a-time client checks all along.
func (r *runner) reloadUnderLoad(s *server, reqs []*authv3.CheckRequest) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var samples []sample
	var firstBad string
	done := make(chan struct{})
	go func() {
		samples, firstBad = serial(ctx, s, reqs, r.set.Allow.Tollgate, 24*time.Hour)
		close(done)
	}()
	type window struct{ from, to time.Time }
	var windows []window
	time.Sleep(time.Second)
	for range r.reloads {
		before, err := readyz(s.readyz)
		if err != nil {
			return err
		}
		t0 := time.Now()
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			return err
		}
		for {
			now, err := readyz(s.readyz)
			if err == nil && now.reloadedSince(before) {
				if !now.LastReload.OK {
					return fmt.Errorf("reload of the scale data refused; the reason is in %s", s.log)
				}
				break
			}
			if time.Since(t0) > 30*time.Second {
				return fmt.Errorf("reload not seen in /readyz after 30 s")
			}
			time.Sleep(2 * time.Millisecond)
		}
		windows = append(windows, window{t0, time.Now()})
		r.scale.reloads = append(r.scale.reloads, time.Since(t0))
		log.Printf("tollgate, scale data: reload seen in /readyz %s after SIGHUP", time.Since(t0).Round(time.Millisecond))
		time.Sleep(time.Second)
	}
	cancel()
	<-done
	r.scale.during = summarize(samples)
	r.scale.firstFailure = firstBad
	for _, smp := range samples {
		for _, w := range windows {
			if smp.at.Before(w.to) && smp.at.Add(smp.took).After(w.from) {
				r.scale.spike = max(r.scale.spike, smp.took)
			}
		}
	}
	var err error
	r.scale.serverTook, err = reloadTimes(s.log)
	return err
}

// reloadTimes reads the "took" of each reload from Tollgate's JSON log.
func reloadTimes(path string) ([]time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []time.Duration
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Msg  string        `json:"msg"`
			Took time.Duration `json:"took"` // slog writes durations as nanoseconds
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "reloaded" {
			out = append(out, line.Took)
		}
	}
	return out, sc.Err()
}

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
