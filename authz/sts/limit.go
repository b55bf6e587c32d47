package sts

import (
	"sync"
	"time"

	"github.com/tollgate/tollgate/authz/config"
)

// maxLimited bounds a limiter's memory: past it, keys back to a full burst are
// forgotten first, else any (the map's iteration order is random).
const maxLimited = 10000

// evictScan bounds the work of one eviction, which runs under the lock.
const evictScan = 64

// limiter is a token bucket per key (a source address, a client ID): a key may take
// burst tokens at once, then one per every. What draws from it is up to the caller:
// failed client authentications, or tokens issued.
type limiter struct {
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

func newLimiter(r config.Rate, now func() time.Time) *limiter {
	return &limiter{burst: r.Burst, every: r.Every, now: now, buckets: map[string]*bucket{}}
}

// take draws one token of key's bucket and returns 0, or, when the bucket is empty,
// draws nothing and returns how long until it holds a token again.
func (l *limiter) take(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucket(key, now)
	tokens := l.refill(b, now)
	if tokens < 1 {
		return time.Duration((1 - tokens) * float64(l.every))
	}
	b.tokens = tokens - 1
	return 0
}

// bucket returns key's bucket, making room for a new one if needed.
func (l *limiter) bucket(key string, now time.Time) *bucket {
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

// refill brings b's tokens up to now, capped at the burst.
func (l *limiter) refill(b *bucket, now time.Time) float64 {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(l.burst), b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
	return b.tokens
}

// evict forgets, among a few keys, those back to a full burst, or else one of them.
func (l *limiter) evict(now time.Time) {
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
