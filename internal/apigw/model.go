package apigw

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Model returns the model with id, or a NotFoundException.
func (d *Document) Model(id string) (*Model, *Error) {
	m, ok := d.Models[id]
	if !ok {
		return nil, notFoundID(ResourceModel, id)
	}
	return m, nil
}

// ModelByName returns the model with the given name, or nil.
func (d *Document) ModelByName(name string) *Model {
	for _, m := range d.Models {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// ListModels returns the models ordered by id.
func (d *Document) ListModels() []*Model { return sortedValues(d.Models) }

// CreateModel validates and adds a model.
func (d *Document) CreateModel(env *Env, in *ModelInput) (*Model, *Error) {
	switch {
	case in.Name == nil || *in.Name == "":
		return nil, BadRequest("Missing required member: name")
	case in.Schema == nil:
		return nil, BadRequest("Missing required member: schema")
	}
	if len(d.Models) >= env.Limits.Models {
		return nil, BadRequest("Maximum number of models (%d) reached for this API", env.Limits.Models)
	}
	m := &Model{ContentType: "application/json"}
	if err := d.applyModel(m, in); err != nil {
		return nil, err
	}
	ensure(&d.Models)
	m.ModelID = uniqueID(resourceIDLen, func(id string) bool { _, ok := d.Models[id]; return ok })
	d.Models[m.ModelID] = m
	return m, nil
}

// UpdateModel applies an UpdateModel input.
func (d *Document) UpdateModel(id string, in *ModelInput) (*Model, *Error) {
	m, err := d.Model(id)
	if err != nil {
		return nil, err
	}
	old := m.Name
	c := *m
	if err := d.applyModel(&c, in); err != nil {
		return nil, err
	}
	if c.Name != old && d.modelInUse(old) != "" {
		return nil, Conflict("Model %s is used by route %s and cannot be renamed", old, d.modelInUse(old))
	}
	*m = c
	return m, nil
}

// DeleteModel removes a model no route uses.
func (d *Document) DeleteModel(id string) *Error {
	m, err := d.Model(id)
	if err != nil {
		return err
	}
	if rk := d.modelInUse(m.Name); rk != "" {
		return Conflict("Model %s is used by route %s; remove it from the route's requestModels first", m.Name, rk)
	}
	delete(d.Models, id)
	return nil
}

func (d *Document) modelInUse(name string) string {
	for _, r := range d.ListRoutes() {
		for _, v := range r.RequestModels {
			if v == name {
				return r.RouteKey
			}
		}
	}
	return ""
}

func (d *Document) applyModel(m *Model, in *ModelInput) *Error {
	if in.Name != nil {
		if !modelNameRE.MatchString(*in.Name) {
			return BadRequest("Invalid model name %q: model names are 1 to 128 alphanumeric characters", *in.Name)
		}
		if o := d.ModelByName(*in.Name); o != nil && o.ModelID != m.ModelID {
			return Conflict("Model name already exists for this API: %s", *in.Name)
		}
		m.Name = *in.Name
	}
	if in.Schema != nil {
		if len(*in.Schema) > 32*1024 {
			return BadRequest("schema is longer than 32768 characters")
		}
		var v any
		if err := json.Unmarshal([]byte(*in.Schema), &v); err != nil {
			return BadRequest("Invalid model schema specified: the schema is not valid JSON: %v", err)
		}
		if _, ok := v.(map[string]any); !ok {
			return BadRequest("Invalid model schema specified: the schema must be a JSON object")
		}
		m.Schema = *in.Schema
	}
	if in.ContentType != nil {
		if *in.ContentType != "" {
			if err := checkLen("contentType", *in.ContentType, 1, 256); err != nil {
				return err
			}
		}
		m.ContentType = *in.ContentType
	}
	if in.Description != nil {
		if err := checkLen("description", *in.Description, 0, 1024); err != nil {
			return err
		}
		m.Description = *in.Description
	}
	return nil
}

// ModelTemplate returns a mapping template that copies the model's shape
// from the input, like GetModelTemplate on AWS.
func (d *Document) ModelTemplate(id string) (string, *Error) {
	m, err := d.Model(id)
	if err != nil {
		return "", err
	}
	var schema map[string]any
	if err := json.Unmarshal([]byte(m.Schema), &schema); err != nil {
		return "", BadRequest("Model %s has an invalid schema", m.Name)
	}
	var b strings.Builder
	b.WriteString("#set($inputRoot = $input.path('$'))\n")
	writeTemplate(&b, schema, "$inputRoot", "", 0)
	b.WriteString("\n")
	return b.String(), nil
}

// writeTemplate renders a VTL skeleton for a JSON schema node; depth is
// bounded so that recursive schemas terminate.
func writeTemplate(b *strings.Builder, node map[string]any, ref, indent string, depth int) {
	typ, _ := node["type"].(string)
	if depth > 8 {
		fmt.Fprintf(b, "%s", ref)
		return
	}
	switch typ {
	case "object":
		props, _ := node["properties"].(map[string]any)
		b.WriteString("{\n")
		keys := slices.Sorted(maps.Keys(props))
		for i, k := range keys {
			p, _ := props[k].(map[string]any)
			fmt.Fprintf(b, "%s  %q : ", indent, k)
			writeTemplate(b, p, ref+"."+k, indent+"  ", depth+1)
			if i < len(keys)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	case "array":
		items, _ := node["items"].(map[string]any)
		v := fmt.Sprintf("$elem%d", depth)
		fmt.Fprintf(b, "[\n%s#foreach(%s in %s)\n%s  ", indent, v, ref, indent)
		writeTemplate(b, items, v, indent+"  ", depth+1)
		fmt.Fprintf(b, "#if($foreach.hasNext),#end\n%s#end\n%s]", indent, indent)
	case "string":
		fmt.Fprintf(b, "\"%s\"", ref)
	default:
		b.WriteString(ref)
	}
}
