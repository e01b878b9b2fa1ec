package cli

import "context"

func runBench(ctx context.Context, args []string, s stdio) error {
	return usageErr("bench: not available yet")
}
