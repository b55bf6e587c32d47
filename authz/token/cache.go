package token

import (
	"crypto/sha256"
	"sync"
	"time"
)

// cacheShards spreads the cache over independent locks, so concurrent checks rarely
// wait on each other.
const cacheShards = 64

// evictScan bounds the entries a full shard looks at to find one to evict.
const evictScan = 8

// cacheTTL bounds how long a verification is trusted without checking the signature
// again, so a key the issuer withdraws stops verifying its tokens soon after.
const cacheTTL = 5 * time.Minute

// cache maps a token's SHA-256 to its verified identity until the token expires, or
// cacheTTL has passed. It holds at most about size entries.
type cache struct {
	shards   [cacheShards]shard
	perShard int
}

type shard struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]entry
}

// entry is a verified token: its identity, and the issuer and key that verified it.
type entry struct {
	id     *Identity
	issuer *issuer
	by     verifiedBy
	until  time.Time
}

func newCache(size int) *cache {
	c := &cache{perShard: max(1, (size+cacheShards-1)/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[[sha256.Size]byte]entry)
	}
	return c
}

func (c *cache) get(key [sha256.Size]byte, now time.Time) (entry, bool) {
	s := &c.shards[key[0]%cacheShards]
	s.mu.RLock()
	e, ok := s.m[key]
	s.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return entry{}, false
	}
	return e, true
}

// put stores an identity; a full shard first drops an expired entry among a few, or
// else an arbitrary one (Go's map order is random).
func (c *cache) put(key [sha256.Size]byte, e entry, now time.Time) {
	e.until = now.Add(cacheTTL)
	if e.id.Expiry.Before(e.until) {
		e.until = e.id.Expiry
	}
	s := &c.shards[key[0]%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.perShard {
		s.evictOne(now)
	}
	s.m[key] = e
}

func (s *shard) evictOne(now time.Time) {
	var victim [sha256.Size]byte
	n := 0
	for k, e := range s.m {
		if !now.Before(e.until) {
			delete(s.m, k)
			return
		}
		if n == 0 {
			victim = k
		}
		if n++; n == evictScan {
			break
		}
	}
	delete(s.m, victim)
}
