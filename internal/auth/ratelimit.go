package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a set of token buckets by key (an email or a client IP). Idle
// buckets are dropped so the map cannot grow without bound under a spray of
// keys. It is per process: with several API instances behind a balancer each
// enforces its own budget, which still caps guessing at instances × budget.
type limiter struct {
	every time.Duration
	burst int

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(every time.Duration, burst int) *limiter {
	return &limiter{every: every, burst: burst, buckets: map[string]*bucket{}}
}

func (l *limiter) get(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		// A bucket idle for burst×every is full again: forgetting it loses nothing.
		for k, b := range l.buckets {
			if now.Sub(b.seen) > time.Duration(l.burst)*l.every {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.lim
}

// take spends one token, or says how long to wait for one.
func (l *limiter) take(key string) (time.Duration, bool) {
	now := time.Now()
	r := l.get(key, now).ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// blocked reports whether key has no token left, without spending one.
func (l *limiter) blocked(key string) (time.Duration, bool) {
	now := time.Now()
	lim := l.get(key, now)
	if lim.TokensAt(now) >= 1 {
		return 0, false
	}
	missing := 1 - lim.TokensAt(now)
	return time.Duration(missing * float64(l.every)), true
}
