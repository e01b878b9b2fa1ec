package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(""), &out, &errw)
	return code, out.String(), errw.String()
}

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		code     int
		contains []string
	}{
		{name: "the chat example", body: "", code: 0},
		{name: "unknown key", body: "listen: 127.0.0.1:9000\nlisten_port: 3\n", code: 1, contains: []string{"listen_port", "not found"}},
		{name: "missing integration", code: 1, body: `
apis:
  - name: chat
    routes:
      sendmessage: {integration: send}
`, contains: []string{"apis[0].routes[sendmessage].integration", `"send"`}},
		{name: "bad function", code: 1, body: `
functions:
  f:
    command: []
    timeout: 20m
    env: {_LAMBDA_SERVER_PORT: "1"}
`, contains: []string{"functions.f.command", "functions.f.timeout", "functions.f.env._LAMBDA_SERVER_PORT"}},
		{name: "bad template and stage setting", code: 1, body: `
apis:
  - name: x
    routes:
      $default: {integration: m}
    integrations:
      m: {type: MOCK, requestTemplates: {$default: '#if($a'}}
    stages:
      prod: {defaultRouteSettings: {loggingLevel: LOUD}}
`, contains: []string{"apis[0] (x)", "Invalid mapping template"}},
		{name: "authorization off $connect", code: 1, body: `
apis:
  - name: x
    routes:
      send: {authorizationType: AWS_IAM}
`, contains: []string{"apis[0].routes[send].authorizationType", "$connect"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "../../examples/chat/gateway.yaml"
			if tc.body != "" {
				path = write(t, tc.body)
			}
			code, out, errs := run(t, "config", "check", path)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			for _, s := range tc.contains {
				if !strings.Contains(errs, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errs)
				}
			}
			if tc.code == 0 && !strings.Contains(out, "is valid") {
				t.Errorf("stdout: %q", out)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := run(t, "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, c := range commands() {
		if !strings.Contains(out, c.name) {
			t.Errorf("root help does not list %s", c.name)
		}
	}
	for _, sub := range []string{"serve", "config", "connect", "conn"} {
		code, out, _ := run(t, sub, "--help")
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%s --help: exit %d, %q", sub, code, out)
		}
	}
	if code, _, errs := run(t, "serve", "--bogus"); code != 2 || !strings.Contains(errs, "bogus") {
		t.Errorf("unknown flag: exit %d %q", code, errs)
	}
	if code, _, _ := run(t, "nope"); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	if code, _, _ := run(t); code != 2 {
		t.Errorf("no command: exit %d", code)
	}
}

func TestServeRefusesOpenNonLoopback(t *testing.T) {
	t.Setenv("WSGATE_ACCESS_KEY_ID", "")
	t.Setenv("WSGATE_SECRET_ACCESS_KEY", "")
	code, _, errs := run(t, "serve", "--listen", "0.0.0.0:0", "--data", t.TempDir())
	if code != 1 || !strings.Contains(errs, "not a loopback address") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}
