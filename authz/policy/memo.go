package policy

import (
	"hash/maphash"
	"sync"
)

// Memo sizes: at most memoShards × memoPerShard decisions, each about a kilobyte with
// its key, spread over independent locks so concurrent checks rarely wait.
const (
	memoShards   = 32
	memoPerShard = 512
)

// Memo remembers an engine's decisions by key: the input parts the policies can read,
// as Memoization.Reads says, encoded by the caller so that two inputs share a key only
// when they agree on all those parts. It belongs to one Engine, so one version of the
// policies and one of the data: a reload or a data change makes a new engine, with an
// empty memo, and the next check decides with it.
//
// Why a remembered decision stays right: the policies' decision is a function of the
// key, the data and the policies alone (Analyze proves it, or there is no memo), and the
// data and policies are fixed for the engine's life. Time is not an input: a policy
// cannot read the clock (time.now_ns is refused), and a token's expiry is checked when
// it is verified, before the key is made; a token that expired or whose key left its
// issuer's set never reaches the memo with its identity, but as a token_error, which is
// in the key.
//
// Remembered decisions are shared between checks: treat them as read-only.
type Memo struct {
	seed   maphash.Seed
	shards [memoShards]memoShard
}

type memoShard struct {
	mu sync.RWMutex
	m  map[string]Decision
}

func newMemo() *Memo {
	m := &Memo{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].m = make(map[string]Decision)
	}
	return m
}

func (m *Memo) shard(key []byte) *memoShard {
	return &m.shards[maphash.Bytes(m.seed, key)%memoShards]
}

// Get returns the decision remembered for key.
func (m *Memo) Get(key []byte) (Decision, bool) {
	s := m.shard(key)
	s.mu.RLock()
	d, ok := s.m[string(key)] // no copy: the compiler reads key in place
	s.mu.RUnlock()
	return d, ok
}

// Put remembers d for key. A full shard first forgets one decision, an arbitrary one
// (Go's map order is random): the memo stays bounded, and a decision forgotten is
// only evaluated again.
func (m *Memo) Put(key []byte, d Decision) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= memoPerShard {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[string(key)] = d
}

// Len returns how many decisions are remembered.
func (m *Memo) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
