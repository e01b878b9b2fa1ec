package gateway

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"time"
)

// buildTimeout bounds one function's build step.
const buildTimeout = 5 * time.Minute

// buildFunctions runs each function's build command once, in the order of
// their names, before any function starts.
func (g *Gateway) buildFunctions(ctx context.Context) error {
	cfg := g.cfg
	for _, name := range slices.Sorted(maps.Keys(cfg.Functions)) {
		f := cfg.Functions[name]
		if len(f.Build) == 0 {
			continue
		}
		dir := cfg.Dir()
		if f.Dir != "" {
			dir = cfg.Resolve(f.Dir)
		}
		bctx, cancel := context.WithTimeout(ctx, buildTimeout)
		cmd := exec.CommandContext(bctx, f.Build[0], f.Build[1:]...)
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		g.log.Info("building function", "function", name, "command", f.Build)
		err := cmd.Run()
		cancel()
		if err != nil {
			return fmt.Errorf("functions.%s.build %q in %s failed: %w\n%s", name, f.Build, dir, err, out.Bytes())
		}
		g.log.Info("built function", "function", name, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}
