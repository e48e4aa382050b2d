package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
)

const placementUsage = "placement settings [-o json] | placement set --kind server|team [--group G] --strategy pack|spread|\"\": the strategy stored per pool kind and group, used by every placement that names none (docs/design.md, \"Placement\")"

// runPlacement is placement settings (GET /api/v1/placement/settings) and
// placement set (PUT): an empty --strategy removes the setting.
func runPlacement(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return usageError{"say settings or set"}
	}
	fs := newFlags("placement "+args[0], errOut)
	base, token := clientFlags(fs)
	format := listOutputFlag(fs)
	kind := fs.String("kind", "", "set: server or team")
	group := fs.String("group", "", "set: the members' group label; empty for the whole kind")
	strategy := fs.String("strategy", "", "set: pack or spread; empty removes the setting")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	var res struct {
		Default  string
		Settings []struct {
			Kind, Group, Strategy string
			UpdatedBy             string `json:"updated_by"`
			UpdatedAt             string `json:"updated_at"`
		}
	}
	table := func(w io.Writer) {
		fmt.Fprintln(w, "KIND\tGROUP\tSTRATEGY\tBY\tAT")
		for _, s := range res.Settings {
			g := s.Group
			if g == "" {
				g = "(all)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Kind, g, s.Strategy, s.UpdatedBy, s.UpdatedAt)
		}
		fmt.Fprintf(w, "otherwise\t\t%s\t\t\n", res.Default)
	}
	switch args[0] {
	case "settings":
		if fs.NArg() > 0 {
			return usageError{"placement settings takes no arguments"}
		}
		c, err := clientFrom(base, token)
		if err != nil {
			return err
		}
		return c.list(ctx, out, *format, "GET", "/api/v1/placement/settings", nil, &res, table)
	case "set":
		if *kind == "" || fs.NArg() > 0 {
			return usageError{"placement set --kind server|team [--group G] --strategy pack|spread (an empty strategy removes the setting)"}
		}
		c, err := clientFrom(base, token)
		if err != nil {
			return err
		}
		body := map[string]any{"kind": *kind, "group": *group, "strategy": *strategy}
		return c.list(ctx, out, *format, "PUT", "/api/v1/placement/settings", body, &res, table)
	}
	return usageError{"unknown placement verb " + strconv.Quote(args[0])}
}
