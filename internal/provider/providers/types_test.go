package providers

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// jsonKinds maps a Config field's Go kind to the JSON type documented.
var jsonKinds = map[reflect.Kind]string{
	reflect.String: "string", reflect.Bool: "boolean",
	reflect.Int: "integer", reflect.Int32: "integer", reflect.Int64: "integer",
	reflect.Float32: "number", reflect.Float64: "number",
	reflect.Slice: "array",
}

// Every entry of the table declares exactly the settings its Config takes
// (same JSON names, same JSON types), each described.
func TestTable_FieldsMatchConfig(t *testing.T) {
	if len(table) == 0 {
		t.Fatal("the provider type table is empty")
	}
	seen := map[string]bool{}
	for _, typ := range table {
		if typ.Name == "" || seen[typ.Name] || typ.Description == "" {
			t.Errorf("entry %q: a name (once) and a description are required", typ.Name)
		}
		seen[typ.Name] = true
		want := map[string]string{}
		for i := range typ.config.NumField() {
			f := typ.config.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			want[name] = jsonKinds[f.Type.Kind()]
		}
		got := map[string]string{}
		for _, f := range typ.Fields {
			if f.Description == "" {
				t.Errorf("%s.%s has no description", typ.Name, f.Name)
			}
			if _, dup := got[f.Name]; dup {
				t.Errorf("%s.%s is declared twice", typ.Name, f.Name)
			}
			got[f.Name] = f.Kind
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the table declares %v, its Config (%s) takes %v", typ.Name, got, typ.config, want)
		}
	}
}

// Every type's zero settings are either usable (and open) or refused with
// an error naming the type and what is required; its example validates,
// is stored as given and opens; an unknown setting is refused.
func TestTable_ValidateAndOpen(t *testing.T) {
	for _, typ := range table {
		t.Run(typ.Name, func(t *testing.T) {
			gotTyp, cfg, err := Validate(json.RawMessage(`{"type":"` + typ.Name + `"}`))
			if err != nil {
				if msg := err.Error(); !strings.HasPrefix(msg, typ.Name+": ") || !strings.Contains(msg, "required") {
					t.Errorf("zero settings refused with %q, want %q and what is required", msg, typ.Name+": …")
				}
			} else {
				if gotTyp != typ.Name {
					t.Errorf("type = %q", gotTyp)
				}
				if _, err := (Env{}).Open("table-test-zero", typ.Name, cfg); err != nil {
					t.Errorf("zero settings accepted but do not open: %v", err)
				}
			}

			var example map[string]any
			if err := json.Unmarshal([]byte(typ.Example), &example); err != nil {
				t.Fatalf("Example %q is not a JSON object: %v", typ.Example, err)
			}
			example["type"] = typ.Name
			raw, _ := json.Marshal(example)
			gotTyp, cfg, err = Validate(raw)
			if err != nil || gotTyp != typ.Name {
				t.Fatalf("Validate(example) = %q, %v", gotTyp, err)
			}
			var stored map[string]any
			if err := json.Unmarshal(cfg, &stored); err != nil {
				t.Fatal(err)
			}
			for k, v := range example {
				if k != "type" && !reflect.DeepEqual(stored[k], v) {
					t.Errorf("stored %s = %v, sent %v", k, stored[k], v)
				}
			}
			p, err := (Env{}).Open("table-test", typ.Name, cfg)
			if err != nil || p == nil {
				t.Errorf("Env.Open(example) = %v, %v", p, err)
			}

			example["no_such_setting"] = 1
			raw, _ = json.Marshal(example)
			if _, _, err := Validate(raw); err == nil || !strings.Contains(err.Error(), "no_such_setting") {
				t.Errorf("an unknown setting: err = %v, want it named", err)
			}
		})
	}
}

// The derived lists follow the table: Types in order, SecretFields the
// union of each type's secrets, Public hiding each of them.
func TestTable_DerivedLists(t *testing.T) {
	var names, secrets []string
	for _, typ := range table {
		names = append(names, typ.Name)
		secrets = append(secrets, typ.Secrets()...)
		if got, ok := Lookup(typ.Name); !ok || got.Name != typ.Name {
			t.Errorf("Lookup(%q) = %v, %v", typ.Name, got.Name, ok)
		}
	}
	if !slices.Equal(Types(), names) {
		t.Errorf("Types() = %v, want %v", Types(), names)
	}
	slices.Sort(secrets)
	if got := SecretFields(); !slices.Equal(got, slices.Compact(secrets)) {
		t.Errorf("SecretFields() = %v, want %v", got, secrets)
	}
	if _, ok := Lookup("nope"); ok {
		t.Error(`Lookup("nope") found a type`)
	}
	if _, err := (Env{}).Open("p", "nope", nil); err == nil {
		t.Error("Open of an unknown type succeeded")
	}
	for _, raw := range []string{``, `{}`, `{"type":"nope"}`} {
		if _, _, err := Validate(json.RawMessage(raw)); err == nil || (raw != "" && !strings.Contains(err.Error(), strings.Join(Types(), " "))) {
			t.Errorf("Validate(%q) err = %v, want the known types listed", raw, err)
		}
	}
}

// Public hides the type's own secrets, and every type's for a type this
// build does not know.
func TestPublic_Secrets(t *testing.T) {
	all := map[string]any{}
	for _, k := range SecretFields() {
		all[k] = "x"
	}
	cfg, _ := json.Marshal(all)
	for _, typ := range append(table, Type{Name: "gone"}) {
		shown := Public(typ.Name, cfg)
		for _, k := range SecretFields() {
			hidden := typ.Name == "gone" || slices.Contains(typ.Secrets(), k)
			if (shown[k] == "(set)") != hidden {
				t.Errorf("Public(%s) shows %s = %v", typ.Name, k, shown[k])
			}
		}
	}
}
