package api

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limits holds one token bucket per client, created on its first request.
// A client's buckets are the same on every route: one budget per key.
type limits struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	by    map[string]*rate.Limiter
}

func newLimits(perSecond float64, burst int) *limits {
	return &limits{rate: rate.Limit(perSecond), burst: burst, by: map[string]*rate.Limiter{}}
}

// allow takes a token of client's bucket, or says how long until one is
// there.
func (l *limits) allow(client string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	lim, ok := l.by[client]
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.by[client] = lim
	}
	l.mu.Unlock()
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}
