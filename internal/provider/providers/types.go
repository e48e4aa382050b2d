package providers

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/berthhq/berth/internal/provider"
	"github.com/berthhq/berth/internal/provider/scim"
	"github.com/berthhq/berth/internal/provider/sftp"
	"github.com/berthhq/berth/internal/provider/sim"
	"github.com/berthhq/berth/internal/provider/webhook"
)

// table is every provider type this build knows: the one place a provider
// type is added. types_test.go fails if an entry lacks any of its pieces
// (settings that match its Config, a zero config that is refused, secrets
// marked, opening).
var table = []Type{
	define(Type{
		Name:        "sim",
		Description: "The built-in simulated provider, for trials and tests.",
		Example:     `{"latency_ms": 50, "fail_rate": 0.01}`,
		Fields: []Field{
			{Name: "latency_ms", Kind: "integer", Description: "Added to every call, in milliseconds.", Min: num(0), Default: 0},
			{Name: "fail_rate", Kind: "number", Description: "Probability from 0 to 1 that a delivery or removal fails with a retryable error.",
				Min: num(0), Max: num(1), Default: 0},
			{Name: "down", Kind: "boolean", Description: "Makes the pool unreachable: every call fails.", Default: false},
			{Name: "dir", Kind: "string", Description: "Absolute directory where members are also kept as files (mode 0600), " +
				"so deliveries outlive the process."},
		}},
		func(env Env, pool string, c sim.Config) (provider.Provider, error) {
			return env.sims().New(pool, c), nil
		}),

	define(Type{
		Name: "sftp",
		Description: "Delivers credential files to a server over SFTP. Set exactly one of private_key and password, " +
			"and exactly one of host_key and known_hosts.",
		Example: `{"host": "10.0.0.5", "port": 22, "user": "ubuntu", "password": "change-me",
			"host_key": "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", "dir": "/home/ubuntu/sessions"}`,
		Fields: []Field{
			{Name: "host", Kind: "string", Required: true, Description: "Host name or IP address, without a port.", Example: "10.0.0.5"},
			{Name: "port", Kind: "integer", Description: "SSH port.", Min: num(1), Max: num(65535), Default: 22},
			{Name: "user", Kind: "string", Required: true, Description: "Account the files are delivered as.", Example: "ubuntu"},
			{Name: "private_key", Kind: "string", Secret: true, Description: "Unencrypted private key, OpenSSH or PEM."},
			{Name: "password", Kind: "string", Secret: true, Description: "Password."},
			{Name: "host_key", Kind: "string", Description: "SHA256 fingerprint of one of the server's host keys.",
				Example: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"},
			{Name: "known_hosts", Kind: "string", Description: "Contents of a known_hosts file naming the server."},
			{Name: "dir", Kind: "string", Required: true, Description: "Absolute, clean directory the files go into; created with mode 0700.",
				Example: "/home/ubuntu/sessions"},
			{Name: "after_put", Kind: "array", Items: "string", Description: "Command run over the same SSH connection after every delivery " +
				"(e.g. a worker reload), as an argv list: the elements \"{account}\", \"{file}\" and \"{path}\" (whole elements only) " +
				"become the account id, the file name and the file's full path. Each element is quoted for the server's POSIX shell, " +
				"never interpolated. A non-zero exit fails the delivery: retryable, or member-permanent for an exit code in " +
				"permanent_exit_codes. Its exit status and a redacted part of its output are written in the history.",
				Example: []any{"/usr/local/bin/reload-worker", "{account}", "{path}"}},
			{Name: "after_remove", Kind: "array", Items: "string", Description: "Command run the same way after every removal " +
				"(also when the file was already gone: make it idempotent)."},
			{Name: "command_timeout_seconds", Kind: "integer", Description: "Longest run of after_put or after_remove; " +
				"a command still running is killed and the call retried. Keep it well under BERTH_JOB_TIMEOUT.",
				Min: num(1), Max: num(float64(sftp.MaxCommandTimeout / time.Second)), Default: int(sftp.DefaultCommandTimeout / time.Second)},
			{Name: "permanent_exit_codes", Kind: "array", Items: "integer", Description: "Exit codes of after_put and after_remove " +
				"meaning the member can never go into this pool (member-permanent); any other non-zero exit is retried.",
				Example: []any{2}},
		}},
		func(_ Env, _ string, c sftp.Config) (provider.Provider, error) { return sftp.New(c) }),

	define(Type{
		Name:        "scim",
		Description: "Provisions users on a team through SCIM 2.0.",
		Example:     `{"base_url": "https://example.com/scim/v2", "token": "change-me", "deprovision": "deactivate"}`,
		Fields: []Field{
			{Name: "base_url", Kind: "string", Required: true, Description: "SCIM base URL.", Example: "https://example.com/scim/v2"},
			{Name: "token", Kind: "string", Required: true, Secret: true, Description: "Bearer token."},
			{Name: "deprovision", Kind: "string", Description: "What removing a user does.",
				Enum: []string{scim.DeprovisionDelete, scim.DeprovisionDeactivate}},
			{Name: "group", Kind: "string", Description: "Group the users are added to."},
		}},
		func(_ Env, _ string, c scim.Config) (provider.Provider, error) { return scim.New(c) }),

	define(Type{
		Name:        "webhook",
		Description: "Calls a URL for every delivery and removal.",
		Example:     `{"url": "https://example.com/hook", "secret": "change-me-to-32-random-bytes-hex"}`,
		Fields: []Field{
			{Name: "url", Kind: "string", Required: true, Description: "URL to call.", Example: "https://example.com/hook"},
			{Name: "secret", Kind: "string", Secret: true, Description: "Signing secret."},
		}},
		func(_ Env, pool string, c webhook.Config) (provider.Provider, error) { return webhook.New(pool, c) }),
}

// Type is one provider type: its name, the settings it takes and how they
// are validated and opened. Build one with define.
type Type struct {
	// Name is the value of the settings' "type", e.g. "sftp".
	Name string
	// Description says what the type does, for the API documentation.
	Description string
	// Example is valid settings (a JSON object, without "type"), shown in
	// the API documentation; types_test.go validates and opens it.
	Example string
	// Fields are the settings the type takes, in the order documented.
	Fields []Field

	config   reflect.Type // the type's Config struct
	validate func(body []byte) ([]byte, error)
	open     func(env Env, pool string, cfg []byte) (provider.Provider, error)
}

// Field is one setting of a provider type, as the API documents it.
type Field struct {
	// Name is the setting's JSON key (the json tag of its Config field).
	Name string
	// Kind is its JSON type: string, integer, number, boolean or array.
	Kind string
	// Items is the JSON type of an array's elements (string or integer).
	Items string
	// Description says what it is, for the API documentation.
	Description string
	// Required settings must be present.
	Required bool
	// Secret settings are write-only: shown as "(set)", redacted in the
	// audit log.
	Secret bool
	// Enum, when set, lists the values allowed.
	Enum []string
	// Min and Max bound a number, when set.
	Min, Max *float64
	// Default is the value used when the setting is left out, if any.
	Default any
	// Example is a typical value, if any.
	Example any
}

// Secrets lists the names of t's secret settings.
func (t Type) Secrets() []string {
	var out []string
	for _, f := range t.Fields {
		if f.Secret {
			out = append(out, f.Name)
		}
	}
	return out
}

func num(v float64) *float64 { return &v }

// config is what each provider package's Config offers.
type config interface{ Validate() error }

// define completes the table entry t of a provider type whose settings
// decode into C: validation decodes strictly (unknown settings refused),
// calls C's Validate and stores the settings re-encoded; opening decodes the
// stored settings and calls open.
func define[C config](t Type, open func(env Env, pool string, c C) (provider.Provider, error)) Type {
	name := t.Name
	t.config = reflect.TypeFor[C]()
	t.validate = func(body []byte) ([]byte, error) {
		var c C
		if err := decode(body, &c); err != nil {
			return nil, fmt.Errorf("provider %s: %v", name, err)
		}
		if err := c.Validate(); err != nil {
			return nil, err
		}
		return json.Marshal(c)
	}
	t.open = func(env Env, pool string, cfg []byte) (provider.Provider, error) {
		var c C
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, err
		}
		return open(env, pool, c)
	}
	return t
}
