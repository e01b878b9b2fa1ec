package cli

import (
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/gwtest"
)

const echoAPI = `
apis:
  - name: echo
    id: echo
    routes:
      $default: {integration: mock, twoWay: true}
    integrations:
      mock:
        type: MOCK
        requestTemplates: {$default: '{"statusCode": 200, "m": $input.json(''$'')}'}
        responses:
          - key: $default
            templates: {$default: 'echo $input.json(''$.m'')'}
    stages:
      prod: {}
`

func TestConnectAndConn(t *testing.T) {
	cfg, err := config.Decode(strings.NewReader(echoAPI))
	if err != nil {
		t.Fatal(err)
	}
	gw := gwtest.Start(t, cfg)
	url := "ws://" + gw.Host() + "/echo/prod"

	code, out, errs := run(t, "connect", "-x", `{"a":1}`, "-wait", "5s", url)
	if code != 0 || !strings.Contains(out, `< echo {"a":1}`) {
		t.Fatalf("connect -x: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	// A rejected handshake says so.
	code, _, errs = run(t, "connect", "-x", "hi", "ws://"+gw.Host()+"/echo/nope")
	if code != 1 || !strings.Contains(errs, "HTTP 403") {
		t.Errorf("rejected handshake: exit %d %s", code, errs)
	}
	// conn talks to the management endpoint.
	code, out, errs = run(t, "conn", "--url", gw.URL, "--api", "echo", "--stage", "prod", "broadcast", "hello")
	if code != 0 || !strings.Contains(out, "queued to 0 connection(s)") {
		t.Errorf("conn broadcast: exit %d %q %q", code, out, errs)
	}
	code, _, errs = run(t, "conn", "--url", gw.URL, "--api", "echo", "--stage", "prod", "get", "R1kmxc2VNjMCFIA=")
	if code != 1 || !strings.Contains(errs, "GoneException") {
		t.Errorf("conn get of an unknown id: exit %d %q", code, errs)
	}
}
