package apigw

import (
	"strings"
)

// ResourceARN identifies a taggable resource: an API, or a stage of one.
type ResourceARN struct {
	Region string
	APIID  string
	Stage  string // empty for the API itself
}

// ParseResourceARN parses arn:aws:apigateway:{region}::/apis/{apiId}[/stages/{stage}].
func ParseResourceARN(arn string) (ResourceARN, *Error) {
	bad := func() (ResourceARN, *Error) {
		return ResourceARN{}, BadRequest("Invalid resource ARN %q: expected arn:aws:apigateway:{region}::/apis/{apiId} or .../stages/{stageName}", arn)
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "apigateway" || parts[3] == "" {
		return bad()
	}
	path := parts[5]
	rest, ok := strings.CutPrefix(path, "/apis/")
	if !ok {
		return bad()
	}
	seg := strings.Split(rest, "/")
	switch {
	case len(seg) == 1 && seg[0] != "":
		return ResourceARN{Region: parts[3], APIID: seg[0]}, nil
	case len(seg) == 3 && seg[0] != "" && seg[1] == "stages" && seg[2] != "":
		return ResourceARN{Region: parts[3], APIID: seg[0], Stage: seg[2]}, nil
	}
	return bad()
}

// tagsOf returns the tag map of the resource the ARN names.
func (d *Document) tagsOf(r ResourceARN) (*map[string]string, *Error) {
	if r.Stage == "" {
		return &d.API.Tags, nil
	}
	st, err := d.Stage(r.Stage)
	if err != nil {
		return nil, err
	}
	return &st.Tags, nil
}

// Tags returns the tags of the resource.
func (d *Document) Tags(r ResourceARN) (map[string]string, *Error) {
	t, err := d.tagsOf(r)
	if err != nil {
		return nil, err
	}
	out := cloneMap(*t)
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}

// TagResource adds or replaces tags.
func (d *Document) TagResource(r ResourceARN, tags map[string]string) *Error {
	t, err := d.tagsOf(r)
	if err != nil {
		return err
	}
	merged := cloneMap(*t)
	if merged == nil {
		merged = map[string]string{}
	}
	for k, v := range tags {
		merged[k] = v
	}
	if err := checkTags(merged); err != nil {
		return err
	}
	*t = merged
	return nil
}

// UntagResource removes tags by key; unknown keys are ignored.
func (d *Document) UntagResource(r ResourceARN, keys []string) *Error {
	t, err := d.tagsOf(r)
	if err != nil {
		return err
	}
	for _, k := range keys {
		delete(*t, k)
	}
	if len(*t) == 0 {
		*t = nil
	}
	return nil
}
