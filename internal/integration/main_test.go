package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// echoBinary is the handler under testdata/echo, built once by TestMain;
// buildErr says why it could not be built (tests that need it fail with it).
var (
	echoBinary string
	buildErr   error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "integration-handlers-")
	if err != nil {
		buildErr = err
	} else {
		echoBinary = filepath.Join(dir, "echo")
		buildErr = buildHandler(echoBinary, "./testdata/echo")
	}
	// The testing package exits with m.Run's code when TestMain returns.
	m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// buildHandler builds the main package pkg into out.
func buildHandler(out, pkg string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", out, pkg)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, buf.String())
	}
	return nil
}
