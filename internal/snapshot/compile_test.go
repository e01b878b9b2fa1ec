package snapshot

import (
	"errors"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/apigw"
)

func ptr[T any](v T) *T { return &v }

func snap(rse string, keys ...string) *apigw.Snapshot {
	s := &apigw.Snapshot{APIID: "a1", DeploymentID: "d1", API: apigw.Api{RouteSelectionExpression: rse}}
	for i, k := range keys {
		s.Routes = append(s.Routes, apigw.Route{RouteID: string(rune('a' + i)), RouteKey: k, AuthorizationType: apigw.AuthNone})
	}
	return s
}

func TestSelect(t *testing.T) {
	body := `{"service":"chat","action":"join","data":{"room":"room1234"}}`
	for _, tc := range []struct {
		name, rse string
		keys      []string
		body      string
		want      string // "" = no route (Forbidden)
	}{
		{name: "action", rse: "$request.body.action", keys: []string{"join", "$default"}, body: body, want: "join"},
		{name: "braced", rse: "${request.body.action}", keys: []string{"join"}, body: body, want: "join"},
		{name: "concatenated", rse: "${request.body.service}/${request.body.action}", keys: []string{"chat/join", "$default"}, body: body, want: "chat/join"},
		{name: "missing path is empty", rse: "${request.body.action}-${request.body.invalidPath}", keys: []string{"join-"}, body: body, want: "join-"},
		{name: "static", rse: "action", keys: []string{"action"}, body: body, want: "action"},
		{name: "escaped dollar", rse: `\$default`, keys: []string{"$default"}, body: body, want: "$default"},
		{name: "no match falls back", rse: "$request.body.action", keys: []string{"leave", "$default"}, body: body, want: "$default"},
		{name: "no match no default", rse: "$request.body.action", keys: []string{"leave"}, body: body, want: ""},
		{name: "non-JSON goes to default", rse: "$request.body.action", keys: []string{"hi", "$default"}, body: "hi", want: "$default"},
		{name: "selecting $connect is not possible", rse: "$request.body.action", keys: []string{"$connect", "$default"}, body: `{"action":"$connect"}`, want: "$default"},
		{name: "case-sensitive", rse: "$request.body.action", keys: []string{"Join"}, body: body, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Compile(snap(tc.rse, tc.keys...), nil)
			if err != nil {
				t.Fatal(err)
			}
			r, ok := st.Select([]byte(tc.body))
			got := ""
			if ok {
				got = r.Key
			}
			if got != tc.want {
				t.Errorf("selected %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(s *apigw.Snapshot)
		want string
	}{
		{name: "bad route selection", mod: func(s *apigw.Snapshot) { s.API.RouteSelectionExpression = "${request.body.a" }, want: "routeSelectionExpression"},
		{name: "header in route selection", mod: func(s *apigw.Snapshot) { s.API.RouteSelectionExpression = "$request.header.x" }, want: "not supported here"},
		{name: "bad template", mod: func(s *apigw.Snapshot) {
			s.Integrations = []apigw.Integration{{IntegrationID: "i", IntegrationType: "MOCK", RequestTemplates: map[string]string{"$default": "#if($x"}}}
		}, want: "Invalid mapping template"},
		{name: "bad schema", mod: func(s *apigw.Snapshot) {
			s.Models = []apigw.Model{{Name: "M", Schema: `{"type": 5}`}}
		}, want: "Invalid model schema"},
		{name: "remote $ref refused", mod: func(s *apigw.Snapshot) {
			s.Models = []apigw.Model{{Name: "M", Schema: `{"$ref": "file:///etc/passwd"}`}}
		}, want: "Invalid model schema"},
		{name: "bad response key", mod: func(s *apigw.Snapshot) {
			s.Integrations = []apigw.Integration{{IntegrationID: "i", IntegrationType: "MOCK"}}
			s.IntegrationResponses = map[string][]apigw.IntegrationResponse{"i": {{IntegrationResponseKey: "/(/"}}}
		}, want: "integration response key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := snap("$request.body.action", "$default")
			tc.mod(s)
			_, err := Compile(s, nil)
			var e *apigw.Error
			if !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Msg, tc.want) {
				t.Fatalf("got %v, want a 400 mentioning %q", err, tc.want)
			}
		})
	}
}

func TestSettingsAndModels(t *testing.T) {
	s := snap("$request.body.action", "send")
	s.Models = []apigw.Model{
		{Name: "Base", Schema: `{"type":"object","required":["msg"]}`},
		{Name: "Ext", Schema: `{"allOf":[{"$ref":"https://apigateway.amazonaws.com/restapis/a1/models/Base"}],"properties":{"msg":{"type":"string"}}}`},
	}
	s.Routes[0].RequestModels = map[string]string{"$default": "Ext"}
	st, err := Compile(s, &apigw.Stage{StageName: "prod",
		DefaultRouteSettings: &apigw.RouteSettings{ThrottlingRateLimit: ptr(100.0), LoggingLevel: "OFF"},
		RouteSettings:        map[string]apigw.RouteSettings{"send": {ThrottlingBurstLimit: ptr(3)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	eff := st.Settings("send")
	if *eff.ThrottlingRateLimit != 100 || *eff.ThrottlingBurstLimit != 3 || eff.LoggingLevel != "OFF" {
		t.Errorf("effective settings %+v", eff)
	}
	r := st.Routes["send"]
	m, validates := r.RequestModel([]byte(`{}`))
	if !validates || m == nil {
		t.Fatal("no model")
	}
	if m.Validate([]byte(`{"msg":"x"}`)) != nil || m.Validate([]byte(`{}`)) == nil || m.Validate([]byte(`{"msg":1}`)) == nil || m.Validate([]byte(`hi`)) == nil {
		t.Error("validation through a $ref to another model")
	}
}
