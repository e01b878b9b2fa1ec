package cli

import (
	"context"
	"fmt"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/declare"
	"github.com/wsgate/wsgate/internal/snapshot"
)

const configHelp = `Checks a configuration file strictly without starting anything: unknown
keys, wrong types, routes naming missing integrations or authorizers, bad
limits, and each declared API built in memory with the control plane's own
rules (expressions, templates, schemas, stage settings). Every problem is
reported with its key path. Exits 0 when the file
is valid, 1 when it is not.`

func runConfig(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(s, "config", "config check FILE", configHelp)
	if err := parse(fs, args, s); err != nil {
		return err
	}
	if fs.NArg() != 2 || fs.Arg(0) != "check" {
		fs.Usage()
		return usageErr("expected: wsgate config check FILE")
	}
	path := fs.Arg(1)
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%s is not valid:\n%w", path, err)
	}
	// The APIs themselves, with the control plane's rules (expressions,
	// templates, schemas, stage settings).
	if err := declare.Check(cfg, snapshot.Validate); err != nil {
		return fmt.Errorf("%s is not valid:\n%w", path, err)
	}
	fmt.Fprintf(s.out, "%s is valid: %d API(s), %d function(s)\n", path, len(cfg.APIs), len(cfg.Functions))
	return nil
}
