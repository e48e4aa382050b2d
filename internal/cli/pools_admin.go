package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/provider/providers"
)

// multiFlag collects a flag given several times (--label k=v --label …).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// keyValue splits "k=v"; flag names the flag for the error.
func keyValue(flag, s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", "", usageError{fmt.Sprintf("%s %q: want key=value", flag, s)}
	}
	return k, v, nil
}

// labelMap reads --label k=v flags into a map.
func labelMap(labels multiFlag) (map[string]string, error) {
	l := map[string]string{}
	for _, s := range labels {
		k, v, err := keyValue("--label", s)
		if err != nil {
			return nil, err
		}
		l[k] = v
	}
	return l, nil
}

// idFirst moves a leading ID (pools edit 3 --capacity 5) after the flags,
// where package flag leaves it as an argument.
func idFirst(args []string) []string {
	if len(args) > 1 && !strings.HasPrefix(args[0], "-") {
		return append(append([]string{}, args[1:]...), args[0])
	}
	return args
}

// secretValue reads v, or the file it names when it starts with @ (so a
// secret stays out of shell history); one trailing newline is dropped.
func secretValue(flag, v string) (string, error) {
	if !strings.HasPrefix(v, "@") {
		return v, nil
	}
	b, err := os.ReadFile(v[1:])
	if err != nil {
		return "", usageError{fmt.Sprintf("%s: %v", flag, err)}
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// providerBody builds the API's provider object ({"type":…, settings…})
// from --provider-file (a JSON object, with or without "type"),
// --provider-type and --provider-setting k=v, each setting typed by the
// provider type's table (internal/provider/providers). nil when none of
// them is given.
func providerBody(typ, file string, settings []string) (json.RawMessage, error) {
	if typ == "" && file == "" && len(settings) == 0 {
		return nil, nil
	}
	obj := map[string]any{}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, usageError{"--provider-file: " + err.Error()}
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return nil, usageError{fmt.Sprintf("--provider-file %s: want a JSON object of settings: %v", file, err)}
		}
	}
	if typ != "" {
		obj["type"] = typ
	}
	name, _ := obj["type"].(string)
	if name == "" {
		return nil, usageError{fmt.Sprintf("give --provider-type (one of %s)", strings.Join(providers.Types(), ", "))}
	}
	t, ok := providers.Lookup(name)
	if !ok {
		return nil, usageError{fmt.Sprintf("--provider-type %q: use one of %s", name, strings.Join(providers.Types(), ", "))}
	}
	fields := map[string]providers.Field{}
	var names []string
	for _, f := range t.Fields {
		fields[f.Name] = f
		names = append(names, f.Name)
	}
	sort.Strings(names)
	for _, s := range settings {
		k, v, err := keyValue("--provider-setting", s)
		if err != nil {
			return nil, err
		}
		f, ok := fields[k]
		if !ok {
			return nil, usageError{fmt.Sprintf("--provider-setting %s: provider %s takes %s", k, name, strings.Join(names, ", "))}
		}
		if v, err = secretValue("--provider-setting "+k, v); err != nil {
			return nil, err
		}
		val, err := typedSetting(f, v)
		if err != nil {
			return nil, usageError{fmt.Sprintf("--provider-setting %s: %v", k, err)}
		}
		obj[k] = val
	}
	return json.Marshal(obj)
}

// typedSetting converts v to the JSON kind of f.
func typedSetting(f providers.Field, v string) (any, error) {
	switch f.Kind {
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", v)
		}
		return n, nil
	case "number":
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", v)
		}
		return n, nil
	case "boolean":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", v)
		}
		return b, nil
	case "array":
		var a []any
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return nil, fmt.Errorf(`%q is not a JSON list, e.g. '["/usr/local/bin/reload-worker","{account}"]'`, v)
		}
		return a, nil
	}
	return v, nil
}

// runPoolsWrite is pools create and pools edit ID: POST /api/v1/pools and
// PATCH /api/v1/pools/{id}. The answer shows secrets as "(set)".
func runPoolsWrite(ctx context.Context, args []string, out, errOut io.Writer) error {
	verb := args[0]
	fs := newFlags("pools "+verb, errOut)
	base, token := clientFlags(fs)
	format := listOutputFlag(fs)
	name := fs.String("name", "", "create: the pool's name")
	kind := fs.String("kind", "", "create: server or team")
	capacity := fs.Int("capacity", -1, "seats")
	priority := fs.Int("priority", 0, "higher is filled first")
	weight := fs.Int("weight", 1, "the pool's share of new members, 1-100 (docs/design.md, \"Placement\")")
	var labels, settings multiFlag
	fs.Var(&labels, "label", "k=v, repeatable")
	ptype := fs.String("provider-type", "", "one of "+strings.Join(providers.Types(), ", "))
	fs.Var(&settings, "provider-setting", "k=v, repeatable; v=@FILE reads a secret from FILE")
	pfile := fs.String("provider-file", "", "a JSON object of provider settings")
	if err := parseFlags(fs, idFirst(args[1:])); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	body := map[string]any{}
	if set["capacity"] {
		body["capacity"] = *capacity
	}
	if set["priority"] {
		body["priority"] = *priority
	}
	if set["weight"] {
		body["weight"] = *weight
	}
	if len(labels) > 0 {
		l, err := labelMap(labels)
		if err != nil {
			return err
		}
		body["labels"] = l
	}
	prov, err := providerBody(*ptype, *pfile, settings)
	if err != nil {
		return err
	}
	if prov != nil {
		body["provider"] = prov
	}
	method, path := "POST", "/api/v1/pools"
	if verb == "create" {
		if *name == "" || (*kind != "server" && *kind != "team") || !set["capacity"] || fs.NArg() > 0 {
			return usageError{"pools create --name N --kind server|team --capacity C [--priority P] [--weight W] [--label k=v]… [--provider-type T --provider-setting k=v…]"}
		}
		body["name"], body["kind"] = *name, *kind
	} else {
		if fs.NArg() != 1 || set["name"] || set["kind"] {
			return usageError{"pools edit ID [--capacity C] [--priority P] [--weight W] [--label k=v]… [--provider-type T --provider-setting k=v…] (name and kind do not change)"}
		}
		if len(body) == 0 {
			return usageError{"pools edit: nothing to change: give --capacity, --priority, --weight, --label or provider settings"}
		}
		method, path = "PATCH", "/api/v1/pools/"+url.PathEscape(fs.Arg(0))
	}
	c, err := clientFrom(base, token)
	if err != nil {
		return err
	}
	var res struct {
		ID                   int64
		Name, Kind, Status   string
		Capacity, Used, Free int
		Priority             int
		Provider             map[string]any
	}
	return c.list(ctx, out, *format, method, path, body, &res, func(tw io.Writer) {
		fmt.Fprintln(tw, "ID\tNAME\tKIND\tSTATUS\tUSED/CAP\tPRIORITY\tPROVIDER")
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%d\t%v\n", res.ID, res.Name, res.Kind, res.Status, res.Used, res.Capacity, res.Priority, res.Provider["type"])
	})
}
