package api

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/provider/providers"
)

// newDocsServer builds a Server without a database: the document and the
// docs page must not need one.
func newDocsServer(t *testing.T) *Server {
	t.Helper()
	return New(alloc.New(nil, nil, nil), auth.New(auth.Config{AdminTokenHash: sha256.Sum256([]byte("test-admin-token-0123456789"))}), nil)
}

func get(t *testing.T, s *Server, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %s", path, w.Code, w.Body.String())
	}
	return w
}

// openAPIJSON fetches /openapi.json through the router (no auth) and decodes it.
func openAPIJSON(t *testing.T, s *Server) map[string]any {
	t.Helper()
	w := get(t, s, "/openapi.json")
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("/openapi.json is not valid JSON: %v", err)
	}
	return doc
}

func obj(t *testing.T, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: want an object, got %T", what, v)
	}
	return m
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func TestOpenAPI_ValidJSON31(t *testing.T) {
	doc := openAPIJSON(t, newDocsServer(t))
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	info := obj(t, doc["info"], "info")
	if info["title"] != "berth" || info["version"] != "v1" {
		t.Errorf("info = %v", info)
	}
	schemes := obj(t, obj(t, doc["components"], "components")["securitySchemes"], "securitySchemes")
	bearer := obj(t, schemes["bearerAuth"], "bearerAuth")
	if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("bearerAuth = %v", bearer)
	}
	cookie := obj(t, schemes["cookieAuth"], "cookieAuth")
	if cookie["type"] != "apiKey" || cookie["in"] != "cookie" || cookie["name"] != auth.SessionCookie {
		t.Errorf("cookieAuth = %v", cookie)
	}
}

func TestOpenAPI_PathsMatchRoutes(t *testing.T) {
	s := newDocsServer(t)
	doc := openAPIJSON(t, s)
	paths := obj(t, doc["paths"], "paths")

	routed := map[string]bool{}
	for _, rt := range s.Routes() {
		key := strings.ToLower(rt.Method) + " " + rt.Path
		routed[key] = true
		item, ok := paths[rt.Path].(map[string]any)
		if !ok {
			t.Errorf("route %s %s: path missing from the document", rt.Method, rt.Path)
			continue
		}
		if _, ok := item[strings.ToLower(rt.Method)]; !ok {
			t.Errorf("route %s %s: method missing from the document", rt.Method, rt.Path)
		}
	}
	for path, v := range paths {
		for method := range obj(t, v, path) {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			if !routed[method+" "+path] {
				t.Errorf("documented %s %s is not in Routes()", strings.ToUpper(method), path)
			}
		}
	}
}

// Every route has a hand-written opSpec, and every opSpec a route.
func TestOpenAPI_SpecsMatchRoutes(t *testing.T) {
	s := newDocsServer(t)
	routed := map[string]bool{}
	for _, rt := range s.Routes() {
		k := routeKey(rt.Method, rt.Path)
		routed[k] = true
		sp, ok := opSpecs[k]
		if !ok {
			t.Errorf("route %s has no opSpec in openapi.go: document it", k)
			continue
		}
		if sp.id == "" || sp.tag == "" || len(sp.ok) == 0 {
			t.Errorf("opSpec %s: operationId, tag and a success response are required", k)
		}
		if rt.Summary == "" {
			t.Errorf("route %s has no Summary", k)
		}
	}
	for k := range opSpecs {
		if !routed[k] {
			t.Errorf("opSpec %s documents a route that Routes() does not have", k)
		}
	}
}

func TestOpenAPI_Operations(t *testing.T) {
	s := newDocsServer(t)
	doc := openAPIJSON(t, s)
	paths := obj(t, doc["paths"], "paths")
	schemas := obj(t, obj(t, doc["components"], "components")["schemas"], "schemas")
	tags := map[string]bool{}
	for _, tg := range doc["tags"].([]any) {
		tags[obj(t, tg, "tag")["name"].(string)] = true
	}
	ids := map[string]string{}
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)

	for _, rt := range s.Routes() {
		name := rt.Method + " " + rt.Path
		op := obj(t, obj(t, paths[rt.Path], rt.Path)[strings.ToLower(rt.Method)], name)

		// security: bearerAuth or cookieAuth on non-public routes, nothing
		// on public ones.
		sec, hasSec := op["security"].([]any)
		if rt.Public {
			if hasSec && len(sec) > 0 {
				t.Errorf("%s is public but has security %v", name, sec)
			}
		} else {
			if len(sec) != 2 {
				t.Errorf("%s: security = %v, want [{bearerAuth: []}, {cookieAuth: []}]", name, op["security"])
			} else {
				if _, ok := obj(t, sec[0], name)["bearerAuth"]; !ok {
					t.Errorf("%s: security = %v, want bearerAuth first", name, sec)
				}
				if _, ok := obj(t, sec[1], name)["cookieAuth"]; !ok {
					t.Errorf("%s: security = %v, want cookieAuth second", name, sec)
				}
			}
			if desc, _ := op["description"].(string); !strings.HasPrefix(desc, "Needs ") {
				t.Errorf("%s: the description does not start with the role it needs: %q", name, desc)
			}
		}

		if op["summary"] == "" || op["summary"] == nil {
			t.Errorf("%s: no summary", name)
		}
		id, _ := op["operationId"].(string)
		if prev, dup := ids[id]; dup || id == "" {
			t.Errorf("%s: operationId %q empty or also used by %s", name, id, prev)
		}
		ids[id] = name
		for _, tg := range op["tags"].([]any) {
			if !tags[tg.(string)] {
				t.Errorf("%s: tag %v is not declared", name, tg)
			}
		}

		// Every {param} in the path is a required path parameter, and back.
		declared := map[string]bool{}
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			pm := obj(t, p, name)
			if pm["in"] == "path" {
				declared[pm["name"].(string)] = true
				if pm["required"] != true {
					t.Errorf("%s: path parameter %v is not required", name, pm["name"])
				}
			}
		}
		inPath := map[string]bool{}
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			inPath[m[1]] = true
			if !declared[m[1]] {
				t.Errorf("%s: path parameter {%s} is not declared", name, m[1])
			}
		}
		for p := range declared {
			if !inPath[p] {
				t.Errorf("%s: declares path parameter %s that the path does not have", name, p)
			}
		}

		// Errors are problem+json; admin routes document 401 (and 403 unless
		// any role may call them), all 500; state-changing routes document
		// the 403 of a cross-site request.
		resps := obj(t, op["responses"], name+" responses")
		if !rt.Public {
			if _, ok := resps["401"]; !ok {
				t.Errorf("%s: no 401 response", name)
			}
			if _, ok := resps["403"]; !ok && rt.Role != auth.RoleViewer {
				t.Errorf("%s: needs role %s but documents no 403", name, rt.Role)
			}
		} else if _, ok := resps["401"]; ok && opSpecs[routeKey(rt.Method, rt.Path)].errors[401] == "" {
			t.Errorf("%s is public but documents 401", name)
		}
		if _, ok := resps["403"]; !ok && rt.StateChanging() {
			t.Errorf("%s changes state but documents no 403 (cross-site requests)", name)
		}
		if _, ok := resps["500"]; !ok {
			t.Errorf("%s: no 500 response", name)
		}
		success := false
		for code, r := range resps {
			rm := obj(t, r, name+" "+code)
			if code < "400" {
				success = true
				continue
			}
			content := obj(t, rm["content"], name+" "+code+" content")
			pj := obj(t, content["application/problem+json"], name+" "+code+" problem+json")
			if obj(t, pj["schema"], "schema")["$ref"] != "#/components/schemas/Problem" {
				t.Errorf("%s %s: error schema is not Problem", name, code)
			}
		}
		if !success {
			t.Errorf("%s: no success response", name)
		}
	}

	// Every $ref resolves.
	raw, _ := json.Marshal(doc)
	for _, m := range regexp.MustCompile(`"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := schemas[m[1]]; !ok {
			t.Errorf("$ref to undefined schema %s", m[1])
		}
	}

	problem := obj(t, schemas["Problem"], "Problem")
	for _, f := range []string{"type", "title", "status", "detail", "instance"} {
		if _, ok := obj(t, problem["properties"], "Problem.properties")[f]; !ok {
			t.Errorf("Problem has no %s", f)
		}
	}
}

// The shapes the brief and API.md promise are in the schemas.
func TestOpenAPI_Schemas(t *testing.T) {
	doc := openAPIJSON(t, newDocsServer(t))
	schemas := obj(t, obj(t, doc["components"], "components")["schemas"], "schemas")
	want := map[string][]string{
		"Pool": {"id", "name", "kind", "capacity", "used", "free", "status", "status_message", "status_changed_at",
			"labels", "priority", "provider"},
		"BatchResponse":    {"placed", "queued", "rejected", "items"},
		"BatchItem":        {"account", "file", "status", "pool", "position", "reason", "error"},
		"BulkResult":       {"success_count", "failed_count", "failed"},
		"Account":          {"account", "script", "pool", "state", "reason"},
		"HistoryEntry":     {"id", "at", "member", "pool", "action", "from", "to", "reason", "actor"},
		"Seat":             {"id", "member", "pool", "state", "created_at"},
		"QueueEntry":       {"member", "kind", "position"},
		"DrainResult":      {"pool", "moving", "queued", "already_moving"},
		"AccountBatchForm": {"script", "strategy", "ids", "files"},
	}
	for name, fields := range want {
		props := obj(t, obj(t, schemas[name], name)["properties"], name+".properties")
		for _, f := range fields {
			if _, ok := props[f]; !ok {
				t.Errorf("schema %s has no property %s", name, f)
			}
		}
	}
	form := obj(t, schemas["AccountBatchForm"], "AccountBatchForm")
	if req, _ := form["required"].([]any); !slices.Contains(req, any("script")) {
		t.Errorf("AccountBatchForm.required = %v, want script in it", form["required"])
	}

	batch := obj(t, obj(t, obj(t, doc["paths"], "paths")["/api/v1/accounts/batch"], "batch")["post"], "batch post")
	content := obj(t, obj(t, batch["requestBody"], "requestBody")["content"], "content")
	if _, ok := content["multipart/form-data"]; !ok {
		t.Errorf("POST /api/v1/accounts/batch body is not multipart/form-data: %v", content)
	}
}

// Every schema says what it is: a type, a $ref or its variants. An empty
// schema ({}) admits null under OpenAPI 3.1 but not under the 3.0 rules
// some validators (kin-openapi's, in the contract test) read it by: a value
// that may be anything is written with jsAnyJSON.
func TestOpenAPI_SchemasTyped(t *testing.T) {
	var walk func(where string, s *jsonSchema)
	walk = func(where string, s *jsonSchema) {
		if s == nil {
			return
		}
		if s.Type == "" && s.Ref == "" && len(s.OneOf) == 0 {
			t.Errorf("%s: schema without type, $ref or oneOf", where)
		}
		for _, p := range s.Properties {
			walk(where+"."+p.Name, p.Schema)
		}
		walk(where+"[]", s.Items)
		for i, o := range s.OneOf {
			walk(fmt.Sprintf("%s|%d", where, i), o)
		}
		if v, ok := s.AdditionalProperties.(*jsonSchema); ok {
			walk(where+"{}", v)
		}
	}
	for name, s := range openAPISchemas() {
		walk(name, s)
	}
	for key, sp := range opSpecs {
		for _, p := range sp.params {
			walk(key+" ?"+p.Name, p.Schema)
		}
		for _, o := range sp.ok {
			walk(fmt.Sprintf("%s %d", key, o.status), o.schema)
		}
	}
}

// Every provider type of the table (internal/provider/providers/types.go)
// has a settings schema in the document with each of its fields, its
// required ones required and its secrets write-only, and is a variant of
// ProviderSettings.
func TestOpenAPI_ProviderTypesDocumented(t *testing.T) {
	sc := openAPISchemas()
	settings := sc["ProviderSettings"]
	if len(settings.OneOf) != len(providers.Types()) {
		t.Errorf("ProviderSettings has %d variants, providers.Types() has %d", len(settings.OneOf), len(providers.Types()))
	}
	for _, typ := range providers.All() {
		name := providerSchemaName(typ.Name)
		s, ok := sc[name]
		if !ok {
			t.Errorf("provider type %q has no schema %s", typ.Name, name)
			continue
		}
		if settings.Discriminator.Mapping[typ.Name] != "#/components/schemas/"+name {
			t.Errorf("ProviderSettings maps %q to %q", typ.Name, settings.Discriminator.Mapping[typ.Name])
		}
		props := map[string]*jsonSchema{}
		for _, p := range s.Properties {
			props[p.Name] = p.Schema
		}
		if tp := props["type"]; tp == nil || !slices.Equal(tp.Enum, []any{typ.Name}) || !slices.Contains(s.Required, "type") {
			t.Errorf("%s: type is not required to be %q", name, typ.Name)
		}
		if len(s.Properties) != len(typ.Fields)+1 {
			t.Errorf("%s has %d properties, want type and %d fields", name, len(s.Properties), len(typ.Fields))
		}
		for _, f := range typ.Fields {
			p := props[f.Name]
			if p == nil {
				t.Errorf("%s has no property %s", name, f.Name)
				continue
			}
			if p.Type != f.Kind || p.WriteOnly != f.Secret || slices.Contains(s.Required, f.Name) != f.Required {
				t.Errorf("%s.%s = type %s writeOnly %v required %v, want %s %v %v", name, f.Name,
					p.Type, p.WriteOnly, slices.Contains(s.Required, f.Name), f.Kind, f.Secret, f.Required)
			}
		}
	}
	view := sc["ProviderView"].Description
	for _, k := range providers.SecretFields() {
		if !strings.Contains(view, k) {
			t.Errorf("ProviderView's description does not name the secret %s: %s", k, view)
		}
	}
}

func TestDocs_RendersEveryRoute(t *testing.T) {
	s := newDocsServer(t)
	w := get(t, s, "/docs")
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q", ct)
	}
	body := w.Body.String()
	text := html.UnescapeString(body)
	for _, rt := range s.Routes() {
		if !strings.Contains(text, rt.Path) {
			t.Errorf("/docs does not mention %s", rt.Path)
		}
		if !strings.Contains(text, rt.Method+" "+rt.Path) {
			t.Errorf("/docs does not list %s %s", rt.Method, rt.Path)
		}
	}
	for _, want := range []string{`href="openapi.json"`, "How to authenticate", "Authorization: Bearer",
		"application/problem+json", `id="tag-pools"`, `id="tag-accounts"`, `id="tag-seats"`, `id="tag-queue"`,
		`id="tag-history"`, `id="tag-health"`, `id="schema-Pool"`, `id="schema-Problem"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/docs does not contain %q", want)
		}
	}
	if strings.Contains(strings.ToLower(body), "<script") {
		t.Error("/docs has a script tag")
	}
	// Every in-page link has its target.
	for _, m := range regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(body, -1) {
		if !strings.Contains(body, `id="`+m[1]+`"`) {
			t.Errorf("/docs links to #%s, which does not exist", m[1])
		}
	}
}

// The two routes are public: no token needed.
func TestOpenAPI_PublicWithoutToken(t *testing.T) {
	s := newDocsServer(t)
	get(t, s, "/openapi.json")
	get(t, s, "/docs")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/pools", nil))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/pools without a token: %d, want 401", w.Code)
	}
}
