package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
)

// listOutputFlag adds -o to a listing verb: table (the default, aligned
// columns) or json (the API's answer, indented). text, the word of
// outputFlag (version, migrate --status), is taken as table.
func listOutputFlag(fs *flag.FlagSet) *string {
	return fs.String("o", "table", "output format: table or json (the API's answer)")
}

// parseFlags parses args into fs. A mistake in them is a usageError (exit
// 2); -h stays flag.ErrHelp (exit 0). When fs has -o (listOutputFlag) its
// value is checked too.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if o := fs.Lookup("o"); o != nil {
		switch o.Value.String() {
		case "table", "text", "json":
		default:
			return usageError{fmt.Sprintf("-o %q: want table or json", o.Value.String())}
		}
	}
	return nil
}

// list asks the API with method and path (in: the JSON body, nil for none)
// and prints the answer: as the API's JSON when format is json, else
// written by table to an aligned tabwriter. The answer is decoded into v
// either way.
func (c *client) list(ctx context.Context, out io.Writer, format, method, path string, in, v any, table func(w io.Writer)) error {
	var raw json.RawMessage
	if err := c.json(ctx, method, path, in, &raw); err != nil {
		return err
	}
	return printAnswer(out, format, raw, v, table)
}

// printAnswer decodes raw, an API answer, into v (for the caller to look
// at, whatever the format) and prints it as list does.
func printAnswer(out io.Writer, format string, raw json.RawMessage, v any, table func(w io.Writer)) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if format == "json" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := out.Write(buf.Bytes())
		return err
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// listPages prints a paged listing as list does, read through pages (up
// to max items; 0: every page).
func (c *client) listPages(ctx context.Context, out io.Writer, format, path string, max int, v any, table func(w io.Writer)) error {
	raw, err := c.pages(ctx, path, max)
	if err != nil {
		return err
	}
	return printAnswer(out, format, raw, v, table)
}

// pages reads the pages of a listing that answers next_cursor (pools,
// users, tokens, codes, history) until it has max items (0: every page)
// and returns one answer holding them, as a listing without pages would:
// a --limit above the API's own page bound (history answers at most
// 10,000 rows a page) is still honoured.
func (c *client) pages(ctx context.Context, path string, max int) (json.RawMessage, error) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	items := []json.RawMessage{}
	for cursor := ""; ; {
		p := path
		if cursor != "" {
			p += sep + "cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := c.json(ctx, "GET", p, nil, &page); err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
		if max > 0 && len(items) >= max {
			items = items[:max]
			break
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	return json.Marshal(map[string]any{"items": items})
}
