package declare_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/declare"
	"github.com/wsgate/wsgate/internal/snapshot"
	"github.com/wsgate/wsgate/internal/store"
	"github.com/wsgate/wsgate/internal/store/boltstore"
)

const file = `
functions:
  fn: {command: [./fn]}
apis:
  - name: chat
    routes:
      $connect: {integration: fn}
      send: {integration: fn, twoWay: true}
      $default: {integration: mock}
    integrations:
      fn: {uri: fn}
      mock:
        type: MOCK
        requestTemplates: {$default: '{"statusCode": 200}'}
        responses:
          - key: $default
            templates: {$default: 'hi'}
    stages:
      prod: {variables: {a: "1"}}
      dev: {}
`

func load(t *testing.T, body string) *config.Config {
	t.Helper()
	c, err := config.Decode(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func apply(t *testing.T, st store.Store, c *config.Config) []declare.Result {
	t.Helper()
	res, err := declare.Apply(context.Background(), declare.Options{Store: st, Config: c, Validate: snapshot.Validate, Functions: map[string]bool{"fn": true}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func doc(t *testing.T, st store.Store, id string) *apigw.Document {
	t.Helper()
	e, err := st.Get(context.Background(), apigw.DocumentKey(id))
	if err != nil {
		t.Fatal(err)
	}
	var d apigw.Document
	if err := json.Unmarshal(e.Value, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func TestApplyIsIdempotent(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	first := apply(t, st, load(t, file))
	if len(first) != 1 || !first[0].Created || len(first[0].Deployments) != 2 {
		t.Fatalf("first apply: %+v", first)
	}
	d1 := doc(t, st, first[0].APIID)
	if it := d1.Integrations[d1.RouteByKey("send").TargetIntegration()]; it.IntegrationURI != "arn:aws:lambda:us-east-1:000000000000:function:fn" {
		t.Errorf("a local function's uri is not its ARN: %q", it.IntegrationURI)
	}
	if d1.Stages["prod"].StageVariables["a"] != "1" {
		t.Errorf("stage variables %v", d1.Stages["prod"].StageVariables)
	}

	// The same file again: nothing changes.
	second := apply(t, st, load(t, file))
	if second[0].Created || second[0].Changed || second[0].APIID != first[0].APIID {
		t.Fatalf("second apply changed something: %+v", second)
	}
	d2 := doc(t, st, first[0].APIID)
	b1, _ := json.Marshal(d1)
	b2, _ := json.Marshal(d2)
	if string(b1) != string(b2) {
		t.Fatalf("document changed on a no-op apply:\n%s\n%s", b1, b2)
	}
	entries, _ := st.List(context.Background(), apigw.DocumentPrefix)
	if len(entries) != 1 {
		t.Fatalf("%d APIs after two applies", len(entries))
	}

	// A stage-only change applies without a deployment; a route change
	// redeploys every declared stage, keeping unchanged ids.
	changed := strings.Replace(file, `prod: {variables: {a: "1"}}`, `prod: {variables: {a: "2"}}`, 1)
	third := apply(t, st, load(t, changed))
	if !third[0].Changed || len(third[0].Deployments) != 0 {
		t.Fatalf("stage change: %+v", third[0])
	}
	withRoute := strings.Replace(changed, "      $default: {integration: mock}", "      $default: {integration: mock}\n      leave: {integration: fn}", 1)
	fourth := apply(t, st, load(t, withRoute))
	if !fourth[0].Changed || len(fourth[0].Deployments) != 2 {
		t.Fatalf("route change: %+v", fourth[0])
	}
	d4 := doc(t, st, first[0].APIID)
	if d4.RouteByKey("send").RouteID != d1.RouteByKey("send").RouteID {
		t.Error("an unchanged route got a new id")
	}
	if d4.RouteByKey("leave") == nil {
		t.Error("the new route is missing")
	}
	// Content read back equals a fresh apply's.
	if fifth := apply(t, st, load(t, withRoute)); fifth[0].Changed {
		t.Fatalf("apply after a change is not stable: %+v", fifth[0])
	}
}

func TestApplyFixedIDAndDuplicates(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	withID := strings.Replace(file, "  - name: chat\n", "  - name: chat\n    id: chat\n", 1)
	res := apply(t, st, load(t, withID))
	if res[0].APIID != "chat" {
		t.Fatalf("fixed id: %+v", res[0])
	}
	// Two APIs with the declared name and no id: ambiguous, a clear error.
	if _, err := st.Create(context.Background(), apigw.DocumentKey("other00000"), mustJSON(t, &apigw.Document{API: apigw.Api{APIID: "other00000", Name: "chat", ProtocolType: "WEBSOCKET"}})); err != nil {
		t.Fatal(err)
	}
	_, err = declare.Apply(context.Background(), declare.Options{Store: st, Config: load(t, file), Validate: snapshot.Validate})
	if err == nil || !strings.Contains(err.Error(), "two APIs are named") {
		t.Fatalf("ambiguous name: %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestApplyRejectsBadStageSettings(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct{ name, from, to, want string }{
		{name: "logging level", from: `prod: {variables: {a: "1"}}`, to: `prod: {defaultRouteSettings: {loggingLevel: LOUD}}`, want: "loggingLevel"},
		{name: "stage variable value", from: `prod: {variables: {a: "1"}}`, to: `prod: {variables: {a: "has space"}}`, want: "Stage variable value"},
		{name: "negative rate", from: `prod: {variables: {a: "1"}}`, to: `prod: {routeSettings: {send: {throttlingRateLimit: -1}}}`, want: "throttlingRateLimit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := declare.Apply(context.Background(), declare.Options{Store: st, Config: load(t, strings.Replace(file, tc.from, tc.to, 1)), Validate: snapshot.Validate})
			if err == nil || !strings.Contains(err.Error(), "stages[prod]") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about stages[prod] %s", err, tc.want)
			}
		})
	}
}
