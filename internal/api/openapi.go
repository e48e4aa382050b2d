package api

// The OpenAPI 3.1 document served at /openapi.json, written as Go data.
//
// Every route of Routes() is documented from its Route entry (method, path,
// summary, public or not) and its opSpec below (tag, parameters, request
// body, responses, the errors it can answer). Schemas live in
// openAPISchemas. The docs page (docs.go) renders the same data, so the two
// cannot disagree. openapi_test.go fails when a route has no opSpec or an
// opSpec has no route.
//
// To document a new route: add it to Routes(), add an opSpec to opSpecs
// keyed by "METHOD /path" and, if it has new shapes, a schema to
// openAPISchemas.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/codebook"
	"github.com/berthhq/berth/internal/alloc/plans"
	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/basepath"
	"github.com/berthhq/berth/internal/integrity"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider/providers"
)

// OpenAPIVersion is the version of the OpenAPI specification the document follows.
const OpenAPIVersion = "3.1.0"

const (
	ctJSON      = "application/json"
	ctProblem   = "application/problem+json"
	ctMultipart = "multipart/form-data"
	ctHTML      = "text/html"
)

// ---- JSON Schema ---------------------------------------------------------

// jsonSchema is the subset of JSON Schema 2020-12 (the OpenAPI 3.1 dialect)
// this document uses. Properties keep the order they are written in.
type jsonSchema struct {
	Ref                  string         `json:"$ref,omitempty"`
	Type                 string         `json:"type,omitempty"`
	Format               string         `json:"format,omitempty"`
	ContentMediaType     string         `json:"contentMediaType,omitempty"`
	Description          string         `json:"description,omitempty"`
	Enum                 []any          `json:"enum,omitempty"`
	Default              any            `json:"default,omitempty"`
	Minimum              *float64       `json:"minimum,omitempty"`
	Maximum              *float64       `json:"maximum,omitempty"`
	MaxLength            *int           `json:"maxLength,omitempty"`
	MinItems             *int           `json:"minItems,omitempty"`
	MaxItems             *int           `json:"maxItems,omitempty"`
	Pattern              string         `json:"pattern,omitempty"`
	Properties           schemaProps    `json:"properties,omitempty"`
	Required             []string       `json:"required,omitempty"`
	AdditionalProperties any            `json:"additionalProperties,omitempty"`
	Items                *jsonSchema    `json:"items,omitempty"`
	OneOf                []*jsonSchema  `json:"oneOf,omitempty"`
	Discriminator        *discriminator `json:"discriminator,omitempty"`
	ReadOnly             bool           `json:"readOnly,omitempty"`
	WriteOnly            bool           `json:"writeOnly,omitempty"`
	Deprecated           bool           `json:"deprecated,omitempty"`
	Examples             []any          `json:"examples,omitempty"`
}

type discriminator struct {
	PropertyName string            `json:"propertyName"`
	Mapping      map[string]string `json:"mapping,omitempty"`
}

// schemaProp is one property of an object schema.
type schemaProp struct {
	Name     string
	Schema   *jsonSchema
	Required bool
}

// schemaProps marshals as a JSON object in the order written.
type schemaProps []schemaProp

func (ps schemaProps) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.Name)
		v, err := json.Marshal(p.Schema)
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", p.Name, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func jsString(desc string) *jsonSchema { return &jsonSchema{Type: "string", Description: desc} }
func jsInt(desc string) *jsonSchema    { return &jsonSchema{Type: "integer", Description: desc} }
func jsID(desc string) *jsonSchema {
	return &jsonSchema{Type: "integer", Format: "int64", Description: desc}
}
func jsNumber(desc string) *jsonSchema { return &jsonSchema{Type: "number", Description: desc} }
func jsBool(desc string) *jsonSchema   { return &jsonSchema{Type: "boolean", Description: desc} }
func jsTime(desc string) *jsonSchema {
	return &jsonSchema{Type: "string", Format: "date-time", Description: desc}
}
func jsBinary(desc string) *jsonSchema {
	return &jsonSchema{Type: "string", Format: "binary", ContentMediaType: "application/octet-stream", Description: desc}
}

// jsAnyJSON is any JSON value, null included. It lists the types (oneOf)
// rather than being {}: validators that read schemas by OpenAPI 3.0 rules,
// where {} refuses null, then read it as OpenAPI 3.1 does.
func jsAnyJSON(desc string) *jsonSchema {
	s := &jsonSchema{Description: desc}
	for _, t := range []string{"object", "array", "string", "number", "boolean", "null"} {
		s.OneOf = append(s.OneOf, &jsonSchema{Type: t})
	}
	return s
}
func jsRef(name string) *jsonSchema { return &jsonSchema{Ref: "#/components/schemas/" + name} }
func jsArray(items *jsonSchema, desc string) *jsonSchema {
	return &jsonSchema{Type: "array", Items: items, Description: desc}
}
func jsMap(values *jsonSchema, desc string) *jsonSchema {
	return &jsonSchema{Type: "object", AdditionalProperties: values, Description: desc}
}

// jsObject builds an object schema; required comes from the props.
func jsObject(desc string, props ...schemaProp) *jsonSchema {
	s := &jsonSchema{Type: "object", Description: desc, Properties: props}
	for _, p := range props {
		if p.Required {
			s.Required = append(s.Required, p.Name)
		}
	}
	return s
}

// prop is an optional property; reqProp a required one.
func prop(name string, s *jsonSchema) schemaProp { return schemaProp{Name: name, Schema: s} }
func reqProp(name string, s *jsonSchema) schemaProp {
	return schemaProp{Name: name, Schema: s, Required: true}
}

func (s *jsonSchema) enum(vals ...any) *jsonSchema { s.Enum = vals; return s }
func (s *jsonSchema) def(v any) *jsonSchema        { s.Default = v; return s }
func (s *jsonSchema) ex(v ...any) *jsonSchema      { s.Examples = v; return s }
func (s *jsonSchema) pattern(p string) *jsonSchema { s.Pattern = p; return s }
func (s *jsonSchema) writeOnly() *jsonSchema       { s.WriteOnly = true; return s }
func (s *jsonSchema) readOnly() *jsonSchema        { s.ReadOnly = true; return s }
func (s *jsonSchema) deprecated() *jsonSchema      { s.Deprecated = true; return s }
func (s *jsonSchema) maxLen(n int) *jsonSchema     { s.MaxLength = &n; return s }
func (s *jsonSchema) min(n float64) *jsonSchema    { s.Minimum = &n; return s }
func (s *jsonSchema) max(n float64) *jsonSchema    { s.Maximum = &n; return s }
func (s *jsonSchema) items(lo, hi int) *jsonSchema {
	if lo > 0 {
		s.MinItems = &lo
	}
	if hi > 0 {
		s.MaxItems = &hi
	}
	return s
}

func strs[T ~string](vs ...T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func joinStrs[T ~string](vs []T) string {
	ss := make([]string, len(vs))
	for i, v := range vs {
		ss[i] = string(v)
	}
	return strings.Join(ss, ", ")
}

// ---- OpenAPI objects -----------------------------------------------------

type oaDocument struct {
	OpenAPI           string                             `json:"openapi"`
	Info              oaInfo                             `json:"info"`
	JSONSchemaDialect string                             `json:"jsonSchemaDialect"`
	Servers           []oaServer                         `json:"servers"`
	Tags              []oaTag                            `json:"tags"`
	Paths             map[string]map[string]*oaOperation `json:"paths"`
	Components        oaComponents                       `json:"components"`
}

type oaServer struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
}

type oaInfo struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

type oaTag struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

type oaComponents struct {
	Schemas         map[string]*jsonSchema      `json:"schemas"`
	SecuritySchemes map[string]oaSecurityScheme `json:"securitySchemes"`
}

type oaSecurityScheme struct {
	Type         string `json:"type"`
	Scheme       string `json:"scheme,omitempty"`
	BearerFormat string `json:"bearerFormat,omitempty"`
	In           string `json:"in,omitempty"`
	Name         string `json:"name,omitempty"`
	Description  string `json:"description,omitempty"`
}

type oaOperation struct {
	Tags        []string               `json:"tags"`
	Summary     string                 `json:"summary"`
	Description string                 `json:"description,omitempty"`
	OperationID string                 `json:"operationId"`
	Parameters  []*oaParameter         `json:"parameters,omitempty"`
	RequestBody *oaRequestBody         `json:"requestBody,omitempty"`
	Responses   map[string]*oaResponse `json:"responses"`
	// Security is [{bearerAuth: []}, {cookieAuth: []}] (either) on
	// non-public routes and [] (no authentication) on public ones.
	Security []map[string][]string `json:"security"`
}

type oaParameter struct {
	Name        string      `json:"name"`
	In          string      `json:"in"`
	Description string      `json:"description,omitempty"`
	Required    bool        `json:"required,omitempty"`
	Schema      *jsonSchema `json:"schema"`
}

type oaRequestBody struct {
	Description string                  `json:"description,omitempty"`
	Required    bool                    `json:"required"`
	Content     map[string]*oaMediaType `json:"content"`
}

type oaMediaType struct {
	Schema   *jsonSchema           `json:"schema,omitempty"`
	Encoding map[string]oaEncoding `json:"encoding,omitempty"`
	Example  any                   `json:"example,omitempty"`
}

type oaEncoding struct {
	ContentType string `json:"contentType"`
}

type oaResponse struct {
	Description string                  `json:"description"`
	Headers     map[string]*oaHeader    `json:"headers,omitempty"`
	Content     map[string]*oaMediaType `json:"content,omitempty"`
}

type oaHeader struct {
	Description string      `json:"description,omitempty"`
	Schema      *jsonSchema `json:"schema"`
}

// ---- parameters ----------------------------------------------------------

func queryParam(name, desc string, s *jsonSchema) *oaParameter {
	return &oaParameter{Name: name, In: "query", Description: desc, Schema: s}
}

func pathParam(name, desc string, s *jsonSchema) *oaParameter {
	return &oaParameter{Name: name, In: "path", Description: desc, Required: true, Schema: s}
}

var (
	pPoolID   = pathParam("id", "The pool's id.", jsID("").min(1))
	pPlanID   = pathParam("id", "The plan's id.", jsID("").min(1))
	pKind     = queryParam("kind", "Only pools or entries of this kind.", jsRef("Kind"))
	pPoolName = queryParam("pool", "Only rows in the pool with this name.", jsString(""))
	// pIdempotencyKey makes a batch route safe to retry (idempotency.go).
	pIdempotencyKey = &oaParameter{Name: "Idempotency-Key", In: "header", Description: "Makes the request safe to retry: " +
		"a retry with the same key (same caller, same route, within 24 hours) creates nothing again and gets the first answer " +
		"(status and body, with the header Idempotency-Replayed: true). The same key with another request is refused with 422; " +
		"a retry while the first request still runs gets 409 with Retry-After. A refused request (an error) frees its key. " +
		"Without the header every request is a new one.", Schema: jsString("").maxLen(255).pattern("^[ -~]+$").ex("3f1c2b9e-batch-42")}
	pCode = pathParam("code", "The code as printed; case, dashes and spaces do not matter, and I or L read as 1, O as 0.",
		jsString("").ex("VIP-7K2Q-M9XD-4TNE-B3WA"))
)

// ---- operations ----------------------------------------------------------

// okResponse is a success response of an operation.
type okResponse struct {
	status      int
	description string
	contentType string // "" for no body
	schema      *jsonSchema
	example     any
}

// opSpec documents one route beyond what its Route entry says.
type opSpec struct {
	id          string // operationId
	tag         string
	description string
	params      []*oaParameter
	body        *oaRequestBody
	ok          []okResponse
	// errors maps each error status the operation can answer, other than
	// 401 and 500 (added to every admin route and every route), to when.
	errors map[int]string
}

func jsonBody(desc string, schema *jsonSchema, example any) *oaRequestBody {
	return &oaRequestBody{Description: desc, Required: true,
		Content: map[string]*oaMediaType{ctJSON: {Schema: schema, Example: example}}}
}

// followProp is the "follow" of a 202 answer: where to follow the work
// (what), also given as the Location header.
func followProp(what string) schemaProp {
	return prop("follow", jsString("In a 202 answer: where to follow the work, "+what+"; also the Location header.").ex("/api/v1/moves"))
}

func okJSON(status int, desc string, schema *jsonSchema) okResponse {
	return okResponse{status: status, description: desc, contentType: ctJSON, schema: schema}
}

// pageOf is a page of a cursor listing (cursor.go): its items and the
// cursor of the next page.
func pageOf(schema, desc string) *jsonSchema {
	return jsObject(desc, reqProp("items", jsArray(jsRef(schema), "")),
		reqProp("next_cursor", jsString("The cursor of the next page, to pass unchanged as cursor; empty on the last page.")))
}

// cursorQuery is the parameters of a cursor listing: limit (def when
// absent or 0, max when more; no bound when max is 0) and cursor.
func cursorQuery(def, max int) []*oaParameter {
	limit := fmt.Sprintf("At most this many items (1-%d); 0 means %d, more than %d means %[1]d.", max, def, max)
	if max == 0 {
		limit = fmt.Sprintf("At most this many items; 0 means %d.", def)
	}
	return []*oaParameter{
		queryParam("limit", limit, jsInt("").min(0).def(def)),
		queryParam("cursor", "Where the page starts: the next_cursor of the previous page, unchanged (it is opaque); empty for the first page.", jsString("")),
	}
}

const (
	errBadJSON  = "The body is not valid JSON, has unknown fields or the wrong types."
	errTooLarge = "The body is larger than 1 MiB."
)

// The public routes' shared texts.
const (
	// publicLimit describes the per-address limit of api/ratelimit.go (set in New).
	publicLimit = "Each client address may make 20 requests a second (bursts of 40) across the public routes; " +
		"past that they answer 429 with a Retry-After header."
	errRetryAfter     = "Retry-After says how many seconds to wait."
	errPublicRateAddr = "Too many requests from this address (20 a second, bursts of 40). " + errRetryAfter
	errCodeRefused    = "The code does not exist or is bound to another email (the same answer for both, by design), " +
		"or it has been disabled."
	errCodeExpired    = "The code has expired."
	errPublicTooLarge = "The body is larger than 4 KiB."
	errPublicInvalid  = "email is not an address like name@example.com, or code is not a redeem code."
)

// opSpecs documents every route, keyed by "METHOD /path" as in Routes().
var opSpecs = map[string]opSpec{
	"GET /healthz": {
		id: "healthz", tag: "health",
		description: "Answers 200 while the process is up; it does not touch the database. For liveness probes.",
		ok:          []okResponse{okJSON(200, "The process is up.", jsRef("Health"))},
	},
	"GET /readyz": {
		id: "readyz", tag: "health",
		description: "Answers 200 when this process should get traffic, 503 with the reason otherwise: shutdown has begun (from the first moment, for BERTH_SHUTDOWN_DRAIN before the listener closes), the database does not answer, the database's secret key is not the key this process seals with, or jobs are not being worked (this process's job client stopped, or a job due for over 5 minutes while none completed). Each check is one cheap read, all within 2 seconds. For readiness probes; see docs/operations.md.",
		ok:          []okResponse{okJSON(200, "Ready for traffic.", jsRef("Health"))},
		errors:      map[int]string{503: "Not ready: shutting down, the database does not answer, the key is not the database's, or jobs are not being worked."},
	},
	"GET /metrics": {
		id: "metrics", tag: "health",
		description: "Prometheus text exposition: pools, capacity and seats by kind, status and group, the queue, jobs, integrity, the capacity forecast, event counters and Go runtime metrics; per-pool series (berth_pool_capacity, berth_pool_used, berth_pool_status) while the fleet has at most BERTH_METRICS_POOL_SERIES pools (default 1000). Read from the database at most every 10 s. Answered only to clients in BERTH_METRICS_ALLOWED_NETS (default loopback) or with Authorization: Bearer <BERTH_METRICS_TOKEN>.",
		ok:          []okResponse{{status: 200, description: "Metrics.", contentType: "text/plain", schema: jsString("")}},
		errors:      map[int]string{403: "The client is outside BERTH_METRICS_ALLOWED_NETS and sent no valid metrics token."},
	},
	"GET /openapi.json": {
		id: "openapi", tag: "docs",
		description: "This document: OpenAPI 3.1, generated from the route table.",
		ok: []okResponse{okJSON(200, "The OpenAPI document.",
			jsObject("An OpenAPI 3.1 document.", reqProp("openapi", jsString("").ex(OpenAPIVersion))))},
	},
	"GET /docs": {
		id: "docs", tag: "docs",
		description: "A readable HTML rendering of this document, without JavaScript.",
		ok:          []okResponse{{status: 200, description: "The docs page.", contentType: ctHTML, schema: jsString("")}},
	},

	"POST /api/v1/pools": {
		id: "createPool", tag: "pools",
		description: "Creates an active pool; members of its kind waiting in the queue are placed on it at once.",
		body: jsonBody("The pool to create.", jsRef("PoolInput"), json.RawMessage(`{"name": "worker-01", "kind": "server", "capacity": 5, "priority": 0,
			"labels": {"region": "us"}, "provider": {"type": "sim"}}`)),
		ok: []okResponse{okJSON(201, "The pool, as created.", jsRef("Pool"))},
		errors: map[int]string{400: errBadJSON, 409: "A pool with this name exists.", 413: errTooLarge,
			422: "A field is invalid (name, kind, capacity, labels or provider settings); detail names it."},
	},
	"GET /api/v1/pools": {
		id: "listPools", tag: "pools",
		description: "Lists the pools, optionally of one kind, by priority then name, a page at a time: " +
			"while next_cursor is not empty, pass it as cursor for the next page. Provider secrets read \"(set)\".",
		params: append([]*oaParameter{pKind}, cursorQuery(1000, 10000)...),
		ok:     []okResponse{okJSON(200, "A page of pools.", pageOf("Pool", ""))},
		errors: map[int]string{400: "kind is not server or team, limit is not a non-negative integer, or cursor was not handed out by this server."},
	},
	"GET /api/v1/pools/{id}": {
		id: "getPool", tag: "pools",
		description: "One pool, with `scripts`: how many live members of each script it holds.",
		params:      []*oaParameter{pPoolID},
		ok:          []okResponse{okJSON(200, "The pool.", jsRef("Pool"))},
		errors:      map[int]string{400: "id is not a positive integer.", 404: "No pool has this id."},
	},
	"PATCH /api/v1/pools/{id}": {
		id: "updatePool", tag: "pools",
		description: "Changes capacity, priority, labels or provider settings; fields left out stay. " +
			"Raising capacity takes members from the queue. Capacity cannot go below the pool's use.",
		params: []*oaParameter{pPoolID},
		body:   jsonBody("The fields to change.", jsRef("PoolPatch"), json.RawMessage(`{"capacity": 10, "labels": {"region": "eu"}}`)),
		ok:     []okResponse{okJSON(200, "The pool, changed.", jsRef("Pool"))},
		errors: map[int]string{400: "id is not a positive integer, or " + lowerFirst(errBadJSON), 404: "No pool has this id.",
			413: errTooLarge, 422: "A field is invalid, or capacity is below the pool's use."},
	},
	"PATCH /api/v1/pools/status": {
		id: "setPoolStatus", tag: "pools",
		description: "Sets the status of many pools at once; each id succeeds or fails on its own " +
			"(an unknown status fails every id). Setting a pool active takes members from the queue.",
		body: jsonBody("The pools and their new status.", jsRef("StatusRequest"),
			json.RawMessage(`{"ids": [1, 2, 3], "status": "banned", "message": "reason"}`)),
		ok: []okResponse{okJSON(200, "What succeeded and what failed, per id.", jsRef("BulkResult"))},
		errors: map[int]string{400: errBadJSON, 413: errTooLarge,
			422: "ids is empty or has more than 1000 entries, or message is longer than 500 bytes."},
	},
	"POST /api/v1/pools/{id}/drain": {
		id: "drainPool", tag: "pools",
		description: "Moves every member off the pool, make before break: each gets a seat elsewhere " +
			"(or waits in the queue, ahead of new members) and leaves this pool once the new seat is active. " +
			"An active or paused pool becomes draining; an unhealthy one keeps its status. Answers when the moves have started.",
		params: []*oaParameter{pPoolID},
		ok:     []okResponse{okJSON(202, "The moves have started.", jsRef("DrainResult"))},
		errors: map[int]string{400: "id is not a positive integer.", 404: "No pool has this id."},
	},

	"POST /api/v1/pools/{id}/reconcile": {
		id: "reconcilePool", tag: "pools",
		description: "Compares the members the team's provider holds with berth's seats for it and reports the drift: " +
			"unknown (at the provider, no seat in berth), missing (berth thinks them active, the provider lacks them) and " +
			"pending (seats still being provisioned). With repair, missing members are provisioned again; with " +
			"remove_unknown, unknown members are removed, but only when they are at most max_remove_share (default 0.1) " +
			"of the team's capacity. Unhealthy teams and providers that cannot list (webhooks) are skipped, saying why. " +
			"The same comparison runs periodically, report only. The comparison runs as a job: the answer (202) names " +
			"the run and, in `report` and the `Location` header, where to read its report once done.",
		params: []*oaParameter{pPoolID},
		body: &oaRequestBody{Description: "What to repair (all optional); may be left out: report only.", Required: false,
			Content: map[string]*oaMediaType{ctJSON: {Schema: jsRef("ReconcileRequest"), Example: json.RawMessage(`{"repair": true}`)}}},
		ok: []okResponse{okJSON(202, "The run has started; where to read its report.", jsRef("ReconcileStarted"))},
		errors: map[int]string{400: "id is not a positive integer, or " + errBadJSON, 404: "No pool has this id.", 413: errTooLarge,
			422: "max_remove_share is not between 0 and 1.", 503: "The job queue is not running."},
	},
	"GET /api/v1/pools/{id}/reconcile/{run}": {
		id: "getReconcileRun", tag: "pools",
		description: "A reconcile run started by POST /api/v1/pools/{id}/reconcile: its state (queued, running, done, failed), " +
			"the options it was asked with and, once done, its report; a failed run says why in `error`.",
		params: []*oaParameter{pPoolID, pathParam("run", "The run's id.", jsID("").min(1))},
		ok:     []okResponse{okJSON(200, "The run.", jsRef("ReconcileRun"))},
		errors: map[int]string{400: "id or run is not a positive integer.", 404: "This pool has no run with this id."},
	},

	"POST /api/v1/accounts/batch": {
		id: "importAccounts", tag: "accounts",
		description: "Imports credential files and places each account on a server pool. " +
			"The account id is the file name without its extension unless `ids` gives them in file order. " +
			"A bad file rejects that file only. Importing an account that exists returns its placement. " +
			"Parts named `files[]` or `file` are taken as `files`; other parts are ignored. " +
			"For example: `curl -H \"Authorization: Bearer $TOKEN\" -F script=shop -F files=@639277333688.session " +
			"-F files=@639277333689.session http://localhost:8080/api/v1/accounts/batch`.",
		body: &oaRequestBody{Description: "The script and the credential files.", Required: true,
			Content: map[string]*oaMediaType{ctMultipart: {Schema: jsRef("AccountBatchForm"),
				Encoding: map[string]oaEncoding{"files": {ContentType: "application/octet-stream"}}}}},
		params: []*oaParameter{pIdempotencyKey},
		ok:     []okResponse{okJSON(200, "One item per file, in the order of the files.", jsRef("BatchResponse"))},
		errors: map[int]string{400: "The body is not multipart/form-data or is malformed, or Idempotency-Key is not 1-255 printable ASCII characters.",
			409: errIdemRunning,
			413: "The upload is larger than the total limit (256 MiB by default) or has more files than allowed (5000 by default).",
			422: "script is missing, no files were sent, ids does not give one id per file, or strategy is unknown; " +
				"or " + errIdemOther},
	},
	"GET /api/v1/accounts": {
		id: "listAccounts", tag: "accounts",
		description: "Lists accounts (server members) with their live placement, oldest first, a page at a time: while " +
			"next_cursor is not empty, pass it as cursor (with the same filters) for the next page.",
		params: append([]*oaParameter{
			queryParam("script", "Only accounts of this script.", jsString("")),
			pPoolName,
		}, cursorQuery(1000, 0)...),
		ok:     []okResponse{okJSON(200, "A page of the accounts.", pageOf("Account", ""))},
		errors: map[int]string{400: "limit is not a non-negative integer, or cursor was not handed out by this server."},
	},

	"GET /api/v1/seats": {
		id: "listSeats", tag: "seats",
		description: "Lists seats (a member in a pool), newest first, a page at a time: while next_cursor is not empty, " +
			"pass it as cursor (with the same filters) for the next page. An unknown member gives an empty list.",
		params: append([]*oaParameter{
			queryParam("member", "Only seats of this account (server member) id.", jsString("")),
			queryParam("email", "Only seats of this user (team member) email; used when member is not given.", jsString("").ex("user@example.com")),
			pPoolName,
			queryParam("state", "Only seats in this state.", jsRef("SeatState")),
		}, cursorQuery(1000, 100000)...),
		ok:     []okResponse{okJSON(200, "A page of seats.", pageOf("Seat", ""))},
		errors: map[int]string{400: "limit is not a non-negative integer, or cursor was not handed out by this server.", 404: "No pool has the name given in pool."},
	},
	"POST /api/v1/seats/{id}/release": {
		id: "releaseSeat", tag: "seats",
		description: "Starts removing the member from the pool; the seat becomes releasing and then released. " +
			"Asking again for a seat already releasing or released changes nothing and answers 202 with the seat.",
		params: []*oaParameter{pathParam("id", "The seat's id.", jsID(""))},
		ok:     []okResponse{okJSON(202, "The release has started; the seat as it is now.", jsRef("Seat"))},
		errors: map[int]string{400: "id is not an integer.", 404: "No seat has this id.",
			422: "The seat failed: it holds nothing to release."},
	},

	"GET /api/v1/queue": {
		id: "listQueue", tag: "queue",
		description: "Lists members waiting for room, in queue order, a page at a time: while next_cursor is not empty, " +
			"pass it as cursor (with the same kind) for the next page. Positions count from the start of the queue.",
		params: append([]*oaParameter{pKind}, cursorQuery(10000, 100000)...),
		ok:     []okResponse{okJSON(200, "A page of queue entries.", pageOf("QueueEntry", ""))},
		errors: map[int]string{400: "kind is not server or team, limit is not a non-negative integer, or cursor was not handed out by this server."},
	},
	"POST /api/v1/placement/simulate": {
		id: "simulatePlacement", tag: "queue",
		description: "What if: applies hypothetical changes (new pools; a pool's capacity or status) to a copy of what placement " +
			"knows, places today's queue (up to 10000 entries per kind) in queue order through the same placement rules as a " +
			"queue drain, and answers how many would be placed, where, and how many would still wait. Nothing is written and " +
			"nothing changes: a viewer may ask. Added pools are named new-<kind>-<n>. Each queue entry's would_fit " +
			"(GET /api/v1/queue) names single changes to try here.",
		body: jsonBody("The hypothetical changes.", jsRef("SimulateRequest"),
			json.RawMessage(`{"changes": [{"add": {"kind": "server", "count": 2, "capacity": 5, "labels": {}}}, `+
				`{"pool": "worker-01", "capacity": 6}, {"pool": "los-angeles", "status": "active"}]}`)),
		ok: []okResponse{okJSON(200, "What the queue would do; nothing was changed.", jsRef("SimulateResult"))},
		errors: map[int]string{400: errBadJSON, 413: errTooLarge,
			422: "A change names no pool berth knows, gives both add and pool or neither, says nothing to change, or has a bad " +
				"kind, count, capacity or status (detail names the change, e.g. changes[1])."},
	},
	"GET /api/v1/placement/settings": {
		id: "getPlacementSettings", tag: "queue",
		description: "The placement strategy stored per pool kind and group (docs/design.md, \"Placement\"). Every placement that names " +
			"no strategy uses it: imports without strategy, redeems, queue drains, failovers and moves. A member's group's setting " +
			"wins over its kind's (group \"\"); without either the strategy is default (pack). A batch import's own strategy " +
			"field still wins for that request only; the members it queues are placed later under the stored strategy.",
		ok: []okResponse{okJSON(200, "The settings.", jsRef("PlacementSettings"))},
	},
	"PUT /api/v1/placement/settings": {
		id: "setPlacementSetting", tag: "queue",
		description: "Stores the strategy of one pool kind and group (group \"\" for the kind's default), replacing what was there; " +
			"an empty strategy removes the setting. Members already placed stay where they are; queued ones are placed under it " +
			"at the next drain. Other berth processes see the change within 5 seconds. Operators and admins.",
		body: jsonBody("The setting.", jsRef("PlacementSettingInput"), json.RawMessage(`{"kind": "team", "group": "vip", "strategy": "spread"}`)),
		ok:   []okResponse{okJSON(200, "Every setting, after the change.", jsRef("PlacementSettings"))},
		errors: map[int]string{400: errBadJSON, 413: errTooLarge,
			422: "kind is not server or team, strategy is not pack, spread or empty, or group is longer than 255 bytes."},
	},
	"DELETE /api/v1/queue/{kind}/{member}": {
		id: "cancelQueued", tag: "queue",
		description: "Takes a member out of the queue.",
		params: []*oaParameter{
			pathParam("kind", "The member's kind.", jsRef("Kind")),
			pathParam("member", "The account id (server) or email (team).", jsString("")),
		},
		ok:     []okResponse{{status: 204, description: "The member left the queue."}},
		errors: map[int]string{400: "kind is not server or team.", 404: "The member does not exist or is not queued."},
	},

	"GET /api/v1/history": {
		id: "listHistory", tag: "history",
		description: "Lists state changes, newest first, a page at a time: while next_cursor is not empty, pass it as cursor " +
			"(with the same filters) for the next page. before still pages back by id for older clients; cursor wins over it.",
		params: append([]*oaParameter{
			queryParam("member", "Only entries about this member (account id or email).", jsString("")),
			queryParam("pool", "Only entries where this pool name is the pool, the source or the target.", jsString("")),
			queryParam("action", "Only entries with this action.", jsRef("HistoryAction")),
			queryParam("before", "Only entries with an id lower than this; 0 means from the newest. Ignored with cursor.", jsID("").min(0)),
		}, cursorQuery(500, 10000)...),
		ok:     []okResponse{okJSON(200, "A page of the history entries.", pageOf("HistoryEntry", ""))},
		errors: map[int]string{400: "limit or before is not a non-negative integer, or cursor was not handed out by this server."},
	},

	"POST /api/v1/codes/batch": {
		id: "generateCodes", tag: "codes",
		description: "Generates count redeem codes with the same settings and answers them in this response. " +
			"A code is 80 random bits in Crockford base32, grouped by four, after the prefix if any (`VIP-7K2Q-M9XD-4TNE-B3WA`). " +
			"Codes are stored sealed; GET /api/v1/codes shows them again. A code's clock starts at its first redeem: " +
			"it ends valid_for later, or at expires_at if that comes first. Writes one codes.created history entry.",
		body: jsonBody("The codes to generate.", jsRef("CodeBatchRequest"),
			json.RawMessage(`{"count": 100, "group": "vip", "max_uses": 1, "valid_for": "720h", "rebind_limit": 3, "prefix": "VIP", "batch": "2024-06-promo"}`)),
		params: []*oaParameter{pIdempotencyKey},
		ok:     []okResponse{okJSON(201, "The codes, as they are to be handed out.", jsRef("CodeBatchResult"))},
		errors: map[int]string{400: errBadJSON + " valid_for is not a Go duration string or expires_at not RFC 3339; " +
			"or Idempotency-Key is not 1-255 printable ASCII characters.", 409: errIdemRunning, 413: errTooLarge,
			422: fmt.Sprintf("count is not between 1 and %d, max_uses or valid_for is negative, rebind_limit is not between 0 and 1000, "+
				"expires_at is in the past, group or batch is longer than 63 bytes, or prefix is not 1-8 letters or digits without U; or ",
				codebook.MaxPerBatch) + errIdemOther},
	},
	"GET /api/v1/codes": {
		id: "listCodes", tag: "codes",
		description: "Lists codes by id, oldest first, with the codes themselves for operators and admins (viewers get the hint, " +
			"the last four characters, and no code); filters combine. It answers a page at a time: while next_cursor is not empty, pass it as cursor " +
			"(with the same filters) for the next page; after (the last id seen) still pages on for older clients. " +
			"With `Accept: text/csv` or format=csv the answer is a CSV file (berth-codes.csv) with the header row " +
			"`code,group,status,max_uses,used_count,bound_email,valid_for,expires_at,ends_at,rebind_limit,rebind_count,batch,created_at,hint`: " +
			"without limit (or with 0) it holds every matching code (after after or cursor), however many, streamed as it is read; " +
			"with limit, one page as the JSON listing answers it (the file carries no next_cursor). An error once the file has begun " +
			"cuts the connection, so a file that ends without a transfer error is whole; " +
			"code is empty for viewers, times are RFC 3339 in UTC (empty when unset), and group, bound_email or batch starting with " +
			"=, +, -, @, tab or CR is prefixed with ' so spreadsheets do not run it as a formula.",
		params: append([]*oaParameter{
			queryParam("status", "Only codes with this status; an unknown status gives an empty list.", jsRef("CodeStatus")),
			queryParam("group", "Only codes of this group.", jsString("").ex("vip")),
			queryParam("email", "Only codes bound to this email (compared lower-cased).", jsString("").ex("user@example.com")),
			queryParam("code", "Search by the end of a code: its last four characters, after dashes are removed and letters upper-cased. "+
				"With fewer than four characters the filter is ignored.", jsString("").ex("B3WA")),
			queryParam("batch", "Only codes of this batch.", jsString("")),
			queryParam("after", "Only codes with an id greater than this. Ignored with cursor.", jsID("").min(0).def(0)),
			queryParam("format", "csv answers CSV, like `Accept: text/csv`.", jsString("").enum("csv")),
		}, cursorQuery(100000, 100000)...),
		ok: []okResponse{
			okJSON(200, "A page of the codes (JSON), or a CSV file when asked for.", pageOf("Code", "")),
			{status: 200, description: "The codes as CSV, when asked for.", contentType: "text/csv",
				schema: jsString("CSV with a header row: code, group, status, max_uses, used_count, bound_email, valid_for, " +
					"expires_at, ends_at, rebind_limit, rebind_count, batch, created_at, hint.")},
		},
		errors: map[int]string{400: "limit or after is not a non-negative integer."},
	},
	"GET /api/v1/codes/{code}": {
		id: "getCode", tag: "codes",
		description: "One code with its history (newest first, at most 1000 entries): creation aside, every bind, use, refund, " +
			"rebind, status change and move that counts against it.",
		params: []*oaParameter{pCode},
		ok:     []okResponse{okJSON(200, "The code and its history.", jsRef("CodeDetail"))},
		errors: map[int]string{400: "code is not a redeem code (16-24 letters and digits once dashes and spaces are removed).",
			404: "No code is this one."},
	},
	"PATCH /api/v1/codes/{code}": {
		id: "setCodeStatus", tag: "codes",
		description: "Disables a code, or enables it again. A disabled code cannot be redeemed or used to move; a seat it already " +
			"gave is kept. Enabling gives the status the code's state implies: bound when it is bound to an email, unused otherwise, " +
			"expired when its end has passed. Writes a code.status history entry.",
		params: []*oaParameter{pCode},
		body:   jsonBody("The new status.", jsRef("CodeStatusRequest"), json.RawMessage(`{"status": "disabled"}`)),
		ok:     []okResponse{okJSON(200, "The code, changed.", jsRef("Code"))},
		errors: map[int]string{400: errBadJSON, 404: "No code is this one.", 413: errTooLarge,
			422: "code is not a redeem code, or status is not disabled or enabled."},
	},

	"POST /api/v1/seats/{id}/move": {
		id: "moveSeat", tag: "moves",
		description: "Moves a member off a live seat, make before break: it gets a seat on another pool (the pool named to, or the best " +
			"pool of its kind when to is left out) and leaves this one once the new seat is active. Without to, a member no pool can " +
			"take now is queued as a move, ahead of new members, and keeps its seat meanwhile. A team seat resting on a code keeps it; " +
			"the move is not charged to the code's rebinds. The body may be left out.",
		params: []*oaParameter{pathParam("id", "The seat's id.", jsID(""))},
		body: &oaRequestBody{Description: "Where to move; may be left out.", Required: false,
			Content: map[string]*oaMediaType{ctJSON: {Schema: jsRef("MoveRequest"), Example: json.RawMessage(`{"to": "team-3"}`)}}},
		ok: []okResponse{okJSON(202, "The move has started.", jsRef("MoveStarted"))},
		errors: map[int]string{400: "id is not an integer, or " + lowerFirst(errBadJSON), 404: "No seat has this id, or no pool is named to.",
			409: "A move of this seat is already in progress.", 413: errTooLarge,
			422: "The seat is not live, to is the seat's own pool or a pool of the other kind, or to cannot take the member now (detail says why)."},
	},
	"GET /api/v1/moves": {
		id: "listMoves", tag: "moves",
		description: "Lists moves (admin moves, drains, migrations and public rebinds), newest first, a page at a time: " +
			"while next_cursor is not empty, pass it as cursor (with the same state) for the next page.",
		params: append([]*oaParameter{
			queryParam("state", "Only moves in this state; an unknown state gives an empty list.", jsRef("MoveState")),
		}, cursorQuery(1000, 0)...),
		ok:     []okResponse{okJSON(200, "A page of the moves.", pageOf("Move", ""))},
		errors: map[int]string{400: "limit is not a non-negative integer, or cursor was not handed out by this server."},
	},
	"POST /api/v1/migrations": {
		id: "migrate", tag: "moves",
		description: "Moves every live member off the pools named in from, make before break like a drain: to the pool named to, " +
			"or (to empty) wherever placement chooses outside from. The pools of from keep their status. Run with dry_run first: " +
			"it writes nothing and shows where each member would go now (planned) or that it would wait (queued). " +
			"Without dry_run each member's move starts (moving) or is queued ahead of new members (queued); a seat already moving, " +
			"or one the target cannot take, is failed and the others go on.",
		body: jsonBody("The pools to empty and where to.", jsRef("MigrationRequest"),
			json.RawMessage(`{"from": ["team-1", "team-2"], "to": "team-3", "dry_run": true}`)),
		ok: []okResponse{
			okJSON(200, "dry_run: the plan; nothing was written.", jsRef("MigrationResult")),
			okJSON(202, "The moves have started.", jsRef("MigrationResult")),
		},
		errors: map[int]string{400: errBadJSON, 404: "A pool named in from or to does not exist.", 413: errTooLarge,
			422: "from is empty or mixes server and team pools, or to is of the other kind or in from."},
	},

	"GET /api/v1/integrity": {
		id: "checkIntegrity", tag: "integrity",
		description: "Checks the invariants and lists what breaks them: orphans (members holding more live seats than a pending move explains, for longer than grace), overbooked pools (used or counted seats above capacity), zombie moves (pending longer than zombie_after) and drift (a pool's used against its counted seats; a code's used_count and rebind_count against its history). A healthy database answers four empty lists. Each list holds at most 1000 entries; truncated says when one was cut.",
		params: []*oaParameter{
			queryParam("grace", "How long a member may hold extra live seats before it is an orphan, as a Go duration.", jsString("").def("10m").ex("10m")),
			queryParam("zombie_after", "How long a move may stay pending before it is reported, as a Go duration.", jsString("").def("30m").ex("30m")),
		},
		ok:     []okResponse{okJSON(200, "What breaks the invariants; empty lists when nothing does.", jsRef("IntegrityReport"))},
		errors: map[int]string{400: "grace or zombie_after is not a positive Go duration."},
	},
	"GET /api/v1/fleet/samples": {
		id: "fleetSamples", tag: "fleet",
		description: "The fleet over time, as the console's dashboard charts it: every BERTH_FLEET_SAMPLE_EVERY (default 5m) berth records, " +
			"per pool kind and group label, the pools' summed capacity and use and the kind's queue depth; samples are kept 90 days. " +
			"The range is folded into buckets of step (the range over 288, in whole minutes: 5m for a day, 35m for a week), each the peak " +
			"of its samples (largest capacity, used and queued, at its last sample), so a short spike stays visible. One series per kind and group, " +
			"by kind then group, points oldest first; queued is the kind's, the same in every group of the kind.",
		params: []*oaParameter{
			queryParam("since", "From this time: RFC 3339, or a Go duration back from now (24h, 168h).", jsString("").def("24h").ex("168h")),
			queryParam("until", "Up to this time, included: RFC 3339, or a Go duration back from now; default now.", jsString("").ex("2026-12-04T12:00:00Z")),
			queryParam("kind", "Only pools of this kind.", jsRef("Kind")),
		},
		ok:     []okResponse{okJSON(200, "The series; an empty list before the first sample.", jsRef("FleetSamples"))},
		errors: map[int]string{400: "since or until is neither an RFC 3339 time nor a positive Go duration, until is not after since, they are more than 400 days apart, or kind is not server or team."},
	},
	"GET /api/v1/backup": {
		id: "backup", tag: "integrity",
		description: "Streams a consistent copy of a SQLite database while berth keeps serving: VACUUM INTO a temporary file beside the database, sent and removed. Content-Length is set, so a copy cut short shows as a short body. The copy holds sealed data only; the key (<db>.key or BERTH_SECRET_KEY) is not in it and must be kept with it. berth backup FILE calls this route. See docs/operations.md.",
		ok:          []okResponse{{status: 200, description: "The copy, a SQLite database file.", contentType: "application/vnd.sqlite3", schema: jsString("")}},
		errors:      map[int]string{501: "The database is PostgreSQL: back it up with pg_dump."},
	},
	"POST /api/v1/integrity/repair": {
		id: "repairIntegrity", tag: "integrity",
		description: "Checks for orphans and releases their extra seats: each keeps its newest live seat in an active pool (else its newest live seat); the others are released like POST /api/v1/seats/{id}/release. At most limit releases start per call; the rest are counted as skipped, so call again. Each orphan is read again just before its repair and left alone (changed) when its seats moved on since the check. Every repaired orphan gets an orphan.repaired history entry naming the kept seat.",
		body:        jsonBody("How much to repair.", jsRef("RepairRequest"), json.RawMessage(`{"limit": 100, "grace": "10m"}`)),
		ok:          []okResponse{okJSON(200, "What the repair did.", jsRef("RepairResult"))},
		errors:      map[int]string{400: errBadJSON + " grace is not a Go duration.", 413: errTooLarge, 422: "limit is not between 1 and 1000, or grace is negative."},
	},

	"POST /api/v1/plans": {
		id: "createPlan", tag: "plans",
		description: "Plans an action without taking it: reads the state once and answers the steps the action would take " +
			"(a pool's status from → to, a member moved off a seat to a pool, an orphan's extra seat released), stored with " +
			"what they rest on (preconditions: each pool's status and the room of each move's target, each member's seat, each " +
			"orphan's seats). params are the body of the action's direct endpoint: pools.status takes PATCH /api/v1/pools/status's " +
			"{ids, status, message}; pools.drain {id} (the pool of POST /api/v1/pools/{id}/drain); migrate POST /api/v1/migrations's " +
			"{from, to}; integrity.repair POST /api/v1/integrity/repair's {limit, grace}; rebalance (no direct endpoint) takes " +
			"{kind, group, max_moves, strategy, skip_moved_within} (RebalanceParams) and answers its moves as move.paced steps " +
			"with summary, the imbalance before and after (docs/design.md, \"Rebalancing\"). Apply it with POST /api/v1/plans/{id}/apply " +
			"before expires_at (BERTH_PLAN_TTL after created_at, default 15 minutes). Writes nothing but the plan.",
		body: jsonBody("The action and its params.", jsRef("PlanRequest"),
			json.RawMessage(`{"action": "pools.status", "params": {"ids": [1, 2], "status": "paused", "message": "maintenance"}}`)),
		ok: []okResponse{okJSON(201, "The plan, stored; Location names it.", jsRef("Plan"))},
		errors: map[int]string{400: errBadJSON, 404: "A pool the params name does not exist.", 413: errTooLarge,
			422: "action is not one of the table, or params are not what the direct endpoint takes (detail says which)."},
	},
	"GET /api/v1/plans/{id}": {
		id: "getPlan", tag: "plans",
		description: "A plan: its steps, preconditions and state (open, applied or expired) and, once applied, what each step did.",
		params:      []*oaParameter{pPlanID},
		ok:          []okResponse{okJSON(200, "The plan.", jsRef("Plan"))},
		errors: map[int]string{400: "id is not a positive integer.",
			404: "No plan has this id: none was made, or it finished more than BERTH_PLAN_RETENTION (default 30 days) ago and the sweep deleted it."},
	},
	"POST /api/v1/plans/{id}/apply": {
		id: "applyPlan", tag: "plans",
		description: "Applies exactly the plan's steps, once. First, in one transaction, the plan is claimed and every " +
			"precondition read again: if one no longer holds (a pool's status changed, a member already moved or is moving, a " +
			"target has less room, an orphan's seats changed) nothing is applied and the answer is 409 naming each change. The " +
			"pool.status and release steps are applied in that same transaction (all or nothing). Move steps start after it " +
			"commits, each in its own placement, make before break, to the planned pool (or, when none had room, queued as a " +
			"move); a seat that changes in between fails its step alone and result says so. move.paced steps (rebalance) are " +
			"scheduled: the rebalance_step job runs at most BERTH_REBALANCE_MOVES_PER_MINUTE of them a minute, each after " +
			"checking again that the member is on its pool and both pools are active; GET the plan for their progress. " +
			"A plan applied before answers 409, " +
			"an expired one 410: make a new plan. No body.",
		params: []*oaParameter{pPlanID},
		ok:     []okResponse{okJSON(200, "The plan, applied, with result.", jsRef("Plan"))},
		errors: map[int]string{400: "id is not a positive integer.", 404: "No plan has this id.",
			409: "The plan was applied already, or what it rests on changed since it was made; detail names each change.",
			410: "The plan expired (expires_at has passed)."},
	},
	"POST /api/v1/plans/{id}/cancel": {
		id: "cancelPlan", tag: "plans",
		description: "Stops an applied plan's paced moves (move.paced steps of a rebalance): those still scheduled become " +
			"cancelled and the rebalance_step job skips them; moves already started go on. No body.",
		params: []*oaParameter{pPlanID},
		ok:     []okResponse{okJSON(200, "The plan, with its result.", jsRef("Plan"))},
		errors: map[int]string{400: "id is not a positive integer.", 404: "No plan has this id.",
			409: "The plan has no scheduled moves: it is not applied, has none, or every one has run."},
	},

	"POST /api/v1/session": {
		id: "signIn", tag: "auth",
		description: "Signs in with a user name and password, for scripts and the console: answers the caller and sets the " +
			"session cookie (`berth_session`: HttpOnly, SameSite=Lax, Secure behind TLS), which then authenticates every route " +
			"like a bearer token. A session ends after 12 hours without use or 7 days after sign-in, at sign-out, when the " +
			"user's password is changed or when the user is disabled. " + loginLimits + " " +
			"For example: `curl -c jar -H 'Content-Type: application/json' -d '{\"username\":\"admin\",\"password\":\"…\"}' " +
			"http://localhost:8080/api/v1/session` then `curl -b jar http://localhost:8080/api/v1/pools`.",
		body: jsonBody("The user name (case does not matter) and password.", jsRef("LoginRequest"),
			json.RawMessage(`{"username": "alice", "password": "correct horse battery staple"}`)),
		ok: []okResponse{okJSON(200, "Signed in; Set-Cookie carries the session.", jsRef("SessionInfo"))},
		errors: map[int]string{400: errBadJSON, 401: "Unknown user, disabled user or wrong password (one answer for all).",
			413: "The body is larger than 16 KiB.", 422: "username or password is empty.",
			429: "Too many attempts from this address, or too many failed sign-ins with this user name from this address " +
				"(the same answer whether the user exists or not; other addresses are not held back). " + errRetryAfter},
	},
	"GET /api/v1/session": {
		id: "whoAmI", tag: "auth",
		description: "The caller: user, role and how it authenticated (session, token or admin-token).",
		ok:          []okResponse{okJSON(200, "The caller.", jsRef("SessionInfo"))},
	},
	"DELETE /api/v1/session": {
		id: "signOut", tag: "auth",
		description: "Ends the caller's session (from the cookie) and clears the cookie. With a bearer token there is no " +
			"session to end: it answers 204 all the same.",
		ok: []okResponse{{status: 204, description: "Signed out."}},
	},
	"GET /api/v1/users": {
		id: "listUsers", tag: "auth",
		description: "Lists the console users by id, a page at a time (while next_cursor is not empty, pass it as cursor " +
			"for the next page); never their passwords.",
		params: cursorQuery(1000, 0),
		ok:     []okResponse{okJSON(200, "A page of the users.", pageOf("User", ""))},
		errors: map[int]string{400: "limit is not a non-negative integer, or cursor was not handed out by this server."},
	},
	"POST /api/v1/users": {
		id: "createUser", tag: "auth",
		description: "Adds a user who signs in (POST /api/v1/session) with the username and password given. The password " +
			"is stored hashed (argon2id) and never shown again, nor written to the audit log. The field `name` is the " +
			"deprecated old name of `username`, still read for this release.",
		body: jsonBody("The user.", jsRef("UserCreateRequest"),
			json.RawMessage(`{"username": "alice", "password": "correct horse battery staple", "role": "operator"}`)),
		ok: []okResponse{okJSON(201, "The user, as created.", jsRef("User"))},
		errors: map[int]string{400: errBadJSON, 409: "A user with this username exists.", 413: "The body is larger than 16 KiB.",
			422: "username, password or role is invalid, or username and the deprecated name are both given and disagree; detail says which."},
	},
	"PATCH /api/v1/users/{id}": {
		id: "updateUser", tag: "auth",
		description: "Changes a user's role, password or access; fields left out stay. A new role applies from the user's " +
			"next request. A new password lets every address that was made to wait try the name again, and ends the user's sessions. Disabling ends the user's sessions " +
			"and stops its tokens (until it is enabled again). The last enabled admin cannot be demoted or disabled.",
		params: []*oaParameter{pathParam("id", "The user's id.", jsID("").min(1))},
		body:   jsonBody("The fields to change.", jsRef("UserPatch"), json.RawMessage(`{"role": "viewer", "disabled": false}`)),
		ok:     []okResponse{okJSON(200, "The user, changed.", jsRef("User"))},
		errors: map[int]string{400: "id is not a positive integer, or " + lowerFirst(errBadJSON), 404: "No user has this id.",
			409: "The change would leave no enabled admin.", 413: "The body is larger than 16 KiB.",
			422: "Nothing to change, or role or password is invalid."},
	},
	"DELETE /api/v1/users/{id}": {
		id: "deleteUser", tag: "auth",
		description: "Deletes a user: its sessions end and its personal API tokens stop working at once; its audit entries " +
			"stay. The last enabled admin cannot be deleted.",
		params: []*oaParameter{pathParam("id", "The user's id.", jsID("").min(1))},
		ok:     []okResponse{{status: 204, description: "Deleted."}},
		errors: map[int]string{400: "id is not a positive integer.", 404: "No user has this id.",
			409: "The user is the last enabled admin."},
	},
	"GET /api/v1/tokens": {
		id: "listTokens", tag: "auth",
		description: "Lists the caller's personal API tokens (names and dates, never the tokens) by id, a page at a time " +
			"(while next_cursor is not empty, pass it as cursor for the next page). The admin token has none.",
		params: cursorQuery(1000, 0),
		ok:     []okResponse{okJSON(200, "A page of the tokens.", pageOf("Token", ""))},
		errors: map[int]string{400: "limit is not a non-negative integer, or cursor was not handed out by this server."},
	},
	"POST /api/v1/tokens": {
		id: "createToken", tag: "auth",
		description: "Creates a personal API token for the caller and answers it this once; only its SHA-256 is kept. " +
			"Send it as `Authorization: Bearer berth_pat_…`: it acts as the caller, with the caller's role at each use, " +
			"until it is revoked or the user is disabled.",
		body: jsonBody("What the token is for.", jsRef("TokenCreateRequest"), json.RawMessage(`{"name": "nightly export"}`)),
		ok:   []okResponse{okJSON(201, "The token; store it now.", jsRef("TokenCreated"))},
		errors: map[int]string{400: errBadJSON, 413: "The body is larger than 16 KiB.",
			422: "name is empty or longer than 100 characters, or the caller is the admin token (which has no user)."},
	},
	"DELETE /api/v1/tokens/{id}": {
		id: "revokeToken", tag: "auth",
		description: "Revokes one of the caller's tokens; it stops working at once.",
		params:      []*oaParameter{pathParam("id", "The token's id.", jsID("").min(1))},
		ok:          []okResponse{{status: 204, description: "Revoked."}},
		errors:      map[int]string{400: "id is not a positive integer.", 404: "The caller has no token with this id."},
	},
	"GET /api/v1/audit": {
		id: "listAudit", tag: "audit",
		description: "The audit log, newest first, a page at a time (while next_cursor is not empty, pass it as cursor with " +
			"the same filters for the next page; before still pages back by id for older clients): every change made through the API by a signed-in caller or token (also " +
			"refused ones, with status 403), sign-ins and sign-outs. Routes on one resource keep it as it was before and after " +
			"the change, and the request under request; other routes keep the request body as after. Secrets (passwords, " +
			"tokens, provider secrets, private keys, known_hosts) read \"(redacted)\"; credential files are never kept. " +
			"With `Accept: text/csv` or format=csv the answer is a CSV file (berth-audit.csv) with the header row " +
			"`id,at,actor,action,target,status,remote_ip,before,after,request` (JSON columns as text): without limit (or with 0) " +
			"every matching row, newest first (before before or cursor), streamed as it is read; with limit, one page. An error " +
			"once the file has begun cuts the connection, so a file that ends without a transfer error is whole.",
		params: append([]*oaParameter{
			queryParam("actor", "Only rows by this actor (a user name, admin-token or anonymous).", jsString("").ex("alice")),
			queryParam("action", "Only rows whose action contains this, ignoring case.", jsString("").ex("pools")),
			queryParam("target", "Only rows on this target, as stored.", jsString("").ex("id=3")),
			queryParam("since", "Only rows at or after this time (RFC 3339).", jsTime("")),
			queryParam("until", "Only rows before this time (RFC 3339).", jsTime("")),
			queryParam("before", "Only rows with an id lower than this, to page back. Ignored with cursor.", jsID("").min(0)),
			queryParam("format", "csv answers CSV, like `Accept: text/csv`.", jsString("").enum("csv")),
		}, cursorQuery(500, 100000)...),
		ok: []okResponse{
			okJSON(200, "A page of the rows (JSON), or a CSV file when asked for.", pageOf("AuditEntry", "")),
			{status: 200, description: "The rows as CSV, when asked for.", contentType: "text/csv",
				schema: jsString("CSV with a header row: id, at, actor, action, target, status, remote_ip, before, after, request.")},
		},
		errors: map[int]string{400: "limit or before is not a non-negative integer, since or until is not RFC 3339, or cursor was not handed out by this server."},
	},

	"POST /api/v1/public/redeem": {
		id: "redeemCode", tag: "public",
		description: "Redeems a code for a seat on a healthy team of the code's group, or a place in the queue. The first redeem binds " +
			"the code to the email and starts its clock. Repeating the request while the email has its seat (or place) answers that " +
			"seat and uses nothing; once the seat is released, redeeming again takes another use, if the code has one left. " +
			"An unknown code and a code bound to another email get the same 403, so codes cannot be probed. " + publicLimit,
		body: jsonBody("The email and the code as printed (case, dashes and spaces do not matter).", jsRef("PublicRequest"),
			json.RawMessage(`{"email": "user@example.com", "code": "VIP-7K2Q-M9XD-4TNE-B3WA"}`)),
		ok: []okResponse{okJSON(200, "The seat: pending until the team has provisioned the user, then active; or queued with a position.",
			jsRef("SeatStatus"))},
		errors: map[int]string{400: errBadJSON, 403: errCodeRefused, 409: "The code has no uses left.", 410: errCodeExpired,
			413: errPublicTooLarge, 422: errPublicInvalid, 429: errPublicRateAddr},
	},
	"GET /api/v1/public/status": {
		id: "seatStatus", tag: "public",
		description: "The seat an email holds under a code: its state, team, queue position, when it ends, the rebinds used and " +
			"whether a move now would be free. Reads only. " + publicLimit,
		params: []*oaParameter{
			{Name: "email", In: "query", Required: true, Description: "The email the code was redeemed with.", Schema: jsString("").ex("user@example.com")},
			{Name: "code", In: "query", Required: true, Description: "The code as printed.", Schema: jsString("").ex("VIP-7K2Q-M9XD-4TNE-B3WA")},
		},
		ok: []okResponse{okJSON(200, "The seat's status.", jsRef("SeatStatus"))},
		errors: map[int]string{403: "The code does not exist, is bound to another email or has not been redeemed yet " +
			"(the same answer for all three, by design).", 422: errPublicInvalid, 429: errPublicRateAddr},
	},
	"POST /api/v1/public/rebind": {
		id: "rebind", tag: "public",
		description: "Moves the email's seat to another team of the code's group, make before break: the user keeps the current team " +
			"until the new seat is active, or waits in the queue (ahead of new members) keeping it. The move is free, even past the " +
			"limit, when the current team is unhealthy (banned, credential_invalid or offline); otherwise it costs one of the code's " +
			"rebinds, given back if the move fails or is cancelled. While a move is in progress another request charges nothing and " +
			"answers pending. " + fmt.Sprintf("Each code may ask %d times a minute (a request refused after the check, by the limit for "+
			"instance, still counts); past that it answers 429 with a Retry-After header. ", alloc.RebindPerMinute) + publicLimit,
		body: jsonBody("The email and the code.", jsRef("PublicRequest"),
			json.RawMessage(`{"email": "user@example.com", "code": "VIP-7K2Q-M9XD-4TNE-B3WA"}`)),
		ok: []okResponse{okJSON(200, "The move: pending (started, or already in progress) or queued.", jsRef("RebindResult"))},
		errors: map[int]string{400: errBadJSON, 403: errCodeRefused + " Or: the code has not been redeemed yet (answered like an unknown code).",
			404: "The email holds no seat and no place in the queue under this code (its seat was released).",
			409: "The code's rebind limit is reached (detail names the count and the limit) and the team is healthy, " +
				"or a move of the seat has just started.",
			410: errCodeExpired, 413: errPublicTooLarge, 422: errPublicInvalid,
			429: fmt.Sprintf("Too many requests from this address, or this code asked %d times in the last minute. ", alloc.RebindPerMinute) +
				errRetryAfter},
	},
}

// ---- schemas -------------------------------------------------------------

// providerSettingsSchema is the settings schema of one provider type,
// built from its entry in the provider type table
// (internal/provider/providers/types.go): "type" first, then its fields.
func providerSettingsSchema(t providers.Type) *jsonSchema {
	props := schemaProps{reqProp("type", jsString("").enum(t.Name))}
	for _, f := range t.Fields {
		s := &jsonSchema{Type: f.Kind, Description: f.Description, Minimum: f.Min, Maximum: f.Max, Default: f.Default}
		if f.Items != "" {
			s.Items = &jsonSchema{Type: f.Items}
		}
		if f.Enum != nil {
			s.enum(strs(f.Enum...)...)
		}
		if f.Example != nil {
			s.ex(f.Example)
		}
		if f.Secret {
			s.Description += ` Write-only: reads "(set)".`
			s.writeOnly()
		}
		props = append(props, schemaProp{Name: f.Name, Schema: s, Required: f.Required})
	}
	s := jsObject(t.Description, props...)
	var example map[string]any
	if json.Unmarshal([]byte(t.Example), &example) == nil {
		example["type"] = t.Name
		s.ex(example)
	}
	return s
}

// historyActions lists every history action of package model, for the
// HistoryAction enum. model has no list of its own: add new actions here.
var historyActions = []string{
	model.ActPoolCreated, model.ActPoolUpdated, model.ActPoolStatus, model.ActPlaced, model.ActQueued,
	model.ActDelivered, model.ActDeliveryFailed, model.ActRejected, model.ActMoveStarted, model.ActMoved,
	model.ActRelease, model.ActReleased, model.ActReleaseFailed, model.ActDrainStarted,
	model.ActHealthOffline, model.ActHealthRecovered,
	model.ActCodesCreated, model.ActCodeUsed, model.ActCodeRefunded, model.ActCodeBound, model.ActCodeExpired,
	model.ActCodeStatus, model.ActRebindCharged, model.ActRebindRefunded, model.ActMoveRequested, model.ActMoveFailed,
	model.ActMoveCancelled, model.ActSeatCarried, model.ActOrphanRepaired, model.ActExpiryWarning, model.ActMoveNotified, model.ActQueueCancelled,
}

// providerSchemaName is the component name of a provider type's settings.
func providerSchemaName(typ string) string {
	r, n := utf8.DecodeRuneInString(typ)
	return string(unicode.ToUpper(r)) + typ[n:] + "Provider"
}

func openAPISchemas() map[string]*jsonSchema {
	types := providers.Types()
	sc := map[string]*jsonSchema{
		"Problem": jsObject("An RFC 9457 problem detail. Every error answers with this shape and Content-Type application/problem+json.",
			reqProp("type", jsString("Problem type URI; berth uses about:blank, so title is the HTTP status text.").ex("about:blank")),
			reqProp("title", jsString("The HTTP status text.").ex("Not Found")),
			reqProp("status", jsInt("The HTTP status code.").min(400).max(599).ex(404)),
			reqProp("detail", jsString("What went wrong and what to change, written for the caller.").ex(`pool 7: not found`)),
			prop("instance", jsString("The request path.").ex("/api/v1/pools/7")),
		),
		"Health": jsObject("", reqProp("status", jsString("").enum("ok", "ready"))),
		"Kind": jsString("What a pool holds: accounts on servers (server) or users on teams (team).").
			enum(strs(model.Kinds()...)...),
		"PoolStatus": jsString("A pool's status. Only active pools take new members; draining pools move theirs away; " +
			"banned, credential_invalid and offline are unhealthy: members may leave them for free.").
			enum(strs(model.PoolStatuses()...)...),
		"SeatState": jsString("Where a seat is in its life. reserved, provisioning and active are live.").
			enum(strs(model.SeatStates()...)...),
		"HistoryAction": jsString("What a history entry records.").
			enum(strs(historyActions...)...),
		"Labels": jsMap(jsString("").maxLen(255), "Free-form key/value labels; keys are 1-63 bytes, values at most 255.").
			ex(map[string]string{"region": "us"}),

		"PlacementSetting": jsObject("The strategy stored for one pool kind and group.",
			reqProp("kind", jsRef("Kind")),
			reqProp("group", jsString("The members' group label; empty for the kind's default.")),
			reqProp("strategy", jsString("pack fills one pool before the next and keeps a script together; spread uses the least loaded pool.").
				enum("pack", "spread")),
			reqProp("updated_by", jsString("Who stored it.")),
			reqProp("updated_at", jsTime("")),
		),
		"PlacementSettings": jsObject("The stored strategies.",
			reqProp("default", jsString("The strategy of a kind without a setting.").enum("pack")),
			reqProp("settings", jsArray(jsRef("PlacementSetting"), "By kind, then group.")),
		),
		"PlacementSettingInput": jsObject("A strategy to store.",
			reqProp("kind", jsRef("Kind")),
			prop("group", jsString("The members' group label; empty (the default) for the whole kind.").maxLen(255)),
			reqProp("strategy", jsString("pack or spread; empty removes the setting.").enum("pack", "spread", "")),
		),
		"Pool": jsObject("A pool as the API shows it.",
			reqProp("id", jsID("").readOnly()),
			reqProp("name", jsString("Unique name.").ex("worker-01")),
			reqProp("kind", jsRef("Kind")),
			reqProp("capacity", jsInt("How many members the pool holds.").min(0).max(pooladmin.MaxCapacity)),
			reqProp("used", jsInt("Seats counted against capacity: every seat not released or failed.")),
			reqProp("free", jsInt("capacity - used, never below 0.")),
			reqProp("status", jsRef("PoolStatus")),
			reqProp("status_message", jsString("Why the status was set.")),
			reqProp("status_changed_at", jsTime("")),
			reqProp("status_actor", jsString("Who set the status: admin, monitor, provider, …")),
			reqProp("labels", jsRef("Labels")),
			reqProp("priority", jsInt("Placement order between pools: lower is used first.")),
			reqProp("weight", jsInt(weightDoc).min(1).max(pooladmin.MaxWeight)),
			reqProp("provider_type", jsString("").enum(strs(types...)...)),
			reqProp("provider", jsRef("ProviderView")),
			prop("scripts", jsMap(jsInt(""), "Live members per script; only in GET /api/v1/pools/{id}.")),
			reqProp("created_at", jsTime("")),
			reqProp("health", jsRef("PoolHealth")),
		),
		"PoolHealth": jsObject("The pool's health from its recent provider outcomes (deliveries, removals, failed probes): "+
			"the share of calls that failed, timeouts weighing double, and the p95 latency against a target, decayed with a "+
			"half-life (BERTH_HEALTH_HALF_LIFE). A pool below the threshold (BERTH_HEALTH_THRESHOLD) is degraded, and stays so "+
			"until its score reaches the threshold plus BERTH_HEALTH_RECOVERY_MARGIN (no flapping between tiers): placement "+
			"uses it only when no healthy pool can take the member, before the health monitor marks it offline. Each berth "+
			"process scores the calls it made itself; a restart starts every pool at 1.",
			reqProp("score", jsNumber("From 0 to 1, two decimals; 1 when nothing recent went wrong.").min(0).max(1).ex(0.8)),
			reqProp("degraded", jsBool("The score is below the threshold, or the pool was degraded and its score has not yet reached the threshold plus the recovery margin.")),
			reqProp("reasons", jsArray(jsString(""), "What lowered the score, in English; empty when nothing did.").
				ex([]string{"3 of the last 10 provider calls failed (1 timed out)", "p95 latency 4.2 s (target 2 s)"})),
		),
		"ProviderView": {
			Type: "object",
			Description: "The pool's provider settings as stored, with its type. Secrets (" +
				strings.Join(providers.SecretFields(), ", ") + ") are never returned: when set they read \"(set)\".",
			Properties:           schemaProps{reqProp("type", jsString("").enum(strs(types...)...))},
			Required:             []string{"type"},
			AdditionalProperties: true,
			Examples: []any{json.RawMessage(`{"type": "sftp", "host": "10.0.0.5", "port": 22, "user": "ubuntu",
				"private_key": "(set)", "host_key": "SHA256:…", "dir": "/home/ubuntu/sessions"}`)},
		},
		"PoolInput": jsObject("A new pool.",
			reqProp("name", jsString("1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.").
				pattern(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)),
			reqProp("kind", jsRef("Kind")),
			reqProp("capacity", jsInt("").min(0).max(pooladmin.MaxCapacity)),
			prop("priority", jsInt("Lower is used first.").def(0)),
			prop("weight", jsInt(weightDoc).min(1).max(pooladmin.MaxWeight).def(1)),
			prop("labels", jsRef("Labels")),
			reqProp("provider", jsRef("ProviderSettings")),
		),
		"PoolPatch": jsObject("Changes to a pool; fields left out stay as they are.",
			prop("capacity", jsInt("Not below the pool's current use.").min(0).max(pooladmin.MaxCapacity)),
			prop("priority", jsInt("Lower is used first.")),
			prop("weight", jsInt(weightDoc).min(1).max(pooladmin.MaxWeight)),
			prop("labels", &jsonSchema{Ref: "#/components/schemas/Labels", Description: "Replaces all labels."}),
			prop("provider", &jsonSchema{Ref: "#/components/schemas/ProviderSettings",
				Description: "Replaces the provider settings as a whole: send the secrets again."}),
		),
		"StatusRequest": jsObject("",
			reqProp("ids", jsArray(jsID(""), "Pool ids.").items(1, 1000)),
			reqProp("status", jsString("The new status; inactive and stopped are taken as paused.").
				enum(append(strs(model.PoolStatuses()...), "inactive", "stopped")...)),
			prop("message", jsString("Why; kept as status_message.").maxLen(500)),
		),
		"BulkResult": jsObject("The result of a bulk operation, per id.",
			reqProp("success_count", jsInt("")),
			reqProp("failed_count", jsInt("")),
			reqProp("failed", jsArray(jsObject("",
				reqProp("id", jsID("")),
				reqProp("error", jsString("").ex("pool not found")),
			), "")),
		),
		"DrainResult": jsObject("What a drain started.",
			reqProp("pool", jsString("The pool's name.")),
			reqProp("moving", jsInt("Members given a seat elsewhere, moving now.")),
			reqProp("queued", jsInt("Members waiting in the queue for room.")),
			reqProp("already_moving", jsInt("Members that were already moving.")),
			followProp("the moves (GET /api/v1/moves)"),
		),

		"ReconcileRequest": jsObject("",
			prop("repair", jsBool("Provision missing members again.")),
			prop("remove_unknown", jsBool("Remove members the provider holds that berth does not know.")),
			prop("max_remove_share", jsNumber("The largest share of the team's capacity one run may remove (default 0.1).")),
		),
		"ReconcileStarted": jsObject("A reconcile run that has started.",
			reqProp("run", jsInt("The run's id.")),
			reqProp("state", jsString("queued.")),
			reqProp("report", jsString("Where to read the run and its report (also the Location header).")),
			followProp("the run and its report, the same as report"),
		),
		"ReconcileRun": jsObject("A reconcile run.",
			reqProp("run", jsInt("The run's id.")),
			reqProp("pool_id", jsInt("")),
			reqProp("pool", jsString("The pool's name.")),
			reqProp("state", jsString("").enum("queued", "running", "done", "failed")),
			reqProp("options", jsRef("ReconcileRequest")),
			prop("report", jsRef("ReconcileReport")),
			prop("error", jsString("Why the run failed.")),
			reqProp("actor", jsString("Who asked for the run.")),
			reqProp("created_at", jsTime("")),
			prop("finished_at", jsTime("")),
		),
		"ReconcileReport": jsObject("One team's drift.",
			reqProp("pool", jsString("The pool's name.")),
			prop("skipped", jsString("Why the team was not compared (unhealthy, provider cannot list).")),
			reqProp("unknown", jsArray(jsString(""), "At the provider, without a seat in berth.")),
			reqProp("missing", jsArray(jsString(""), "Active in berth, absent at the provider.")),
			reqProp("pending", jsArray(jsString(""), "Seats still being provisioned.")),
			reqProp("repaired", jsInt("Members provisioned again.")),
			reqProp("removed", jsInt("Unknown members removed.")),
			prop("remove_error", jsString("Why removal stopped or was refused (the share guard).")),
		),

		"AccountBatchForm": jsObject("",
			reqProp("script", jsString("The script these accounts run; accounts of one script are kept together.")),
			prop("strategy", jsString("pack fills one pool before the next; spread uses the least loaded pool. For this request "+
				"only; without it the stored strategy applies (GET /api/v1/placement/settings).").
				enum("pack", "spread")),
			prop("label", jsArray(jsString("key=value; a field may hold several, separated by commas or new lines."),
				"Labels of the accounts (repeat the field, or use labels): each account goes only to a server carrying every "+
					"one of them. A server with a group label takes only accounts whose labels name its group, unless it also "+
					"carries open=true. At most 16 labels.").ex([]string{"region=eu"})),
			prop("ids", jsString("Account ids, one per file in file order, separated by commas, spaces or newlines. "+
				"Without it the id is the file name without its extension.")),
			reqProp("files", jsArray(jsBinary("A credential file (at most 1 MiB by default). The file name must be a bare name "+
				"(no path, not starting with a dot)."), "One or more credential files.").items(1, 0)),
		),
		"BatchResponse": jsObject("The result of a batch import.",
			reqProp("placed", jsInt("")),
			reqProp("queued", jsInt("")),
			reqProp("rejected", jsInt("")),
			reqProp("items", jsArray(jsRef("BatchItem"), "One per file, in the order of the files.")),
		),
		"BatchItem": jsObject("One file's result.",
			reqProp("account", jsString("The account id.").ex("639277333688")),
			prop("file", jsString("The file name as sent.")),
			reqProp("status", jsString("").enum(alloc.OutcomePlaced, alloc.OutcomeQueued, alloc.OutcomeRejected)),
			prop("pool", jsString("The pool it is placed on (placed).").ex("worker-01")),
			prop("position", jsInt("Place in the queue, from 1 (queued).")),
			prop("reason", jsString("Why it was placed there or queued.").ex("3 pools: 1 offline, 2 full")),
			prop("why", jsRef("Why")),
			prop("would_fit", jsRef("WouldFit")),
			prop("error", jsString("Why it was rejected (rejected).")),
		),
		"WouldFit": jsArray(jsRef("FitChange"), "For a queued member: the smallest single changes that would place it now, "+
			"cheapest first, at most three: raise a full pool's capacity by one; set a pool with room to active (paused first, "+
			"then draining, offline, credential_invalid, banned); lift an exclusion (a pool that refused the member, or the pool "+
			"a move leaves); add a pool with the member's labels (offered whenever fewer than three others are found). Empty "+
			"when the member could be placed now (a queue drain is due)."),
		"FitChange": jsObject("One single change that would place a queued member now.",
			prop("pool", jsString("The pool to change; absent for add_pool (and in answers to the public).").ex("worker-01")),
			prop("pool_id", jsID("The pool's id; absent for add_pool (and in answers to the public).")),
			reqProp("field", jsString("What to change.").enum(strs(model.FitFields()...)...)),
			prop("from", jsString("The value now: a capacity in decimal, a status, or excluded.").ex("5")),
			prop("to", jsString("The value that would place the member: a capacity in decimal, active, or allowed.").ex("6")),
			prop("kind", jsRef("Kind")),
			prop("labels", jsMap(jsString(""), "add_pool: the labels the new pool needs (the member's).")),
			reqProp("change", jsString("The change in words, in English.").ex("capacity 5 → 6")),
		),
		"SimulateRequest": jsObject("Hypothetical changes for a what-if.",
			reqProp("changes", jsArray(jsRef("SimChange"), "Applied in order.")),
		),
		"SimChange": jsObject("One hypothetical change: add (new pools) or pool (a pool to change), not both.",
			prop("add", jsRef("SimAdd")),
			prop("pool", jsString("The name of a pool to change.").ex("worker-01")),
			prop("capacity", jsInt("The pool's capacity in the what-if.").min(0)),
			prop("status", jsRef("PoolStatus")),
		),
		"SimAdd": jsObject("New pools for a what-if, empty and active.",
			reqProp("kind", jsRef("Kind")),
			reqProp("count", jsInt("How many (together at most 10000 in one what-if).").min(1)),
			reqProp("capacity", jsInt("Each one's capacity.").min(1)),
			prop("labels", jsMap(jsString(""), "Each one's labels.")),
		),
		"SimulateResult": jsObject("What today's queue would do under the changes.",
			reqProp("placed", jsInt("Queue entries that would be placed.")),
			reqProp("by_pool", jsMap(jsInt(""), "How many would go to each pool, by name.").ex(map[string]int{"worker-01": 1, "new-server-1": 5})),
			reqProp("still_queued", jsInt("Queue entries that would still wait.")),
			reqProp("considered", jsInt("Queue entries placed in the what-if (up to 10000 per kind).")),
		),
		"Why": jsObject("A placement's reason as data, beside its stable English text (reason), so a client can tell it in its "+
			"reader's language: how many pools of the kind there are, how many each cause kept out and, when a pool was chosen, "+
			"which one and by what rule. Absent where the reason is not a placement's, and on rows written before berth kept it.",
			reqProp("kind", jsRef("Kind")),
			reqProp("considered", jsInt("Pools of the kind.")),
			prop("filtered", jsMap(jsInt(""), "Pools each cause kept out; only causes that kept one out are present. The causes: "+
				strings.Join(model.WhyCauses(), ", ")+"; a pool status berth does not know is its own cause.").
				ex(map[string]int{model.CauseOffline: 1, model.CauseFull: 2})),
			prop("pool", jsString("The pool chosen; absent when none could take the member.").ex("worker-01")),
			prop("used", jsInt("The chosen pool's members before this one.")),
			prop("capacity", jsInt("The chosen pool's capacity.")),
			prop("rule", jsString("The rule that chose the pool: affinity (the fullest pool already holding the affinity key), "+
				"most_free (the most free room), most_free_new_key (the most free room; no pool holds the key yet), least_loaded "+
				"(the spread strategy).").enum(strs(model.WhyRules()...)...)),
			prop("affinity_key", jsString("The member's affinity key (an account's script).")),
			prop("contended", jsInt("There was room, but the database refused this many pools in a row (other replicas placing).")),
			prop("excluded_until", jsTime("When the exclusion of a pool that refused the member lapses.")),
			prop("degraded", jsInt("Eligible pools put after the healthy ones for their health (see PoolHealth).")),
			prop("health", jsNumber("The chosen pool's health score, present when it is degraded: no healthy pool could take the member.").
				min(0).max(1)),
			prop("removing", jsString("A queued member's own pool that would take them but is still taking them out (their earlier "+
				"seat's removal): they wait for that removal, not for room, and are placed when it ends.").ex("team-3")),
		),
		"Account": jsObject("An account and its live placement.",
			reqProp("account", jsString("The account id.")),
			reqProp("script", jsString("")),
			reqProp("pool", jsString("The pool it is on; empty when not placed.")),
			reqProp("state", jsString("The seat's state when placed (see SeatState), otherwise pending, queued or failed.")),
			prop("reason", jsString("Why it is in this state.")),
			prop("why", jsRef("Why")),
		),
		"Seat": jsObject("A member in a pool.",
			reqProp("id", jsID("")),
			reqProp("member_id", jsID("")),
			reqProp("member", jsString("The account id or email.")),
			reqProp("pool_id", jsID("")),
			reqProp("pool", jsString("The pool's name.")),
			reqProp("state", jsRef("SeatState")),
			prop("move_from", jsID("The seat this one replaces, when it is part of a move.")),
			prop("code_id", jsID("The redeem code the seat rests on (team seats given by a redeem).")),
			reqProp("attempts", jsInt("Delivery attempts so far.")),
			prop("last_error", jsString("The last delivery or removal error.")),
			reqProp("created_at", jsTime("")),
			reqProp("updated_at", jsTime("")),
			followProp("the member's seats (GET /api/v1/seats?member= or ?email=); only in the 202 of a release"),
		),
		"QueueEntry": jsObject("A member waiting for room.",
			reqProp("id", jsID("")),
			reqProp("member_id", jsID("")),
			reqProp("member", jsString("The account id or email.")),
			reqProp("kind", jsRef("Kind")),
			reqProp("is_move", jsBool("The member holds a seat it is moving away from; moves go ahead of new members.")),
			prop("from_seat", jsID("The seat being moved away from.")),
			reqProp("reason", jsString("Why it waits.")),
			prop("why", jsRef("Why")),
			reqProp("would_fit", jsRef("WouldFit")),
			reqProp("position", jsInt("Place in its queue, from 1.")),
			reqProp("enqueued_at", jsTime("")),
		),
		"HistoryEntry": jsObject("One state change.",
			reqProp("id", jsID("Increases with time; use it as before to page back.")),
			reqProp("at", jsTime("")),
			reqProp("member", jsString("The account id or email; empty for pool changes and codes.created.")),
			prop("pool", jsString("The pool concerned.")),
			reqProp("action", jsRef("HistoryAction")),
			reqProp("from", jsString("The state or pool before.")),
			reqProp("to", jsString("The state or pool after.")),
			reqProp("reason", jsString("")),
			prop("why", jsRef("Why")),
			reqProp("actor", jsString("Who made the change: admin, monitor, provider, public, …")),
			prop("code_id", jsID("The redeem code the entry counts against (code and rebind actions, moves of team seats).")),
		),

		"CodeStatus": jsString("Where a code is in its life: unused until its first redeem binds it to an email (bound); expired when its end " +
			"has passed; disabled by an admin.").enum(strs(model.CodeUnused, model.CodeBound, model.CodeExpired, model.CodeDisabled)...),
		"Code": jsObject("A redeem code.",
			reqProp("id", jsID("").readOnly()),
			prop("code", jsString("The code as printed; for operators and admins only (absent for viewers).").ex("VIP-7K2Q-M9XD-4TNE-B3WA")),
			reqProp("hint", jsString("The last four characters, for search.").ex("B3WA")),
			reqProp("group", jsString(codeGroupDoc)),
			prop("labels", &jsonSchema{Ref: "#/components/schemas/Labels", Description: "Placement constraints beyond the group: " +
				"redeemers go only to teams carrying every one."}),
			reqProp("max_uses", jsInt("How many seats the code can give, one at a time.").min(1)),
			reqProp("used_count", jsInt("Uses taken; a seat whose delivery fails for good gives its use back.")),
			reqProp("bound_email", jsString("The email the first redeem bound the code to; empty while unused.")),
			reqProp("valid_for", jsString("How long the code lasts from its first redeem, as a Go duration; 0s for no limit.").ex("720h0m0s")),
			prop("expires_at", jsTime("The latest the code may end, if set.")),
			prop("activated_at", jsTime("When the first redeem bound it.")),
			prop("ends_at", jsTime("When it ends: activation + valid_for, capped by expires_at. Its seat is released then.")),
			reqProp("rebind_limit", jsInt("How many paid moves (public rebind) it allows.")),
			reqProp("rebind_count", jsInt("Paid moves taken; a paid move that fails or is cancelled gives its rebind back.")),
			reqProp("status", jsRef("CodeStatus")),
			reqProp("batch", jsString("The batch it was generated in.")),
			reqProp("created_at", jsTime("")),
		),
		"CodeBatchRequest": jsObject("Codes to generate; they all share these settings.",
			reqProp("count", jsInt("How many codes.").min(1).max(codebook.MaxPerBatch).ex(100)),
			prop("group", jsString(codeGroupDoc+" At most 63 bytes.").ex("vip")),
			prop("labels", &jsonSchema{Ref: "#/components/schemas/Labels", Description: "Placement constraints beyond the group " +
				"(region=eu): redeemers go only to teams carrying every one. The group goes in group, not here; at most 16."}),
			prop("max_uses", jsInt("How many seats a code can give, one at a time (a released seat can be redeemed again); 0 means 1.").
				min(0).def(1)),
			prop("valid_for", jsString("How long a code lasts from its first redeem, as a Go duration; empty or 0s for no limit.").
				ex("720h")),
			prop("expires_at", jsTime("The latest a code may end (RFC 3339), whether or not it was redeemed; must be in the future.")),
			prop("rebind_limit", jsInt("How many paid moves a code allows.").min(0).max(1000).def(3)),
			prop("prefix", jsString("Put before every code, upper-cased.").pattern(`^[A-TV-Za-tv-z0-9]{1,8}$`).ex("VIP")),
			prop("batch", jsString("A name for this batch, to find its codes; default the time of generation (20060102-150405). "+
				"At most 63 bytes.").ex("2024-06-promo")),
		),
		"CodeBatchResult": jsObject("The codes generated.",
			reqProp("codes", jsArray(jsString("").ex("VIP-7K2Q-M9XD-4TNE-B3WA"), "In generation order.")),
		),
		"CodeDetail": jsObject("A code and its history.",
			reqProp("code", jsRef("Code")),
			reqProp("history", jsArray(jsRef("HistoryEntry"), "Entries that count against the code, newest first, at most 1000.")),
		),
		"CodeStatusRequest": jsObject("",
			reqProp("status", jsString("disabled disables the code; enabled gives it back the status its state implies "+
				"(unused and bound are taken as enabled).").enum("disabled", "enabled")),
		),

		"MoveRequest": jsObject("Where to move a seat.",
			prop("to", jsString("The name of the pool to move to, of the member's kind; left out or empty: the best pool.").ex("team-3")),
		),
		"MoveStarted": jsObject("How a move started.",
			reqProp("status", jsString("placed: the new seat is reserved and being delivered; queued: the member waits "+
				"for room, keeping its seat.").enum(alloc.OutcomePlaced, alloc.OutcomeQueued)),
			reqProp("pool", jsString("The pool of the new seat (placed); empty when queued.").ex("team-3")),
			reqProp("position", jsInt("Place in the queue, from 1 (queued); 0 when placed.")),
			reqProp("reason", jsString("Why the member went there or waits.")),
			prop("why", jsRef("Why")),
			prop("would_fit", jsRef("WouldFit")),
			followProp("the member's seats (GET /api/v1/seats?member= or ?email=)"),
		),
		"MoveState": jsString("Where a move is.").enum(strs(model.MovePending, model.MoveDone, model.MoveFailed, model.MoveCancelled)...),
		"Move": jsObject("One member's seat going from one pool to another.",
			reqProp("id", jsID("")),
			reqProp("member_id", jsID("")),
			reqProp("member", jsString("The account id or email.")),
			reqProp("from_seat", jsID("The seat being left.")),
			prop("to_seat", jsID("The new seat, once placed.")),
			prop("code_id", jsID("The code the move counts against (team seats).")),
			reqProp("paid", jsBool("The move took one of the code's rebinds.")),
			reqProp("state", jsRef("MoveState")),
			reqProp("reason", jsString("Why the move was made, then how it ended.")),
			reqProp("actor", jsString("Who asked: admin, public, …")),
			reqProp("created_at", jsTime("")),
			prop("finished_at", jsTime("When it left pending.")),
		),
		"MigrationRequest": jsObject("Pools to empty.",
			reqProp("from", jsArray(jsString(""), "Names of the pools to move members off, all of one kind.").items(1, 0).
				ex([]string{"team-1", "team-2"})),
			prop("to", jsString("The pool to move them to, of the same kind and not in from; empty: wherever placement chooses "+
				"outside from.").ex("team-3")),
			prop("dry_run", jsBool("Only plan: write nothing.").def(false)),
		),
		"MigrationResult": jsObject("A migration's plan (dry_run) or what it started.",
			reqProp("dry_run", jsBool("")),
			reqProp("moving", jsInt("Members planned to move or moving (with dry_run: that would move).")),
			reqProp("queued", jsInt("Members that wait for room, keeping their seat.")),
			reqProp("failed", jsInt("Members whose move could not start (never with dry_run).")),
			reqProp("items", jsArray(jsRef("MigrationItem"), "One per live seat of the from pools.")),
			followProp("the moves (GET /api/v1/moves); not with dry_run"),
		),
		"MigrationItem": jsObject("One member's planned or started migration.",
			reqProp("member", jsString("The account id or email.")),
			reqProp("seat_id", jsID("The seat being left.")),
			reqProp("from", jsString("Its pool.")),
			prop("to", jsString("The pool it goes (or would go) to.")),
			reqProp("status", jsString("planned (dry_run, would move), queued (waits for room), moving (started) or failed.").
				enum("planned", "queued", "moving", "failed")),
			prop("reason", jsString("Why it goes there, waits or failed.")),
			prop("why", jsRef("Why")),
			prop("would_fit", jsRef("WouldFit")),
		),

		"IntegrityReport": jsObject("What breaks berth's invariants; every list is empty, never null, when nothing does.",
			reqProp("orphans", jsArray(jsRef("Orphan"), "")),
			reqProp("overbooked", jsArray(jsRef("Overbooked"), "")),
			reqProp("zombie_moves", jsArray(jsRef("Move"), "Moves pending longer than zombie_after.")),
			reqProp("drift", jsArray(jsRef("Drift"), "")),
			reqProp("checked_at", jsTime("")),
			reqProp("truncated", jsBool("A list had more than 1000 entries; the rest are left out.")),
		),
		"Orphan": jsObject("A member holding more live seats than its pending moves explain.",
			reqProp("member", jsString("The account id or email.")),
			reqProp("member_id", jsID("")),
			reqProp("kind", jsRef("Kind")),
			reqProp("seats", jsArray(jsRef("OrphanSeat"), "All its live seats, newest first.")),
		),
		"OrphanSeat": jsObject("One live seat of an orphan.",
			reqProp("seat_id", jsID("")),
			reqProp("pool_id", jsID("")),
			reqProp("pool", jsString("The pool's name.")),
			reqProp("pool_status", jsRef("PoolStatus")),
			reqProp("state", jsRef("SeatState")),
			prop("move_from", jsID("The seat this one replaces, when a move placed it.")),
			reqProp("created_at", jsTime("")),
		),
		"Overbooked": jsObject("A pool holding more than its capacity.",
			reqProp("pool", jsString("The pool's name.")),
			reqProp("pool_id", jsID("")),
			reqProp("used", jsInt("The pool's recorded use.")),
			reqProp("counted", jsInt("Its seats that count against capacity.")),
			reqProp("capacity", jsInt("")),
		),
		"Drift": jsObject("A recorded counter that disagrees with what it is derived from.",
			reqProp("kind", jsString("pool_used: a pool's used against its counted seats; code_used: a code's used_count against "+
				"its code.used minus code.refunded history; code_rebind: its rebind_count against rebind.charged minus rebind.refunded.").
				enum(integrity.DriftPoolUsed, integrity.DriftCodeUsed, integrity.DriftCodeRebind)),
			prop("pool", jsString("The pool's name (pool_used).")),
			prop("pool_id", jsID("The pool (pool_used).")),
			prop("code_id", jsID("The code (code_used, code_rebind).")),
			reqProp("recorded", jsInt("The counter as stored.")),
			reqProp("derived", jsInt("What it should be.")),
		),
		"FleetSamples": jsObject("The fleet's recorded samples over a range.",
			reqProp("since", jsTime("")),
			reqProp("until", jsTime("")),
			reqProp("step", jsString("The bucket the samples were folded into, as a Go duration.").ex("5m0s")),
			reqProp("series", jsArray(jsRef("FleetSeries"), "One per kind and group label with samples in the range; empty, never null, when none.")),
		),
		"FleetSeries": jsObject("The samples of one pool kind and group label.",
			reqProp("kind", jsRef("Kind")),
			reqProp("group", jsString("The pools' group label; empty for pools without one.")),
			reqProp("points", jsArray(jsRef("FleetPoint"), "Oldest first; at least one.")),
		),
		"FleetPoint": jsObject("One sample, or the peak of one bucket's samples.",
			reqProp("at", jsTime("When it was taken (a bucket's last sample).")),
			reqProp("pools", jsInt("The pools of the kind and group, every status.")),
			reqProp("capacity", jsInt("Their summed capacity.")),
			reqProp("used", jsInt("Their summed used seats.")),
			reqProp("queued", jsInt("The kind's queue depth (new members and moves).")),
		),
		"RepairRequest": jsObject("How much to repair.",
			reqProp("limit", jsInt("The most seat releases this call starts.").min(1).max(integrity.MaxRepair).ex(100)),
			prop("grace", jsString("How long a member must have held extra live seats to be repaired, as a Go duration; "+
				"empty or 0s means 10m.").def("10m").ex("10m")),
		),
		"RepairResult": jsObject("What a repair did.",
			reqProp("released", jsInt("Seats whose release started.")),
			reqProp("kept", jsArray(jsID(""), "The seat kept for each orphan repaired.")),
			reqProp("skipped", jsInt("Seats left live because limit was reached; call again for them.")),
			reqProp("changed", jsInt("Orphans left alone because their seats changed since the check.")),
			reqProp("errors", jsArray(jsString(""), "One line per seat whose release failed.")),
		),

		"PlanRequest": jsObject("An action to plan.",
			reqProp("action", jsString("The action: one of the plans table.").enum(strs(plans.Actions()...)...)),
			prop("params", jsAnyJSON("The body of the action's direct endpoint (pools.drain: {\"id\": N}).")),
		),
		"Plan": jsObject("A plan: the steps an action would take and what they rest on.",
			reqProp("id", jsID("").readOnly()),
			reqProp("action", jsString("").enum(strs(plans.Actions()...)...)),
			reqProp("params", jsAnyJSON("The params it was planned with.")),
			reqProp("steps", jsArray(jsRef("PlanStep"), "In the order they are applied; empty when there is nothing to do.")),
			reqProp("preconditions", jsArray(jsRef("PlanPrecondition"), "What the plan read and rests on; read again by apply.")),
			reqProp("actor", jsString("Who made the plan.")),
			reqProp("created_at", jsTime("")),
			reqProp("expires_at", jsTime("After this, apply answers 410.")),
			reqProp("state", jsString("open: may be applied; applied; expired: not applied in time.").enum(plans.StateOpen, plans.StateApplied, plans.StateExpired)),
			prop("applied_at", jsTime("")),
			prop("applied_by", jsString("")),
			prop("result", jsRef("PlanResult")),
			prop("summary", jsRef("RebalanceSummary")),
		),
		"RebalanceParams": jsObject("The params of a rebalance plan.",
			reqProp("kind", jsString("The kind of pools to rebalance.").enum("server", "team")),
			prop("group", jsString("The pools of this group (label group); absent: the pools without a group.")),
			reqProp("max_moves", jsInt("The most moves the plan may take, 1 to 10000.")),
			prop("strategy", jsString("pack: as few pools in use as possible; spread: every pool equally loaded. Absent: the "+
				"stored strategy of the kind and group.").enum("pack", "spread")),
			prop("skip_moved_within", jsString("Members who moved more recently stay where they are (default 24h; 0s moves anyone).")),
		),
		"RebalanceSummary": jsObject("What a rebalance plan measured: the fleet before and once every move is done.",
			reqProp("kind", jsString("")),
			prop("group", jsString("")),
			reqProp("strategy", jsString("").enum("pack", "spread")),
			reqProp("max_moves", jsInt("")),
			reqProp("moves", jsInt("Moves planned.")),
			reqProp("pinned", jsInt("Members not moved: they moved within skip_moved_within, or are moving.")),
			reqProp("skip_moved_within", jsString("")),
			reqProp("before", jsRef("Imbalance")),
			reqProp("after", jsRef("Imbalance")),
		),
		"Imbalance": jsObject("How far the active pools are from each strategy's ideal.",
			reqProp("pools", jsInt("Active pools measured.")),
			reqProp("members", jsInt("Seats they count.")),
			reqProp("in_use", jsInt("Pools holding a seat (pack wants few).")),
			reqProp("partial", jsInt("Pools holding seats with room left (pack wants few).")),
			reqProp("empty", jsInt("Pools holding none.")),
			reqProp("utilization_mean", jsNumber("Mean load, used / (capacity × weight).")),
			reqProp("utilization_stddev", jsNumber("Its standard deviation (spread wants it low).")),
			reqProp("utilization_range", jsNumber("Highest load minus lowest (spread wants it low).")),
		),
		"PlanStep": jsObject("One step. pool.status: pool_id's status from → to. move: member off seat_id (on pool) to the pool to "+
			"(to_id), make before break; without to no pool had room, and the member waits in the queue outside exclude. release: "+
			"member's extra seat seat_id released, keeping keep_seat_id. move.paced: as move, to to, run later by the rebalance_step job.",
			reqProp("op", jsString("").enum(plans.OpPoolStatus, plans.OpMove, plans.OpRelease, plans.OpPacedMove)),
			prop("pool_id", jsID("")),
			prop("pool", jsString("")),
			prop("member", jsString("")),
			prop("member_id", jsID("")),
			prop("seat_id", jsID("")),
			prop("from", jsString("pool.status: the status now.")),
			prop("to", jsString("pool.status: the new status; move: the target pool.")),
			prop("to_id", jsID("move: the target pool's id.")),
			prop("keep_seat_id", jsID("release: the seat the member keeps.")),
			prop("exclude", jsArray(jsID(""), "move without to: the pools it must not go to.")),
			prop("message", jsString("pool.status: the status message.")),
			prop("reason", jsString("Why: placement's explanation of a move's target, or which seat an orphan keeps.")),
			prop("why", jsRef("Why")),
		),
		"PlanPrecondition": jsObject("One fact a plan read. pool.status: the pool has status. pool.room: the pool has at least free "+
			"free seats. seat: member's seat_id is live on pool_id with no move under way. member.seats: member's live seats are "+
			"exactly seats.",
			reqProp("kind", jsString("").enum(plans.PrePoolStatus, plans.PrePoolRoom, plans.PreSeat, plans.PreMemberSeats)),
			prop("pool_id", jsID("")),
			prop("pool", jsString("")),
			prop("status", jsRef("PoolStatus")),
			prop("free", jsInt("")),
			prop("member", jsString("")),
			prop("member_id", jsID("")),
			prop("seat_id", jsID("")),
			prop("seats", jsArray(jsID(""), "")),
		),
		"PlanResult": jsObject("What applying a plan did.",
			reqProp("done", jsInt("Steps done: statuses set, releases and moves started.")),
			reqProp("queued", jsInt("Moves waiting in the queue for room.")),
			reqProp("failed", jsInt("Steps that failed alone (detail says why).")),
			prop("scheduled", jsInt("move.paced steps still waiting for the rebalance_step job.")),
			prop("cancelled", jsInt("move.paced steps stopped before they ran (POST /api/v1/plans/{id}/cancel).")),
			reqProp("steps", jsArray(jsRef("PlanStepResult"), "One per step, in order.")),
		),
		"PlanStepResult": jsObject("What became of one step.",
			reqProp("step", jsInt("Its index in steps.")),
			reqProp("status", jsString("").enum(plans.StepDone, plans.StepQueued, plans.StepFailed, plans.StepScheduled, plans.StepCancelled)),
			prop("pool", jsString("The pool changed, or where the member is moving.")),
			prop("detail", jsString("Why it failed or waits.")),
		),

		"Role": jsString("What a user may do: viewer reads; operator also changes pools, accounts, seats, codes and moves; " +
			"admin also manages users, reads the audit log and writes provider secrets.").enum(strs(auth.Roles()...)...),
		"LoginRequest": jsObject("",
			reqProp("username", jsString("The user name; case does not matter.").ex("alice")),
			reqProp("password", jsString("").writeOnly()),
		),
		"Caller": jsObject("Who is calling.",
			reqProp("id", jsID("The user's id; 0 for the admin token.")),
			reqProp("username", jsString("The user name, or admin-token.").ex("alice")),
			prop("name", jsString("Deprecated: the same as username, kept for this release.").deprecated()),
			reqProp("role", jsRef("Role")),
			reqProp("via", jsString("How the caller authenticated.").enum("session", "token", "admin-token")),
		),
		"SessionInfo": jsObject("",
			reqProp("user", jsRef("Caller")),
			prop("idle_timeout_seconds", jsInt("After sign-in: the session ends after this long without use.")),
		),
		"User": jsObject("A console user; never the password.",
			reqProp("id", jsID("").readOnly()),
			reqProp("username", jsString("The name the user signs in with.").ex("alice")),
			prop("name", jsString("Deprecated: the same as username, kept for this release.").deprecated()),
			reqProp("role", jsRef("Role")),
			reqProp("disabled", jsBool("A disabled user cannot sign in and its tokens do not work.")),
			reqProp("failed_logins", jsInt("Failed sign-ins with this name in the last day, from every address.")),
			prop("locked_until", jsTime("Set while some address must wait before it may try this name again "+
				"(after 5 failures from that address); the user still signs in from any other address.")),
			reqProp("created_at", jsTime("")),
		),
		"UserCreateRequest": jsObject("A new user.",
			prop("username", jsString("The name the user signs in with (required; or give it as the deprecated name): "+
				"1-64 lower-case letters, digits, '.', '_', '@' or '-', starting with a letter or digit.").
				pattern(`^[a-z0-9][a-z0-9._@-]{0,63}$`).ex("alice")),
			prop("name", jsString("Deprecated alias of username, read for this release; if both are given they must agree.").
				pattern(`^[a-z0-9][a-z0-9._@-]{0,63}$`).deprecated()),
			reqProp("password", jsString(fmt.Sprintf("At least %d characters.", auth.MinPasswordLen)).writeOnly()),
			reqProp("role", jsRef("Role")),
		),
		"UserPatch": jsObject("Changes to a user; fields left out stay.",
			prop("role", jsRef("Role")),
			prop("password", jsString(fmt.Sprintf("A new password, at least %d characters.", auth.MinPasswordLen)).writeOnly()),
			prop("disabled", jsBool("")),
		),
		"TokenCreateRequest": jsObject("", reqProp("name", jsString("What the token is for (1-100 characters).").ex("nightly export"))),
		"Token": jsObject("A personal API token; never the token itself.",
			reqProp("id", jsID("")),
			reqProp("name", jsString("")),
			reqProp("created_at", jsTime("")),
			prop("last_used", jsTime("When it was last used (to the minute).")),
		),
		"TokenCreated": jsObject("A new personal API token: shown this once.",
			reqProp("id", jsID("")),
			reqProp("name", jsString("")),
			reqProp("created_at", jsTime("")),
			reqProp("token", jsString("The token, for Authorization: Bearer.").ex("berth_pat_3f…")),
		),
		"AuditEntry": jsObject("One audited action.",
			reqProp("id", jsID("")),
			reqProp("at", jsTime("")),
			reqProp("actor", jsString("The user name, admin-token, anonymous (a failed sign-in as an unknown user) or system.")),
			reqProp("action", jsString("METHOD and route pattern, or auth.login, auth.login_failed, auth.login_locked, "+
				"auth.logout, auth.first_admin.").ex("PATCH /api/v1/pools/{id}")),
			reqProp("target", jsString("The route's path values.").ex("id=3")),
			reqProp("before", jsAnyJSON("The resource before the change (secrets redacted); null when not kept.")),
			reqProp("after", jsAnyJSON("The resource after the change, or the request body (secrets redacted); null when none.")),
			prop("request", jsAnyJSON("The request body (secrets redacted) on routes that keep before and after; "+
				"for an upload, what it held (script, number of files, outcome).")),
			reqProp("remote_ip", jsString("The client address.")),
			reqProp("status", jsInt("The HTTP status answered.")),
		),

		"PublicRequest": jsObject("An email and a redeem code.",
			reqProp("email", jsString("The user's email; case does not matter.").maxLen(254).ex("user@example.com")),
			reqProp("code", jsString("The code as printed; case, dashes and spaces do not matter, and I or L read as 1, O as 0.").
				ex("VIP-7K2Q-M9XD-4TNE-B3WA")),
		),
		"SeatStatus": jsObject("What a user sees of their seat.",
			reqProp("state", jsString("pending: the seat is reserved and the team is adding the user; active: the user is on the team; "+
				"queued: waiting for room; expired: the code has ended and the seat is gone; released: the seat is gone but the code "+
				"has not ended (redeem again if it has uses left); removing: the seat was given up and the team is still taking the "+
				"user out (released once that ends; a redeem meanwhile waits for it, see why.removing); unused: the email has never "+
				"held a seat.").
				enum("pending", "active", "queued", "expired", "released", "removing", "unused")),
			prop("pool", jsString("The team the seat is on (pending, active), or the team taking the user out (removing).").ex("team-3")),
			reqProp("position", jsInt("Place in the queue, from 1, when queued (or queued to move); else 0.")),
			prop("expires_at", jsTime("When the code ends and the seat with it; absent when it never ends.")),
			reqProp("rebind_count", jsInt("Paid moves taken.")),
			reqProp("rebind_limit", jsInt("Paid moves allowed.")),
			prop("moving", jsBool("A move of the seat is in progress; absent when not.")),
			reqProp("free_move", jsBool("A move now would be free: the team is unhealthy.")),
			prop("message", jsString("A note for the user, when there is one.")),
			prop("why", jsRef("Why")),            // queued: kind, considered and filtered only
			prop("would_fit", jsRef("WouldFit")), // queued: without pool names
			prop("last_move", jsObject("The user's latest finished move, with a live seat (what the move e-mail said); absent when none.",
				reqProp("from", jsString("The team left.")),
				reqProp("to", jsString("The team moved to.")),
				reqProp("cause", jsString("Why: paid (the user asked; counted), free (the user asked off an unhealthy team), operator, "+
					"drain (the old team was emptied), migration, rebalance, plan (an operator's plan), other.").
					enum(strs(model.MoveCauses()...)...)),
				reqProp("paid", jsBool("The move counted against the code's moves (rebind_count).")),
				reqProp("finished_at", jsTime("When the new seat became active.")),
			)),
		),
		"RebindResult": jsObject("What a move request did.",
			reqProp("free", jsBool("The move is free (the team is unhealthy) and took no rebind.")),
			reqProp("message", jsString("What happens now, for the user.")),
			reqProp("state", jsString("pending: moving (or a move was already in progress; nothing was charged); queued: waiting for "+
				"room, keeping the current seat (or, with no seat yet, waiting for one).").enum("pending", "queued")),
			prop("pool", jsString("The team being moved to, or the current team when a move was already in progress.")),
			prop("position", jsInt("Place in the queue, from 1 (queued).")),
			reqProp("rebind_count", jsInt("Paid moves taken, this one included.")),
			reqProp("rebind_limit", jsInt("Paid moves allowed.")),
			prop("would_fit", jsRef("WouldFit")), // queued: without pool names
		),
	}

	var oneOf []*jsonSchema
	mapping := map[string]string{}
	for _, t := range providers.All() {
		name := providerSchemaName(t.Name)
		sc[name] = providerSettingsSchema(t)
		oneOf = append(oneOf, jsRef(name))
		mapping[t.Name] = "#/components/schemas/" + name
	}
	sc["ProviderSettings"] = &jsonSchema{
		Description:   "Where members of the pool are delivered: the provider type and its settings. Secrets are write-only.",
		OneOf:         oneOf,
		Discriminator: &discriminator{PropertyName: "type", Mapping: mapping},
	}
	return sc
}

// ---- the document --------------------------------------------------------

// openAPITags are the tags, in the order the docs page shows them.
var openAPITags = []oaTag{
	{Name: "pools", Description: "Pools: servers or teams with limited room for members."},
	{Name: "accounts", Description: "Accounts (credential files) placed on server pools."},
	{Name: "seats", Description: "Seats: one member in one pool."},
	{Name: "moves", Description: "Moves of members between pools, make before break: one seat, or every seat of some pools."},
	{Name: "queue", Description: "Members waiting for room."},
	{Name: "codes", Description: "Redeem codes: users redeem them (see public) for a seat on a team."},
	{Name: "public", Description: "The routes users call, without a token: redeem a code, see the seat, move to another team."},
	{Name: "integrity", Description: "Checks of berth's invariants and repair of orphans."},
	{Name: "plans", Description: "Plan, then apply: the steps a dangerous action would take, applied later exactly, or refused when the state changed."},
	{Name: "auth", Description: "Signing in, users and their roles, personal API tokens."},
	{Name: "audit", Description: "The audit log of every change: who, what, before and after."},
	{Name: "history", Description: "Every state change, with its reason and actor."},
	{Name: "fleet", Description: "The fleet over time: capacity, use and queue depth as the dashboard charts them."},
	{Name: "health", Description: "Liveness and readiness."},
	{Name: "docs", Description: "This document and its HTML rendering."},
}

const authDescription = "Every route not marked public needs a caller, and a role. Send `Authorization: Bearer TOKEN` " +
	"with a personal API token (POST /api/v1/tokens; it acts with its user's role) or the admin token (role admin; from " +
	"BERTH_ADMIN_TOKEN, or created and printed once at first start), or sign in (POST /api/v1/session, or the console) and " +
	"send the session cookie berth_session. Without a caller a route answers 401; with a role below the one it needs " +
	"(viewer < operator < admin), 403. Roles: viewer reads; operator also changes pools, accounts, seats, codes and moves; " +
	"admin also manages users, reads the audit log and writes provider secrets (creating a pool, or changing its provider). " +
	"The first start creates the user admin with the password in BERTH_ADMIN_PASSWORD, or prints a generated one once. " +
	"Requests that change state (POST, PATCH, DELETE) from a browser page of another site are refused with 403 " +
	"(Sec-Fetch-Site or Origin); clients that send neither header, such as curl, are not affected."

// loginLimits describes the sign-in limits of package auth.
const loginLimits = "Each client address may try 10 times a minute (bursts of 10; BERTH_LOGIN_RATE, BERTH_LOGIN_BURST). " +
	"After 5 failed sign-ins with one user name from one address, that address waits before it may try that name again: " +
	"a minute, doubling with each further failure, at most 15 minutes; every other address, the owner's, goes on, and " +
	"unknown names are answered exactly like known ones. Both answer 429 with Retry-After. An admin setting a new " +
	"password ends the waits."

const crossSite = "A browser request from a page of another site (Sec-Fetch-Site: cross-site, or an Origin that is not this host)."

// roleNote says which role a route needs, for its description.
func roleNote(rt Route) string {
	switch {
	case rt.Public:
		return ""
	case rt.Path == "/api/v1/pools/{id}" && rt.Method == "PATCH":
		return "Needs role operator; admin when the body has provider (provider settings hold secrets)."
	case rt.Role == auth.RoleViewer:
		return "Needs any signed-in role (viewer or above)."
	case rt.Role == auth.RoleOperator:
		return "Needs role operator or admin."
	}
	return "Needs role admin."
}

const errorDescription = "Errors are RFC 9457 problem details (application/problem+json): `status` and `title` " +
	"give the HTTP status, `detail` says what to fix. Internal errors (500) carry only a request id; every response has " +
	"an X-Request-Id header (send your own to correlate). A path of this document asked with a method it does not list " +
	"answers 405 with an Allow header naming the methods it has (`Allow: GET, PATCH`); a path it does not have, 404."

// The Idempotency-Key refusals of the batch routes (idempotency.go).
const (
	errIdemRunning = "A request with the same Idempotency-Key is still running; Retry-After says when to try again."
	errIdemOther   = "the Idempotency-Key was used (by this caller, on this route, within 24 hours) for another request."
)

// errorReasons is the generic description of each error status.
var errorReasons = map[int]string{
	400: "The request is malformed.",
	401: "No caller: no Authorization header or session cookie, or a token or session that is not (or no longer) valid.",
	404: "Not found.",
	409: "Conflicts with what exists.",
	403: "Refused.",
	410: "Gone.",
	413: "The body is too large.",
	422: "The request is well-formed but a value is invalid.",
	429: "Too many requests; Retry-After says how many seconds to wait.",
	500: "Internal error; the server log has details under the request id.",
	503: "Not ready.",
}

// routeKey is a route's key in opSpecs.
func routeKey(method, path string) string { return method + " " + path }

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// operationErrors returns the error statuses of a route with when each
// happens.
func operationErrors(rt Route, sp opSpec) map[int]string {
	out := map[int]string{500: errorReasons[500]}
	if !rt.Public {
		out[401] = errorReasons[401]
		if rt.Role != auth.RoleViewer || rt.bodyRole != "" {
			out[403] = "The caller's role is below the one the route needs (see above)."
		}
	}
	if rt.StateChanging() {
		if out[403] == "" {
			out[403] = crossSite
		} else {
			out[403] += " Or: " + lowerFirst(crossSite)
		}
		if rt.multipart {
			out[415] = "The body is not multipart/form-data."
		} else {
			out[415] = "A body was sent with a Content-Type other than application/json (or another +json type); " +
				"a body without Content-Type is read as JSON."
		}
	}
	for st, why := range sp.errors {
		if why == "" {
			why = errorReasons[st]
		}
		if prev := out[st]; prev != "" && st == http.StatusForbidden {
			why += " Or: " + lowerFirst(prev)
		}
		out[st] = why
	}
	return out
}

func buildOperation(rt Route, sp opSpec) *oaOperation {
	op := &oaOperation{
		Tags:        []string{sp.tag},
		Summary:     upperFirst(rt.Summary),
		Description: strings.TrimSpace(roleNote(rt) + " " + sp.description),
		OperationID: sp.id,
		Parameters:  sp.params,
		RequestBody: sp.body,
		Responses:   map[string]*oaResponse{},
	}
	if op.OperationID == "" {
		op.OperationID = strings.ToLower(rt.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", ".", "_").Replace(rt.Path)
	}
	if len(op.Tags) == 1 && op.Tags[0] == "" {
		op.Tags = []string{"other"}
	}
	op.Security = []map[string][]string{}
	if !rt.Public {
		op.Security = []map[string][]string{{"bearerAuth": {}}, {"cookieAuth": {}}}
	}
	for _, o := range sp.ok {
		// Several okResponses with one status are one response with several
		// content types (the first description stands).
		resp := op.Responses[strconv.Itoa(o.status)]
		if resp == nil {
			resp = &oaResponse{Description: o.description}
			op.Responses[strconv.Itoa(o.status)] = resp
		}
		if o.status == http.StatusAccepted {
			resp.Headers = map[string]*oaHeader{"Location": {Description: "Where to follow the work: a GET that shows its " +
				"progress (the same as follow in the body).", Schema: jsString("").ex("/api/v1/moves")}}
		}
		if o.contentType != "" {
			if resp.Content == nil {
				resp.Content = map[string]*oaMediaType{}
			}
			resp.Content[o.contentType] = &oaMediaType{Schema: o.schema, Example: o.example}
		}
	}
	if len(sp.ok) == 0 {
		op.Responses["200"] = &oaResponse{Description: "OK"}
	}
	for st, why := range operationErrors(rt, sp) {
		resp := &oaResponse{Description: why,
			Content: map[string]*oaMediaType{ctProblem: {Schema: jsRef("Problem")}}}
		switch st {
		case http.StatusUnauthorized:
			resp.Headers = map[string]*oaHeader{"WWW-Authenticate": {Schema: jsString("").ex(`Bearer realm="berth"`)}}
		case http.StatusTooManyRequests:
			resp.Headers = map[string]*oaHeader{"Retry-After": {Description: "How many seconds to wait before trying again.",
				Schema: jsInt("").min(1).ex(1)}}
		}
		op.Responses[strconv.Itoa(st)] = resp
	}
	return op
}

// openAPIDocument builds the document from the route table and opSpecs.
func openAPIDocument(routes []Route) *oaDocument {
	doc := &oaDocument{
		OpenAPI:           OpenAPIVersion,
		JSONSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
		Info: oaInfo{Title: "berth", Version: "v1",
			Description: "berth places members (accounts on servers, users on teams) into pools with limited room.\n\n" +
				"Authentication: " + authDescription + "\n\n" + errorDescription + "\n\nA readable rendering is at /docs."},
		Servers: []oaServer{{URL: "/", Description: "This server."}},
		Tags:    openAPITags,
		Paths:   map[string]map[string]*oaOperation{},
		Components: oaComponents{
			Schemas: openAPISchemas(),
			SecuritySchemes: map[string]oaSecurityScheme{
				"bearerAuth": {Type: "http", Scheme: "bearer", Description: "A personal API token (berth_pat_…) or the admin token."},
				"cookieAuth": {Type: "apiKey", In: "cookie", Name: auth.SessionCookie,
					Description: "The session cookie set by POST /api/v1/session or the console's sign-in page."},
			},
		},
	}
	for _, rt := range routes {
		item := doc.Paths[rt.Path]
		if item == nil {
			item = map[string]*oaOperation{}
			doc.Paths[rt.Path] = item
		}
		item[strings.ToLower(rt.Method)] = buildOperation(rt, opSpecs[routeKey(rt.Method, rt.Path)])
	}
	return doc
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	doc := openAPIDocument(s.Routes())
	if p := basepath.From(r.Context()); p != "" {
		// Served under a path prefix (BERTH_BASE_URL): the paths below
		// are relative to it.
		doc.Servers = []oaServer{{URL: p, Description: "This server."}}
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}
