package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/bench/loadgen"
)

func TestBenchRefusesAndExplains(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{name: "remote target", args: []string{"bench", "--url", "ws://10.0.0.1:80/a/b"}, code: 2, contains: "only sends traffic to 127.0.0.0/8"},
		{name: "no target", args: []string{"bench"}, code: 2, contains: "--control"},
		{name: "both targets", args: []string{"bench", "--url", "ws://127.0.0.1:1/a/b", "--control", "http://127.0.0.1:1"}, code: 2, contains: "not both"},
		{name: "route without control plane", args: []string{"bench", "--url", "ws://127.0.0.1:1/a/b", "route-http"}, code: 2, contains: "needs --control"},
		{name: "help", args: []string{"bench", "--help"}, code: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.args...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.contains) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
		})
	}
}

func TestBenchCompare(t *testing.T) {
	dir := t.TempDir()
	reports := map[string]float64{"wsgate-1": 80, "wsgate-2": 90, "wsgate-3": 100, "baseline-1": 100, "baseline-2": 100}
	var paths []string
	for name, v := range reports {
		label, _, _ := strings.Cut(name, "-")
		rep := loadgen.Report{Label: label, Results: []loadgen.Result{{Scenario: "echo", Figures: []loadgen.Figure{{Name: "round trips per second", Value: v}}}}}
		b, _ := json.Marshal(rep)
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	code, stdout, stderr := run(t, append([]string{"bench", "compare", "--markdown"}, paths...)...)
	if code != 0 || !strings.Contains(stdout, "| echo | round trips per second |  | 90 | 100 | 0.90 |") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	code, _, stderr = run(t, "bench", "compare", paths[0])
	if code != 1 || !strings.Contains(stderr, "need runs labelled") {
		t.Fatalf("a single report: exit %d, %s", code, stderr)
	}
}
