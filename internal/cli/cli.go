// Package cli implements wsgate's command line: one file per subcommand.
// Subcommands return errors; Run turns them into exit codes and never calls
// os.Exit itself.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Version is wsgate's version, set at build time with -ldflags.
var Version = "dev"

// errUsage marks errors that are the caller's fault; Run exits with 2.
var errUsage = errors.New("usage")

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, io stdio) error
}

type stdio struct {
	in       io.Reader
	out, err io.Writer
}

func commands() []command {
	return []command{
		{"serve", "run the gateway (control plane, @connections, WebSocket clients) on one listener", runServe},
		{"config", "check a configuration file: wsgate config check FILE", runConfig},
		{"connect", "open an interactive WebSocket session (like wscat)", runConnect},
		{"conn", "list, get, post to and delete connections through @connections", runConn},
		{"bench", "load-test a WebSocket gateway (wsgate or any other) on 127.0.0.0/8", runBench},
		{"version", "print the version", func(_ context.Context, _ []string, s stdio) error {
			fmt.Fprintln(s.out, "wsgate", Version)
			return nil
		}},
	}
}

const rootHelp = `wsgate is a self-hosted WebSocket API gateway that speaks AWS API Gateway's
wire protocols: manage it with boto3, the AWS CLI, the AWS SDKs or Terraform
(apigatewayv2), push to clients through @connections, and run unmodified
Lambda handlers locally.

Usage:
  wsgate <command> [flags]

Commands:
%s
Run 'wsgate <command> --help' for a command's flags.
`

// Run runs wsgate with args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) int {
	s := stdio{in: in, out: out, err: errw}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := s.out
		if len(args) == 0 {
			w = s.err
		}
		printRootHelp(w)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args[0] = "version"
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], s)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintln(s.err, "wsgate:", strings.TrimSuffix(err.Error(), ": "+errUsage.Error()))
			return 2
		default:
			fmt.Fprintln(s.err, "wsgate:", err)
			return 1
		}
	}
	fmt.Fprintf(s.err, "wsgate: unknown command %q\n\n", args[0])
	printRootHelp(s.err)
	return 2
}

func printRootHelp(w io.Writer) {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, rootHelp, b.String())
}

// newFlagSet returns a FlagSet whose usage text starts with the command's
// synopsis and description.
func newFlagSet(s stdio, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage:\n  wsgate %s\n\n%s\n", synopsis, strings.TrimSpace(description))
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses flags; a parse error is a usage error. Help asked for with
// -h or --help goes to stdout.
func parse(fs *flag.FlagSet, args []string, s stdio) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(s.out)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%s: %w", err.Error(), errUsage)
	}
	return nil
}

func usageErr(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, errUsage)...)
}
