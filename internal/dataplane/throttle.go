package dataplane

import (
	"math"
	"sync"

	"golang.org/x/time/rate"

	"github.com/wsgate/wsgate/internal/snapshot"
)

// AWS's account-level defaults, used for whichever of rate and burst a
// stage sets without the other.
const (
	defaultRate  = 10000
	defaultBurst = 5000
)

type throttleKey struct{ api, stage, route string }

// throttles are the token buckets of stage and route throttling settings:
// one per (stage, route key) on this node, shared by all its connections.
// Settings are read from the live stage on every call, so a change applies
// at once, without a deployment (stage settings are live, as on AWS).
type throttles struct {
	m sync.Map // throttleKey → *rate.Limiter
}

// allow reports whether one more request may pass on a route.
func (t *throttles) allow(st *snapshot.Stage, routeKey string) bool {
	s := st.Settings(routeKey)
	if s.ThrottlingRateLimit == nil && s.ThrottlingBurstLimit == nil {
		return true
	}
	r, b := float64(defaultRate), defaultBurst
	if s.ThrottlingRateLimit != nil {
		r = *s.ThrottlingRateLimit
	}
	if s.ThrottlingBurstLimit != nil {
		b = *s.ThrottlingBurstLimit
	}
	limit := rate.Limit(r)
	if math.IsInf(r, 1) {
		limit = rate.Inf
	}
	k := throttleKey{st.APIID, st.Name, routeKey}
	v, ok := t.m.Load(k)
	if !ok {
		v, _ = t.m.LoadOrStore(k, rate.NewLimiter(limit, b))
	}
	lim := v.(*rate.Limiter)
	if lim.Limit() != limit {
		lim.SetLimit(limit)
	}
	if lim.Burst() != b {
		lim.SetBurst(b)
	}
	return lim.Allow()
}

// forget drops a stage's buckets (the stage is gone).
func (t *throttles) forget(apiID, stage string) {
	t.m.Range(func(k, _ any) bool {
		if tk := k.(throttleKey); tk.api == apiID && tk.stage == stage {
			t.m.Delete(k)
		}
		return true
	})
}
