package sts

import (
	"sync"
	"time"
)

// maxLimited bounds a failure limit's memory: past it, keys back to a full burst are
// forgotten first, else any (the map's iteration order is random).
const maxLimited = 10000

// evictScan bounds the work of one eviction, which runs under the lock.
const evictScan = 64

// failureLimit is a token bucket per key (a source address, a client ID) that only
// failures draw from: a key may fail burst times at once, then once per every.
// Successes cost nothing, so many clients behind one address are not limited by their
// number; attempts in flight together may overrun a burst by as many.
type failureLimit struct {
	burst int
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newFailureLimit(burst int, every time.Duration, now func() time.Time) *failureLimit {
	return &failureLimit{burst: burst, every: every, now: now, buckets: map[string]*bucket{}}
}

// wait is how long key must wait before it may try again; 0 when it may now.
func (l *failureLimit) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		return l.waitFor(b, l.now())
	}
	return 0
}

// fail records a failure of each key.
func (l *failureLimit) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, key := range keys {
		b := l.bucket(key, now)
		b.tokens = max(l.refill(b, now)-1, 0)
	}
}

// bucket returns key's bucket, making room for a new one if needed.
func (l *failureLimit) bucket(key string, now time.Time) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxLimited {
			l.evict(now)
		}
		b = &bucket{tokens: float64(l.burst), at: now}
		l.buckets[key] = b
	}
	return b
}

func (l *failureLimit) waitFor(b *bucket, now time.Time) time.Duration {
	if tokens := l.refill(b, now); tokens < 1 {
		return time.Duration((1 - tokens) * float64(l.every))
	}
	return 0
}

// refill brings b's tokens up to now, capped at the burst.
func (l *failureLimit) refill(b *bucket, now time.Time) float64 {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(l.burst), b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
	return b.tokens
}

// evict forgets, among a few keys, those back to a full burst, or else one of them.
func (l *failureLimit) evict(now time.Time) {
	var any string
	n, freed := 0, false
	for key, b := range l.buckets {
		if l.refill(b, now) >= float64(l.burst) {
			delete(l.buckets, key)
			freed = true
		} else if any == "" {
			any = key
		}
		if n++; n == evictScan {
			break
		}
	}
	if !freed {
		delete(l.buckets, any)
	}
}
