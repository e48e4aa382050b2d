package providers_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/provider/providers"
)

// Every secret setting of every provider type is hidden wherever settings
// are shown: "(set)" in a pool's display (providers.Public, what GET
// /api/v1/pools returns) and redacted in the audit log (auth.Redact, on the
// request body and on a pool's before/after snapshot alike).
func TestTable_SecretsHidden(t *testing.T) {
	for _, typ := range providers.All() {
		settings := map[string]any{}
		_ = json.Unmarshal([]byte(typ.Example), &settings)
		for _, f := range typ.Fields {
			if f.Secret {
				settings[f.Name] = "s3cret-" + typ.Name + "-" + f.Name
			}
		}
		cfg, _ := json.Marshal(settings)

		shown := providers.Public(typ.Name, cfg)
		if shown["type"] != typ.Name {
			t.Errorf("%s: Public type = %v", typ.Name, shown["type"])
		}
		for _, name := range typ.Secrets() {
			if shown[name] != "(set)" {
				t.Errorf("%s: Public shows %s = %v, want (set)", typ.Name, name, shown[name])
			}
		}
		for _, f := range typ.Fields {
			if v, ok := settings[f.Name]; ok && !f.Secret && shown[f.Name] != v {
				t.Errorf("%s: Public shows %s = %v, want %v as stored", typ.Name, f.Name, shown[f.Name], v)
			}
		}

		settings["type"] = typ.Name
		body, _ := json.Marshal(map[string]any{"name": "p1", "provider": settings})
		for _, audited := range []json.RawMessage{auth.Redact(body), auth.RedactValue(providers.Public(typ.Name, cfg)),
			auth.RedactValue(map[string]any{"provider": json.RawMessage(cfg)})} {
			if strings.Contains(string(audited), "s3cret-") {
				t.Errorf("%s: the audit log keeps a secret: %s", typ.Name, audited)
			}
		}
		for _, name := range typ.Secrets() {
			if !strings.Contains(string(auth.Redact(body)), `"`+name+`":"`+auth.Redacted+`"`) {
				t.Errorf("%s: %s is not redacted in %s", typ.Name, name, auth.Redact(body))
			}
		}
	}
}
