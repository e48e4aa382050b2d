package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
)

const tokensUsage = "tokens list [-o json] (every token, all pages) | tokens create --name N | tokens revoke ID: the personal API tokens of the user whose token is used (the admin token has none)"

// runTokens is tokens list|create|revoke: /api/v1/tokens, acting for the
// user whose personal token the CLI sends. create prints the new token
// once; list never shows one.
func runTokens(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usageError{"say list, create or revoke"}
	}
	verb := args[0]
	fs := newFlags("tokens "+verb, errOut)
	base, token := clientFlags(fs)
	format := listOutputFlag(fs)
	name := fs.String("name", "", "create: what the token is for")
	if err := parseFlags(fs, idFirst(args[1:])); err != nil {
		return err
	}
	switch verb {
	case "list":
		if fs.NArg() > 0 {
			return usageError{"tokens list takes no arguments"}
		}
	case "create":
		if *name == "" || fs.NArg() > 0 {
			return usageError{"tokens create --name N (say what the token is for)"}
		}
	case "revoke":
		if fs.NArg() != 1 {
			return usageError{"tokens revoke ID (the id tokens list shows)"}
		}
	default:
		return usageError{"unknown tokens verb " + strconv.Quote(verb)}
	}
	c, err := clientFrom(base, token)
	if err != nil {
		return err
	}
	type tokenRow struct {
		ID        int64
		Name      string
		CreatedAt string `json:"created_at"`
		LastUsed  string `json:"last_used"`
	}
	switch verb {
	case "list":
		// Every page: GET /api/v1/tokens answers 1000 tokens at a time.
		var res struct{ Items []tokenRow }
		return c.listPages(ctx, out, *format, "/api/v1/tokens", 0, &res, func(tw io.Writer) {
			fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED")
			for _, t := range res.Items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt[:min(19, len(t.CreatedAt))], t.LastUsed[:min(19, len(t.LastUsed))])
			}
		})
	case "create":
		var res struct {
			tokenRow
			Token string
		}
		return c.list(ctx, out, *format, "POST", "/api/v1/tokens", map[string]string{"name": *name}, &res, func(tw io.Writer) {
			fmt.Fprintf(tw, "token %d (%s):\n%s\n\nStore it now: it is shown only this once.\n", res.ID, res.Name, res.Token)
		})
	}
	if err := c.json(ctx, "DELETE", "/api/v1/tokens/"+url.PathEscape(fs.Arg(0)), nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(out, "token %s revoked\n", fs.Arg(0))
	return nil
}
