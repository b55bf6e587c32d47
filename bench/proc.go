package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times: 100 on Linux.
const clockTicks = 100

// server is a server process pinned to one CPU, and a gRPC client of it.
type server struct {
	name    string
	addr    string // gRPC
	readyz  string // Tollgate's /readyz URL; empty for the floor
	log     string // its output
	cmd     *exec.Cmd
	exited  chan struct{}
	conn    *grpc.ClientConn
	client  authv3.AuthorizationClient
	started time.Time
	ready   time.Duration // from exec to ready
	checks  int64         // checks sent so far
}

// start runs argv pinned to cpu with GOMAXPROCS=1, its output to logPath, and waits
// until it answers: /readyz says ready, or (without readyz) a Check gets an answer.
func start(name, cpu, addr, readyz, logPath string, argv ...string) (*server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("taskset", append([]string{"-c", cpu}, argv...)...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	s := &server{name: name, addr: addr, readyz: readyz, log: logPath, cmd: cmd, exited: make(chan struct{})}
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { _ = cmd.Wait(); logf.Close(); close(s.exited) }()
	if s.conn, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		s.stop()
		return nil, err
	}
	s.client = authv3.NewAuthorizationClient(s.conn)
	if err := s.waitReady(30 * time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%s: %w (log: %s)", name, err, logPath)
	}
	s.ready = time.Since(s.started)
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errors.New("the server exited")
		default:
		}
		if s.isReady() {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s", limit)
}

func (s *server) isReady() bool {
	if s.readyz != "" {
		r, err := readyz(s.readyz)
		return err == nil && r.Status == "ready"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := s.client.Check(ctx, &authv3.CheckRequest{}, grpc.WaitForReady(false))
	return err == nil
}

// stop ends the server with SIGTERM (Tollgate drains, then exits), and kills it if it
// has not exited within 20 s.
func (s *server) stop() {
	if s.conn != nil {
		s.conn.Close()
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// cpuTicks is the server's user + system CPU time, all threads, in clock ticks.
func (s *server) cpuTicks() (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid()))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after it are plain.
	i := strings.LastIndexByte(string(raw), ')')
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14, utime
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15, stime
	return ut + st, errors.Join(err1, err2)
}

// memory returns the server's resident set size and its peak (VmRSS, VmHWM), in bytes.
func (s *server) memory() (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.pid()))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak, sc.Err()
}

// readiness is the part of Tollgate's /readyz body the benchmark reads: whether it is
// ready, and when the last reload ran and whether it succeeded (the public body says
// no more; the reason of a refusal is in Tollgate's log).
type readiness struct {
	Status     string `json:"status"`
	LastReload *struct {
		At time.Time `json:"at"`
		OK bool      `json:"ok"`
	} `json:"last_reload"`
}

// reloadedSince reports whether r shows a reload that before did not show.
func (r readiness) reloadedSince(before readiness) bool {
	return r.LastReload != nil && (before.LastReload == nil || !r.LastReload.At.Equal(before.LastReload.At))
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

func readyz(url string) (readiness, error) {
	var r readiness
	resp, err := httpClient.Get(url)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&r)
	return r, err
}
