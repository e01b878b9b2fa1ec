package controlapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/controlapi"
	"github.com/wsgate/wsgate/internal/snapshot"
	"github.com/wsgate/wsgate/internal/store/boltstore"
)

// FuzzControlPlane sends arbitrary methods, paths and bodies to the control
// plane: it must never panic, never answer 5xx, and every error must carry
// x-amzn-ErrorType and a JSON object body with a string message.
func FuzzControlPlane(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"POST", "/v2/apis", `{"name":"x","protocolType":"WEBSOCKET","routeSelectionExpression":"$request.body.action"}`},
		{"GET", "/v2/apis?maxResults=5&nextToken=abc", ""},
		{"PATCH", "/v2/apis/a1/stages/prod", `{"stageVariables":{"k":""}}`},
		{"POST", "/v2/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fa1", `{"tags":{"k":"v"}}`},
		{"DELETE", "/v2/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fa1?tagKeys=a&tagKeys=b", ""},
		{"DELETE", "/v2/apis/a1/stages/prod/routesettings/%24default", ""},
		{"POST", "/v2/apis/{api}/routes", `{"routeKey":"$connect","authorizationType":"CUSTOM","authorizerId":"x"}`},
		{"POST", "/v2/apis/{api}/integrations", `{"integrationType":"HTTP","integrationUri":"http://[::1","integrationMethod":"GET"}`},
		{"POST", "/v2/apis/{api}/integrations", `{"integrationType":"AWS_PROXY","integrationUri":"arn:aws:lambda:us-east-1:1:function:f","timeoutInMillis":"x"}`},
		{"POST", "/v2/apis/{api}/stages", `{"stageName":"prod","stageVariables":{"a":null},"routeSettings":{"$default":{"throttlingRateLimit":-1}}}`},
		{"POST", "/v2/apis/{api}/deployments", `{"stageName":"prod"}`},
		{"POST", "/v2/apis/{api}/models", `{"name":"M","schema":"{\"type\":\"object\"}"}`},
		{"PATCH", "/v2/apis/{api}", `{"routeSelectionExpression":"${request.body.a"}`},
		{"PUT", "/v2/apis", `{}`},
		{"GET", "/v2/apis/{api}/routes/%2F..%2F", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, []byte(s.body))
	}
	st, err := boltstore.Open(filepath.Join(f.TempDir(), "fuzz.db"), boltstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	h := controlapi.New(controlapi.Options{Store: st, Validate: snapshot.Validate})

	// One API exists so that paths under it reach the resource handlers.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v2/apis", strings.NewReader(`{"name":"f","protocolType":"WEBSOCKET","routeSelectionExpression":"$request.body.action"}`)))
	var api struct {
		APIID string `json:"apiId"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &api); err != nil || api.APIID == "" {
		f.Fatalf("create api: %d %s", rec.Code, rec.Body)
	}

	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		if !validMethod(method) || !strings.HasPrefix(path, "/v2/") {
			return
		}
		path = strings.ReplaceAll(path, "{api}", api.APIID)
		req, err := http.NewRequest(method, "http://wsgate"+path, bytes.NewReader(body))
		if err != nil {
			return // not a URL net/http would ever hand us
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			if rec.Header().Get("x-amzn-ErrorType") == "" {
				t.Fatalf("%s %s: error %d without x-amzn-ErrorType", method, path, rec.Code)
			}
			var e map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("%s %s: error body is not a JSON object: %q", method, path, rec.Body)
			}
			if _, ok := e["message"].(string); !ok {
				t.Fatalf("%s %s: error body without a string message: %q", method, path, rec.Body)
			}
		}
		if rec.Header().Get("x-amzn-RequestId") == "" {
			t.Fatalf("%s %s: no x-amzn-RequestId", method, path)
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case "GET", "POST", "PATCH", "DELETE", "PUT", "HEAD":
		return true
	}
	return false
}
