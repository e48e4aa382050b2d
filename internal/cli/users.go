package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
)

const usersUsage = "users list [-o json] (every user, all pages) | users create --username N --role viewer|operator|admin --password P|@FILE | users edit ID [--role R] [--password P|@FILE] [--disabled=true|false] | users delete ID"

// userRow is a user as GET /api/v1/users answers it.
type userRow struct {
	ID       int64
	Name     string `json:"username"`
	Role     string
	Disabled bool
}

// runUsers is users list|create|edit|delete: the admin routes /api/v1/users. A
// password may be read from a file (--password @FILE) so it is not in
// shell history; it is never printed.
func runUsers(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usageError{"say list, create, edit or delete"}
	}
	verb := args[0]
	fs := newFlags("users "+verb, errOut)
	base, token := clientFlags(fs)
	format := listOutputFlag(fs)
	username := fs.String("username", "", "create: the name the user signs in with")
	name := fs.String("name", "", "create: deprecated alias of --username")
	role := fs.String("role", "", "viewer, operator or admin")
	password := fs.String("password", "", "the password, or @FILE to read it from FILE")
	disabled := fs.Bool("disabled", false, "edit: true signs the user out and refuses sign-in; false allows it again")
	if err := parseFlags(fs, idFirst(args[1:])); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	pw, err := secretValue("--password", *password)
	if err != nil {
		return err
	}
	var method, path string
	var body map[string]any
	switch verb {
	case "list":
		if fs.NArg() > 0 {
			return usageError{"users list takes no arguments"}
		}
		method, path = "GET", "/api/v1/users"
	case "create":
		if *username == "" {
			*username = *name
		} else if *name != "" && *name != *username {
			return usageError{"users create: --username and --name (its deprecated alias) disagree: give only --username"}
		}
		if *username == "" || *role == "" || pw == "" || fs.NArg() > 0 {
			return usageError{"users create --username N --role viewer|operator|admin --password P|@FILE"}
		}
		method, path, body = "POST", "/api/v1/users", map[string]any{"username": *username, "role": *role, "password": pw}
	case "edit":
		if fs.NArg() != 1 {
			return usageError{"users edit ID [--role R] [--password P|@FILE] [--disabled=true|false]"}
		}
		body = map[string]any{}
		if set["role"] {
			body["role"] = *role
		}
		if set["password"] {
			body["password"] = pw
		}
		if set["disabled"] {
			body["disabled"] = *disabled
		}
		if len(body) == 0 {
			return usageError{"users edit: nothing to change: give --role, --password or --disabled"}
		}
		method, path = "PATCH", "/api/v1/users/"+url.PathEscape(fs.Arg(0))
	case "delete":
		if fs.NArg() != 1 {
			return usageError{"users delete ID (the id users list shows)"}
		}
		method, path = "DELETE", "/api/v1/users/"+url.PathEscape(fs.Arg(0))
	default:
		return usageError{"unknown users verb " + strconv.Quote(verb)}
	}
	c, err := clientFrom(base, token)
	if err != nil {
		return err
	}
	if verb == "delete" {
		if err := c.json(ctx, method, path, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(out, "user %s deleted\n", fs.Arg(0))
		return nil
	}
	header := func(tw io.Writer) { fmt.Fprintln(tw, "ID\tNAME\tROLE\tDISABLED") }
	row := func(tw io.Writer, u userRow) { fmt.Fprintf(tw, "%d\t%s\t%s\t%t\n", u.ID, u.Name, u.Role, u.Disabled) }
	if verb == "list" {
		// Every page: GET /api/v1/users answers 1000 users at a time.
		var res struct{ Items []userRow }
		return c.listPages(ctx, out, *format, path, 0, &res, func(tw io.Writer) {
			header(tw)
			for _, u := range res.Items {
				row(tw, u)
			}
		})
	}
	var res userRow
	return c.list(ctx, out, *format, method, path, body, &res, func(tw io.Writer) {
		header(tw)
		row(tw, res)
	})
}
