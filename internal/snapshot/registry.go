package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/store"
)

type stageKey struct{ api, stage string }

// Registry keeps the compiled live Stage of every deployed stage, following
// the store. Lookups are a lock-free load of an immutable map.
type Registry struct {
	st       store.Store
	log      *slog.Logger
	onRemove func(apiID, stage string)

	live  atomic.Pointer[map[stageKey]*Stage]
	ready chan struct{}
	once  sync.Once

	// Owned by the Run goroutine.
	snaps map[string]*apigw.Snapshot // apiID/deploymentID → snapshot
	docs  map[string]*apigw.Document // apiID → last document seen
}

// Options configure a Registry.
type Options struct {
	Store store.Store
	Log   *slog.Logger
	// OnRemove is called (from the Run goroutine) when a stage stops being
	// served: the stage or its API was deleted, or it lost its deployment.
	OnRemove func(apiID, stage string)
}

// NewRegistry returns a Registry; call Run to follow the store.
func NewRegistry(o Options) *Registry {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{st: o.Store, log: log, onRemove: o.OnRemove, ready: make(chan struct{}),
		snaps: map[string]*apigw.Snapshot{}, docs: map[string]*apigw.Document{}}
	empty := map[stageKey]*Stage{}
	r.live.Store(&empty)
	return r
}

// OnRemove sets the callback for stages that stop being served; call it
// before Run.
func (r *Registry) OnRemove(f func(apiID, stage string)) { r.onRemove = f }

// Stage returns the live stage, or nil when it does not exist or has no
// deployment.
func (r *Registry) Stage(apiID, stage string) *Stage {
	return (*r.live.Load())[stageKey{apiID, stage}]
}

// Stages returns every live stage.
func (r *Registry) Stages() []*Stage {
	m := *r.live.Load()
	out := make([]*Stage, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	return out
}

// StagesNamed returns the live stages with the given name across APIs.
func (r *Registry) StagesNamed(stage string) []*Stage {
	var out []*Stage
	for k, s := range *r.live.Load() {
		if k.stage == stage {
			out = append(out, s)
		}
	}
	return out
}

// Ready is closed once the initial state of the store has been loaded.
func (r *Registry) Ready() <-chan struct{} { return r.ready }

// Run follows the store until ctx ends. When the watch breaks (a cluster
// store reconnecting) it watches again and rebuilds from the fresh state.
func (r *Registry) Run(ctx context.Context) error {
	backoff := 50 * time.Millisecond
	for {
		err := r.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, store.ErrClosed) {
			return err
		}
		r.log.Warn("store watch interrupted; watching again", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

func (r *Registry) follow(ctx context.Context) error {
	ch, err := r.st.Watch(ctx, apigw.DocumentPrefix)
	if err != nil {
		return err
	}
	initial := map[string]*apigw.Document{}
	loading := true
	for ev := range ch {
		switch {
		case ev.Kind == 0: // end of the initial state
			loading = false
			r.replaceAll(ctx, initial)
			initial = nil
			r.once.Do(func() { close(r.ready) })
		case ev.Kind == store.EventPut:
			d, err := apigw.DecodeDocument(ev.Entry.Value)
			if err != nil {
				r.log.Error("undecodable api document", "key", ev.Entry.Key, "err", err)
				continue
			}
			if loading {
				initial[d.API.APIID] = d
			} else {
				r.apply(ctx, d.API.APIID, d)
			}
		case ev.Kind == store.EventDelete:
			id := strings.TrimPrefix(ev.Entry.Key, apigw.DocumentPrefix)
			if loading {
				delete(initial, id)
			} else {
				r.apply(ctx, id, nil)
			}
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("watch channel closed")
}

// replaceAll rebuilds every stage from a full set of documents.
func (r *Registry) replaceAll(ctx context.Context, docs map[string]*apigw.Document) {
	for id := range r.docs {
		if _, ok := docs[id]; !ok {
			r.apply(ctx, id, nil)
		}
	}
	for id, d := range docs {
		r.apply(ctx, id, d)
	}
}

// apply recompiles the stages of one API (d nil: the API is gone) and
// publishes a new map.
func (r *Registry) apply(ctx context.Context, apiID string, d *apigw.Document) {
	old := *r.live.Load()
	next := make(map[stageKey]*Stage, len(old))
	for k, v := range old {
		if k.api != apiID {
			next[k] = v
		}
	}
	if d != nil {
		r.docs[apiID] = d
		for name, st := range d.Stages {
			if st.DeploymentID == "" {
				continue
			}
			snap, err := r.snapshot(ctx, apiID, st.DeploymentID)
			if err != nil {
				r.log.Error("cannot load deployment snapshot; stage keeps its previous deployment", "api_id", apiID, "stage", name, "deployment_id", st.DeploymentID, "err", err)
				if prev := old[stageKey{apiID, name}]; prev != nil {
					next[stageKey{apiID, name}] = prev
				}
				continue
			}
			cs, err := Compile(snap, st)
			if err != nil {
				r.log.Error("deployment does not compile; stage keeps its previous deployment", "api_id", apiID, "stage", name, "deployment_id", st.DeploymentID, "err", err)
				if prev := old[stageKey{apiID, name}]; prev != nil {
					next[stageKey{apiID, name}] = prev
				}
				continue
			}
			next[stageKey{apiID, name}] = cs
		}
	} else {
		delete(r.docs, apiID)
	}
	// Forget snapshots no stage of this API uses any more.
	for k := range r.snaps {
		if strings.HasPrefix(k, apiID+"/") {
			used := false
			if d != nil {
				for _, st := range d.Stages {
					if apiID+"/"+st.DeploymentID == k {
						used = true
					}
				}
			}
			if !used {
				delete(r.snaps, k)
			}
		}
	}
	r.live.Store(&next)
	for k, s := range old {
		if k.api != apiID {
			continue
		}
		if _, still := next[k]; !still {
			r.log.Info("stage no longer served", "api_id", k.api, "stage", k.stage, "deployment_id", s.DeploymentID)
			if r.onRemove != nil {
				r.onRemove(k.api, k.stage)
			}
		}
	}
	for k, s := range next {
		if k.api == apiID && (old[k] == nil || old[k].DeploymentID != s.DeploymentID) {
			r.log.Info("stage serves deployment", "api_id", k.api, "stage", k.stage, "deployment_id", s.DeploymentID)
		}
	}
}

// snapshot loads a deployment's snapshot, caching it (snapshots never
// change).
func (r *Registry) snapshot(ctx context.Context, apiID, deploymentID string) (*apigw.Snapshot, error) {
	k := apiID + "/" + deploymentID
	if s, ok := r.snaps[k]; ok {
		return s, nil
	}
	s, err := Load(ctx, r.st, apiID, deploymentID)
	if err != nil {
		return nil, err
	}
	r.snaps[k] = s
	return s, nil
}

// Load reads a deployment's snapshot from the store.
func Load(ctx context.Context, st store.Store, apiID, deploymentID string) (*apigw.Snapshot, error) {
	e, err := st.Get(ctx, apigw.SnapshotKey(apiID, deploymentID))
	if err != nil {
		return nil, fmt.Errorf("load snapshot %s/%s: %w", apiID, deploymentID, err)
	}
	return apigw.DecodeSnapshot(e.Value)
}
