// Package providers turns a pool's stored provider settings into a working
// provider.Provider, and validates settings given by an operator.
package providers

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/scim"
	"github.com/berthhq/berth/internal/provider/sftp"
	"github.com/berthhq/berth/internal/provider/sim"
	"github.com/berthhq/berth/internal/provider/webhook"
)

// Types lists the provider types this build knows.
func Types() []string { return []string{"sim", "sftp", "scim", "webhook"} }

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
	switch head.Type {
	case "sim":
		var c sim.Config
		if err := decode(body, &c); err != nil {
			return "", nil, fmt.Errorf("provider sim: %v", err)
		}
		if err := c.Validate(); err != nil {
			return "", nil, err
		}
		cfg, err = json.Marshal(c)
	case "sftp":
		var c sftp.Config
		if err := decode(body, &c); err != nil {
			return "", nil, fmt.Errorf("provider sftp: %v", err)
		}
		if err := c.Validate(); err != nil {
			return "", nil, err
		}
		cfg, err = json.Marshal(c)
	case "scim":
		var c scim.Config
		if err := decode(body, &c); err != nil {
			return "", nil, fmt.Errorf("provider scim: %v", err)
		}
		if err := c.Validate(); err != nil {
			return "", nil, err
		}
		cfg, err = json.Marshal(c)
	case "webhook":
		var c webhook.Config
		if err := decode(body, &c); err != nil {
			return "", nil, fmt.Errorf("provider webhook: %v", err)
		}
		if err := c.Validate(); err != nil {
			return "", nil, err
		}
		cfg, err = json.Marshal(c)
	case "":
		return "", nil, fmt.Errorf(`provider.type is required: one of %v`, Types())
	default:
		return "", nil, fmt.Errorf("provider.type %q is not known: use one of %v", head.Type, Types())
	}
	return head.Type, cfg, err
}

// Open builds the provider of a pool from its stored settings.
func Open(poolName, typ string, cfg []byte) (provider.Provider, error) {
	switch typ {
	case "sim":
		var c sim.Config
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, err
		}
		return sim.New(poolName, c), nil
	case "sftp":
		var c sftp.Config
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, err
		}
		return sftp.New(c)
	case "scim":
		var c scim.Config
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, err
		}
		return scim.New(c)
	case "webhook":
		var c webhook.Config
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, err
		}
		return webhook.New(poolName, c)
	}
	return nil, provider.Errorf(provider.PoolPermanent, "unknown provider type %q", typ)
}

// Public returns the settings an admin may see: secrets are write-only.
func Public(typ string, cfg []byte) map[string]any {
	out := map[string]any{}
	_ = json.Unmarshal(cfg, &out)
	for _, k := range []string{"private_key", "password", "token", "secret"} {
		if _, ok := out[k]; ok {
			out[k] = "(set)"
		}
	}
	out["type"] = typ
	return out
}
