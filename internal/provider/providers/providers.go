// Package providers turns a pool's stored provider settings into a working
// provider.Provider, and validates settings given by an operator.
//
// Every provider type is one entry of the table in types.go. Validation,
// opening, the list of types, the secret fields (write-only on display,
// redacted in the audit log by internal/auth) and the OpenAPI schema of the
// settings (internal/api/openapi.go) all derive from that entry, so a new
// type is added there and nowhere else.
package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/sim"
)

// Types lists the provider types this build knows, in the table's order.
func Types() []string {
	out := make([]string, len(table))
	for i, t := range table {
		out[i] = t.Name
	}
	return out
}

// All returns the provider type table (types.go), in order.
func All() []Type { return slices.Clone(table) }

// Lookup returns the provider type named name.
func Lookup(name string) (Type, bool) {
	for _, t := range table {
		if t.Name == name {
			return t, true
		}
	}
	return Type{}, false
}

// SecretFields lists, sorted and once each, the setting names that are
// secret in some provider type: Public shows them as "(set)" and the audit
// log (internal/auth) redacts them.
func SecretFields() []string {
	var out []string
	for _, t := range table {
		out = append(out, t.Secrets()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func decode(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Validate checks an operator's provider settings, given as the API's
// provider object ({"type":"sftp","host":…}). It returns the type and the
// settings to store (without "type").
func Validate(raw json.RawMessage) (typ string, cfg []byte, err error) {
	if len(raw) == 0 {
		return "", nil, fmt.Errorf(`provider is required, e.g. {"type":"sim"}`)
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return "", nil, fmt.Errorf("provider: %v", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", nil, fmt.Errorf("provider: %v", err)
	}
	delete(m, "type")
	body, _ := json.Marshal(m)
	if head.Type == "" {
		return "", nil, fmt.Errorf(`provider.type is required: one of %v`, Types())
	}
	t, ok := Lookup(head.Type)
	if !ok {
		return "", nil, fmt.Errorf("provider.type %q is not known: use one of %v", head.Type, Types())
	}
	cfg, err = t.validate(body)
	if err != nil {
		return "", nil, err
	}
	return t.Name, cfg, nil
}

// Env is what opening a provider may need beyond a pool's settings. The
// zero Env is production's.
type Env struct {
	// Sims holds the simulated pools; nil means sim.Default. A test harness
	// gives each berth (and its replicas) a registry of its own, so tests
	// running side by side never share a pool called "team-1".
	Sims *sim.Registry
}

func (e Env) sims() *sim.Registry {
	if e.Sims == nil {
		return sim.Default
	}
	return e.Sims
}

// Open builds the provider of a pool from its stored settings.
func (e Env) Open(poolName, typ string, cfg []byte) (provider.Provider, error) {
	t, ok := Lookup(typ)
	if !ok {
		return nil, provider.Errorf(provider.PoolPermanent, "unknown provider type %q", typ)
	}
	return t.open(e, poolName, cfg)
}

// Public returns the settings an admin may see: the type's secrets (every
// type's, SecretFields, for a type this build does not know) are write-only
// and read "(set)".
func Public(typ string, cfg []byte) map[string]any {
	out := map[string]any{}
	_ = json.Unmarshal(cfg, &out)
	secrets := SecretFields()
	if t, ok := Lookup(typ); ok {
		secrets = t.Secrets()
	}
	for _, k := range secrets {
		if _, ok := out[k]; ok {
			out[k] = "(set)"
		}
	}
	out["type"] = typ
	return out
}
