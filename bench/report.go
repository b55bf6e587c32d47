package main

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report renders the run as Markdown: the machine, the table of cases, and the
// targets of issue 9 with what was measured.
func (r *runner) report(took time.Duration) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("### `make bench`, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	p("- Machine: %s\n", machine())
	p("- Code: %s; `%s`\n", commit(), tollgateVersion(r.tollgateBin))
	p("- Servers pinned to CPU %s (`taskset`), `GOMAXPROCS=1`; h2load and the one-at-a-time client on CPU %s.\n", r.cpu, r.load.cpu)
	p("- Throughput: h2load, %d connections × %d streams, %s after a %s warm-up. CPU µs/check: the server's user+system CPU time (`/proc/PID/stat`) over the checks answered; checks/s per core = 1 s / CPU per check.\n",
		r.load.conns, r.load.streams, r.duration, r.warmup)
	p("- Latency: one request at a time over one connection, %s per case.\n", r.latency)
	p("- Ratios: Tollgate ÷ the floor named in the row (floor-allow answers OK at once; floor-jwt verifies the RS256 token, no cache). For checks/s per core higher is better; for p50 and p99 lower is better.\n")
	p("- The run took %s.\n\n", took.Round(time.Second))

	p("| case | server | checks/s | server cores | CPU µs/check | checks/s per core | p50 µs | p99 µs | vs | ratio checks/s/core | ratio p50 | ratio p99 |\n")
	p("|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|\n")
	rows := slices.Clone(r.rows)
	rank := func(rw *row) int { // by case, the floor first
		n := 2 * slices.Index(caseOrder, rw.kase)
		if rw.floor != nil {
			n++
		}
		return n
	}
	slices.SortStableFunc(rows, func(a, b *row) int { return cmp.Compare(rank(a), rank(b)) })
	for _, rw := range rows {
		p("| %s | %s | %.0f | %.2f | %.1f | %.0f | %.0f | %.0f |", rw.kase, rw.server, rw.h2.rps, rw.h2.cores(),
			micros(rw.h2.cpuPerCheck()), perCore(rw), micros(rw.lat.p50), micros(rw.lat.p99))
		if f := rw.floor; f != nil {
			p(" %s | %.2f | %.2f | %.2f |\n", f.server, perCore(rw)/perCore(f),
				float64(rw.lat.p50)/float64(f.lat.p50), float64(rw.lat.p99)/float64(f.lat.p99))
		} else {
			p(" | | | |\n")
		}
	}
	c := r.set.ScaleCounts
	p("\nScale data: %d APIs with %d resources, %d applications with %d client IDs, %d subscriptions, 3 issuers (`jwks_file`); it is the small data (2 APIs, 2 applications, 3 subscriptions) plus %d generated APIs × 20 resources, %d applications and %d subscriptions.\n\n",
		c.APIs, c.Resources, c.Applications, c.ClientIDs, c.Subscriptions, c.APIs-2, c.Applications-2, c.Subscriptions-3)

	p("| target (issue 9) | measured | goal | met |\n|---|---|---|---|\n")
	target := func(what, measured, goal string, met bool) {
		p("| %s | %s | %s | %s |\n", what, measured, goal, map[bool]string{true: "yes", false: "**no**"}[met])
	}
	ratio := func(kase string) float64 {
		rw := r.find(kase)
		return perCore(rw) / perCore(rw.floor)
	}
	v := ratio(caseCached)
	target("allow, cached token: checks/s per core ÷ floor-allow's", fmt.Sprintf("%.2f", v), "≥ 0.40", v >= 0.40)
	v = ratio(caseNeverSeen)
	target("allow, token never seen: checks/s per core ÷ floor-jwt's", fmt.Sprintf("%.2f", v), "≥ 0.50", v >= 0.50)
	v = ratio(caseDenyScope)
	target("deny insufficient_scope, cached token: checks/s per core ÷ floor-allow's", fmt.Sprintf("%.2f", v), "≥ 0.40", v >= 0.40)
	cached := r.find(caseCached)
	v = float64(cached.lat.p99) / float64(cached.floor.lat.p99)
	target("p99 one at a time, cached token ÷ floor-allow's p99", fmt.Sprintf("%.2f (%.0f µs ÷ %.0f µs)", v, micros(cached.lat.p99), micros(cached.floor.lat.p99)), "≤ 2", v <= 2)
	s := r.scale
	v = perCore(s.row) / perCore(s.small)
	target("scale ÷ small data, cached allow, checks/s per core", fmt.Sprintf("%.2f", v), "≥ 0.9", v >= 0.9)
	target(fmt.Sprintf("RSS with the scale data after %d checks (VmRSS)", s.checks),
		fmt.Sprintf("%.0f MB (peak %.0f MB; %.0f MB after the reloads)", mb(s.rss), mb(s.peak), mb(s.rssAfter)), "≤ 150 MB", mb(s.rss) <= 150)
	slowest := slices.Max(s.reloads)
	target(fmt.Sprintf("reload of the scale data (SIGHUP → seen in `/readyz`), slowest of %d", len(s.reloads)),
		fmt.Sprintf("%s (each: %s; Tollgate's log `took`: %s)", ms(slowest), msList(s.reloads), msList(s.serverTook)), "≤ 1 s", slowest <= time.Second)
	failed := fmt.Sprintf("%d of %d", s.during.failed, s.during.n)
	if s.firstFailure != "" {
		failed += " (first: " + s.firstFailure + ")"
	}
	target("checks failed during the reloads (one at a time)", failed, "0", s.during.failed == 0 && s.during.n > 0)
	p("| latency spike during the reloads (one at a time) | slowest check overlapping a reload %s; p99 over the reload phase %.0f µs, %.0f µs without reloads | measured | — |\n",
		ms(s.spike), micros(s.during.p99), micros(s.row.lat.p99))
	sorted := slices.Sorted(slices.Values(s.startups))
	median := sorted[len(sorted)/2]
	target(fmt.Sprintf("startup to ready, scale data (exec → `/readyz` 200), median of %d", len(sorted)),
		fmt.Sprintf("%s (each: %s; small data: %s)", ms(median), msList(s.startups), ms(s.smallStartup)), "≤ 3 s", median <= 3*time.Second)
	return b.String()
}

func (r *runner) find(kase string) *row {
	for _, rw := range r.rows {
		if rw.kase == kase && rw.floor != nil {
			return rw
		}
	}
	panic("no Tollgate row for " + kase)
}

// perCore is checks/s per server core: one second of CPU over the CPU time per check.
func perCore(rw *row) float64 { return float64(time.Second) / float64(rw.h2.cpuPerCheck()) }

func ms(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func msList(ds []time.Duration) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond))
	}
	return strings.Join(out, ", ") + " ms"
}

// machine describes the host: CPUs, CPU model, kernel, Go version.
func machine() string {
	n, model := 0, "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(raw)) {
			k, v, _ := strings.Cut(line, ":")
			switch strings.TrimSpace(k) {
			case "processor":
				n++
			case "model name":
				model = strings.TrimSpace(v)
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d CPUs (nproc), %s, Linux %s, %s", n, model, strings.TrimSpace(string(kernel)), runtime.Version())
}

// commit is the checked-out commit, and whether the tree has uncommitted changes.
func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "commit unknown (not a git checkout)"
	}
	c := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += " with uncommitted changes"
	}
	return c
}

func tollgateVersion(bin string) string {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "tollgate version unknown"
	}
	return strings.TrimSpace(string(out))
}
