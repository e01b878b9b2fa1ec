package controlapi

import (
	"encoding/json"
	"net/http"

	"github.com/wsgate/wsgate/internal/apigw"
)

// tagsCall resolves the resource ARN path label and runs fn on its API.
func (h *Handler) tagTarget(c *call) (apigw.ResourceARN, error) {
	arn, e := apigw.ParseResourceARN(c.r.PathValue("arn"))
	if e != nil {
		return arn, e
	}
	// mutate and read take the API id from the path; tags name it in the ARN.
	c.r.SetPathValue("apiId", arn.APIID)
	return arn, nil
}

func (h *Handler) getTags(c *call) (int, any, error) {
	arn, err := h.tagTarget(c)
	if err != nil {
		return 0, nil, err
	}
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	tags, e := d.Tags(arn)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, map[string]map[string]string{"tags": tags}, nil
}

func (h *Handler) tagResource(c *call) (int, any, error) {
	arn, err := h.tagTarget(c)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Tags map[string]string `json:"tags"`
	}
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	if in.Tags == nil {
		return 0, nil, apigw.BadRequest("Missing required member: tags")
	}
	_, err = h.mutate(c, false, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.TagResource(arn, in.Tags))
	})
	return ok(http.StatusCreated, struct{}{}, err)
}

func (h *Handler) untagResource(c *call) (int, any, error) {
	arn, err := h.tagTarget(c)
	if err != nil {
		return 0, nil, err
	}
	keys := c.r.URL.Query()["tagKeys"]
	if len(keys) == 0 {
		return 0, nil, apigw.BadRequest("Missing required member: tagKeys")
	}
	_, err = h.mutate(c, false, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.UntagResource(arn, keys))
	})
	return ok(http.StatusNoContent, nil, err)
}

func marshalDoc(d *apigw.Document) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, apigw.Internal(err)
	}
	return b, nil
}
