package sts

import (
	"sync"
	"time"
)

// maxLimited bounds the failure limiter's memory: past it, the entries that have
// recovered their whole burst are forgotten first, then the oldest.
const maxLimited = 10000

// failureLimit is a token bucket per key (a client ID, a source address) that only
// failures draw from: a key may fail burst times at once, then once per every. Keys
// that never fail cost nothing.
type failureLimit struct {
	burst int
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last computed
}

func newFailureLimit(burst int, every time.Duration, now func() time.Time) *failureLimit {
	return &failureLimit{burst: burst, every: every, now: now, buckets: map[string]*bucket{}}
}

// wait is how long key must wait before it may try again; 0 when it may now.
func (l *failureLimit) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return 0
	}
	if tokens := l.refill(b, l.now()); tokens < 1 {
		return time.Duration((1 - tokens) * float64(l.every))
	}
	return 0
}

// fail records a failure of key.
func (l *failureLimit) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxLimited {
			l.evict(now)
		}
		b = &bucket{tokens: float64(l.burst), at: now}
		l.buckets[key] = b
	}
	b.tokens = l.refill(b, now) - 1
}

// refill brings b's tokens up to now, capped at the burst.
func (l *failureLimit) refill(b *bucket, now time.Time) float64 {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(l.burst), b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
	return b.tokens
}

// evict forgets the keys that are back to a full burst, or else the stalest one.
func (l *failureLimit) evict(now time.Time) {
	var stalest string
	for key, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(l.every) >= float64(l.burst) {
			delete(l.buckets, key)
		} else if stalest == "" || b.at.Before(l.buckets[stalest].at) {
			stalest = key
		}
	}
	if len(l.buckets) >= maxLimited {
		delete(l.buckets, stalest)
	}
}
