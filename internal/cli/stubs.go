package cli

import "context"

func runConnect(ctx context.Context, args []string, s stdio) error {
	return usageErr("connect is not implemented yet")
}

func runConn(ctx context.Context, args []string, s stdio) error {
	return usageErr("conn is not implemented yet")
}

func runBench(ctx context.Context, args []string, s stdio) error {
	return usageErr("bench is not implemented yet")
}
