package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wsgate/wsgate/client"
)

const connHelp = `Manages the connections of one stage through its @connections endpoint
(the same one handlers use: AWS's operations plus wsgate's extensions).
Requests are signed with SigV4 using AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
(or any key pair when the gateway has no credentials configured).

Subcommands:
  list [--group G] [--principal P] [--meta KEY=VALUE]   list live connections (JSON lines)
  get ID                                                describe one connection
  post ID [DATA]                                        send DATA (or stdin) to one connection
  delete ID                                             close one connection (1000)
  broadcast [--exclude ID] [DATA]                       send to every connection of the stage
  group GROUP [--exclude ID] [DATA]                     send to every member of a group
  user PRINCIPAL [--exclude ID] [DATA]                  send to every connection of a principal
  join ID GROUP | leave ID GROUP                        change a connection's groups

The stage is given with --endpoint http://HOST:PORT/{apiId}/{stage}, or with
--url http://HOST:PORT --api ID --stage NAME, or with
AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI.`

func runConn(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(s, "conn", "conn [--endpoint URL | --url URL --api ID --stage NAME] SUBCOMMAND [args]", connHelp)
	endpoint := fs.String("endpoint", os.Getenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"), "the stage's management `endpoint`")
	base := fs.String("url", "http://127.0.0.1:8080", "gateway base `URL` (with --api and --stage)")
	api := fs.String("api", "", "API `id`")
	stage := fs.String("stage", "", "stage `name`")
	group := fs.String("group", "", "list: only members of this `group`")
	principal := fs.String("principal", "", "list: only connections of this `principal`")
	meta := fs.String("meta", "", "list: only connections with metadata `KEY=VALUE` (or KEY)")
	exclude := fs.String("exclude", "", "fan-out: leave out this connection `id`")
	if err := parse(fs, args, s); err != nil {
		return err
	}
	if *api != "" || *stage != "" {
		if *api == "" || *stage == "" {
			return usageErr("--api and --stage go together")
		}
		*endpoint = strings.TrimSuffix(*base, "/") + "/" + *api + "/" + *stage
	}
	if *endpoint == "" {
		return usageErr("which stage? give --endpoint, or --api and --stage")
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		// Any key pair is accepted by a gateway without credentials.
		os.Setenv("AWS_ACCESS_KEY_ID", "wsgate")
		os.Setenv("AWS_SECRET_ACCESS_KEY", "wsgate")
	}
	c, err := client.New(*endpoint, client.Options{})
	if err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return usageErr("a subcommand is required")
	}
	arg := func(i int, what string) (string, error) {
		if len(rest) <= i {
			return "", usageErr("conn %s: missing %s", rest[0], what)
		}
		return rest[i], nil
	}
	data := func(i int) ([]byte, error) {
		if len(rest) > i {
			return []byte(rest[i]), nil
		}
		return io.ReadAll(io.LimitReader(s.in, 128<<10+1))
	}
	enc := json.NewEncoder(s.out)
	printResult := func(r client.SendResult, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(s.out, "queued to %d connection(s), dropped %d (full queues)\n", r.Queued, r.Dropped)
		return nil
	}
	switch rest[0] {
	case "list":
		in := client.ListInput{Group: *group, PrincipalID: *principal}
		if *meta != "" {
			in.MetadataKey, in.MetadataValue, _ = strings.Cut(*meta, "=")
		}
		all, err := c.ListAll(ctx, in)
		if err != nil {
			return err
		}
		for _, conn := range all {
			_ = enc.Encode(conn)
		}
		return nil
	case "get":
		id, err := arg(1, "connection id")
		if err != nil {
			return err
		}
		conn, err := c.Get(ctx, id)
		if err != nil {
			return err
		}
		return enc.Encode(conn)
	case "post":
		id, err := arg(1, "connection id")
		if err != nil {
			return err
		}
		d, err := data(2)
		if err != nil {
			return err
		}
		return c.Post(ctx, id, d)
	case "delete":
		id, err := arg(1, "connection id")
		if err != nil {
			return err
		}
		return c.Delete(ctx, id)
	case "broadcast":
		d, err := data(1)
		if err != nil {
			return err
		}
		return printResult(c.Broadcast(ctx, d, *exclude))
	case "group", "user":
		target, err := arg(1, rest[0])
		if err != nil {
			return err
		}
		d, err := data(2)
		if err != nil {
			return err
		}
		if rest[0] == "group" {
			return printResult(c.SendToGroup(ctx, target, d, *exclude))
		}
		return printResult(c.SendToUser(ctx, target, d, *exclude))
	case "join", "leave":
		id, err := arg(1, "connection id")
		if err != nil {
			return err
		}
		g, err := arg(2, "group")
		if err != nil {
			return err
		}
		if rest[0] == "join" {
			return c.Join(ctx, id, g)
		}
		return c.Leave(ctx, id, g)
	}
	return usageErr("unknown conn subcommand %q", rest[0])
}
