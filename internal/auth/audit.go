package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/provider/providers"
	"github.com/berthhq/berth/internal/store"
)

// Redacted replaces secret values in audit rows.
const Redacted = "(redacted)"

// providerSecrets are the secret settings of every provider type, from the
// provider type table (internal/provider/providers/types.go).
var providerSecrets = providers.SecretFields()

// secretKey reports whether a JSON key names a secret: password, token,
// secret, private_key and known_hosts, every provider type's secret settings
// (providers.SecretFields), and any key containing password, secret, token,
// passphrase or private_key (new_password, api_token, …).
func secretKey(k string) bool {
	k = strings.ToLower(k)
	switch k {
	case "password", "token", "secret", "private_key", "known_hosts", "authorization", "cookie":
		return true
	}
	if slices.Contains(providerSecrets, k) {
		return true
	}
	for _, part := range []string{"password", "secret", "token", "passphrase", "private_key"} {
		if strings.Contains(k, part) {
			return true
		}
	}
	return false
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if secretKey(k) && val != nil {
				t[k] = Redacted
			} else {
				t[k] = redactValue(val)
			}
		}
		return t
	case []any:
		for i := range t {
			t[i] = redactValue(t[i])
		}
		return t
	}
	return v
}

// Redact returns JSON with the value of every secret key (see above), at
// any depth, replaced by "(redacted)". Input that is not JSON is never kept:
// it becomes {"unreadable": true, "bytes": n}. Empty input gives nil.
func Redact(raw []byte) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return jsonOf(map[string]any{"unreadable": true, "bytes": len(raw)})
	}
	return jsonOf(redactValue(v))
}

// RedactValue marshals v and redacts it.
func RedactValue(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return Redact(b)
}

func jsonOf(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// Audit writes an audit row. Actor defaults to the caller in ctx and
// RemoteIP to the address WithRemoteIP put there; Before, After and Request
// are redacted here, whatever the caller did. A failure is logged, not
// returned to the caller's request: the action has already happened.
func (s *Service) Audit(ctx context.Context, e store.AuditEntry) {
	if s.st == nil {
		return
	}
	if e.Actor == "" {
		e.Actor = Actor(ctx)
	}
	if e.RemoteIP == "" {
		e.RemoteIP = remoteIPFrom(ctx)
	}
	e.Before, e.After, e.Request = Redact(e.Before), Redact(e.After), Redact(e.Request)
	if _, err := s.st.AuditAdd(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("writing an audit row failed", "action", e.Action, "actor", e.Actor, "err", err)
	}
}

// AuditList reads the audit log, newest first.
func (s *Service) AuditList(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	return s.st.Reader().AuditList(ctx, f)
}
