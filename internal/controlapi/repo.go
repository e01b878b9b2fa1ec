package controlapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/store"
)

// maxAttempts bounds the compare-and-swap retry loop.
const maxAttempts = 32

func (h *Handler) env() *apigw.Env {
	return &apigw.Env{Now: h.opts.Now(), Limits: h.opts.Limits}
}

func (h *Handler) apiNotFound(apiID string) *apigw.Error {
	return apigw.NotFound(apigw.ResourceAPI, "Invalid API identifier specified %s:%s", h.opts.AccountID, apiID)
}

// storeErr turns a store failure into the AWS-shaped error a client sees.
func storeErr(op string, err error) error {
	if errors.Is(err, store.ErrUnavailable) {
		return apigw.Unavailable(fmt.Errorf("%s: %w", op, err))
	}
	return apigw.Internal(fmt.Errorf("%s: %w", op, err))
}

// load reads an API's document.
func (h *Handler) load(ctx context.Context, apiID string) (*apigw.Document, uint64, error) {
	if !apigw.ValidAPIID(apiID) {
		return nil, 0, h.apiNotFound(apiID)
	}
	e, err := h.opts.Store.Get(ctx, apigw.DocumentKey(apiID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, h.apiNotFound(apiID)
	}
	if err != nil {
		return nil, 0, storeErr("load api "+apiID, err)
	}
	d, err := apigw.DecodeDocument(e.Value)
	if err != nil {
		return nil, 0, apigw.Internal(fmt.Errorf("api %s: %w", apiID, err))
	}
	return d, e.Revision, nil
}

// read loads a document for a read-only operation.
func (h *Handler) read(c *call) (*apigw.Document, error) {
	d, _, err := h.load(c.ctx(), c.r.PathValue("apiId"))
	return d, err
}

// mutate applies fn to the API's document and stores the result with a
// compare-and-swap, retrying on conflicts. Around fn it keeps deployments
// and their snapshots consistent: when deploy is set, stages with autoDeploy
// get a new deployment; every deployment the change created has its snapshot
// validated and stored before the document; snapshots of deployments the
// change removed are deleted after it.
func (h *Handler) mutate(c *call, deploy bool, fn func(d *apigw.Document) (any, error)) (any, error) {
	ctx := c.ctx()
	apiID := c.r.PathValue("apiId")
	for range maxAttempts {
		old, rev, err := h.load(ctx, apiID)
		if err != nil {
			return nil, err
		}
		d := old.Clone()
		v, err := fn(d)
		if err != nil {
			return nil, err
		}
		if deploy {
			d.AutoDeploy(h.env())
		}
		if err := h.validateDraft(d); err != nil {
			return nil, err
		}
		written, err := h.writeSnapshots(ctx, old, d)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(d)
		if err != nil {
			return nil, apigw.Internal(err)
		}
		if _, err := h.opts.Store.Update(ctx, apigw.DocumentKey(apiID), b, rev); err != nil {
			h.deleteSnapshots(context.WithoutCancel(ctx), apiID, written)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if errors.Is(err, store.ErrNotFound) {
				return nil, h.apiNotFound(apiID)
			}
			return nil, storeErr("store api "+apiID, err)
		}
		h.deleteSnapshots(context.WithoutCancel(ctx), apiID, removedDeployments(old, d))
		return v, nil
	}
	return nil, apigw.TooManyRequests("ConcurrentModification", "Too many concurrent changes to this API; try again")
}

// validateDraft checks that the document's current state would compile, so
// that a bad expression or template is rejected when it is written, not when
// it is deployed.
func (h *Handler) validateDraft(d *apigw.Document) error {
	if h.opts.Validate == nil {
		return nil
	}
	if err := h.opts.Validate(d.Snapshot("")); err != nil {
		var e *apigw.Error
		if errors.As(err, &e) {
			return e
		}
		return apigw.BadRequest("%v", err)
	}
	return nil
}

// writeSnapshots stores the snapshot of every deployment in d that is not
// in old, and returns their ids.
func (h *Handler) writeSnapshots(ctx context.Context, old, d *apigw.Document) ([]string, error) {
	var written []string
	for _, id := range slices.Sorted(maps.Keys(d.Deployments)) {
		if _, ok := old.Deployments[id]; ok {
			continue
		}
		b, err := json.Marshal(d.Snapshot(id))
		if err != nil {
			return written, apigw.Internal(err)
		}
		if _, err := h.opts.Store.Put(ctx, apigw.SnapshotKey(d.API.APIID, id), b); err != nil {
			h.deleteSnapshots(context.WithoutCancel(ctx), d.API.APIID, written)
			return nil, storeErr("store snapshot", err)
		}
		written = append(written, id)
	}
	return written, nil
}

func removedDeployments(old, d *apigw.Document) []string {
	var ids []string
	for id := range old.Deployments {
		if d == nil || d.Deployments[id] == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// deleteSnapshots removes snapshot keys; failures leave unreferenced keys
// behind, which is harmless, so they are only logged.
func (h *Handler) deleteSnapshots(ctx context.Context, apiID string, ids []string) {
	for _, id := range ids {
		if err := h.opts.Store.Delete(ctx, apigw.SnapshotKey(apiID, id), 0); err != nil && !errors.Is(err, store.ErrNotFound) {
			h.log.Warn("could not delete snapshot", "api_id", apiID, "deployment_id", id, "err", err)
		}
	}
}
