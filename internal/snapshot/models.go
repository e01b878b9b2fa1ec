package snapshot

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wsgate/wsgate/internal/apigw"
)

// modelRefRE matches how API Gateway models refer to other models of the
// same API: https://apigateway.amazonaws.com/restapis/{apiId}/models/{name}.
var modelRefRE = regexp.MustCompile(`^https://apigateway\.amazonaws\.com/restapis/[^/]+/models/([A-Za-z0-9]+)$`)

// modelLoader resolves $refs to other models of the API and refuses every
// other URL: a schema must never make the gateway read files or the network.
type modelLoader map[string]any

func (l modelLoader) Load(url string) (any, error) {
	if m := modelRefRE.FindStringSubmatch(url); m != nil {
		if doc, ok := l[m[1]]; ok {
			return doc, nil
		}
		return nil, fmt.Errorf("model %s does not exist in this API", m[1])
	}
	return nil, fmt.Errorf("%s: only references to other models of the API are allowed", url)
}

// compileModels compiles every model's schema (JSON Schema draft 4, as API
// Gateway uses). With disableSchemaValidation a schema that does not compile
// is tolerated and its model validates nothing.
func compileModels(models []apigw.Model, tolerant bool) (map[string]*Model, error) {
	docs := modelLoader{}
	for _, m := range models {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(m.Schema))
		if err != nil {
			if tolerant {
				continue
			}
			return nil, apigw.BadRequest("Invalid model schema specified for %s: %v", m.Name, err)
		}
		docs[m.Name] = doc
	}
	out := map[string]*Model{}
	for _, m := range models {
		cm := &Model{Model: m}
		out[m.Name] = cm
		doc, ok := docs[m.Name]
		if !ok {
			continue
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft4)
		c.UseLoader(docs)
		url := "https://apigateway.amazonaws.com/restapis/api/models/" + m.Name
		if err := c.AddResource(url, doc); err != nil {
			return nil, apigw.BadRequest("Invalid model schema specified for %s: %v", m.Name, err)
		}
		sch, err := c.Compile(url)
		if err != nil {
			if tolerant {
				continue
			}
			return nil, apigw.BadRequest("Invalid model schema specified for %s: %v", m.Name, err)
		}
		cm.schema = sch
	}
	return out, nil
}

// ErrInvalidBody is returned by Validate for a body that does not match.
var ErrInvalidBody = errors.New("request body does not match the model")

// Validate checks a message body against the model; a body that is not
// JSON fails.
func (m *Model) Validate(body []byte) error {
	if m.schema == nil {
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("%w: not JSON: %v", ErrInvalidBody, err)
	}
	if err := m.schema.Validate(inst); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidBody, err)
	}
	return nil
}
