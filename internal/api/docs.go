package api

// The docs page at /docs: the OpenAPI document (openapi.go) rendered as
// plain HTML with html/template. No JavaScript, no external assets.

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

//go:embed assets/docs.html
var docsHTML string

var docsTemplate = template.Must(template.New("docs").Funcs(template.FuncMap{
	"text":  docsText,
	"lower": strings.ToLower,
}).Parse(docsHTML))

var backticks = regexp.MustCompile("`([^`]+)`")

// docsText escapes s and shows `code` spans as <code>.
func docsText(s string) template.HTML {
	return template.HTML(backticks.ReplaceAllString(template.HTMLEscapeString(s), "<code>$1</code>"))
}

type docsPage struct {
	Title, Version string
	Auth, Errors   string
	Problem        []docsField
	ProblemExample string
	Groups         []docsGroup
	Schemas        []docsSchema
}

type docsGroup struct {
	Name, Description string
	Ops               []docsOp
}

type docsOp struct {
	Anchor, Method, Path, Summary, Description string
	Auth                                       bool
	Role                                       string
	Params                                     []docsParam
	Body                                       *docsBody
	Responses                                  []docsResponse
}

type docsParam struct {
	Name, In    string
	Required    bool
	Type        []typePart
	Description string
}

type docsBody struct {
	ContentType string
	Type        []typePart
	Fields      []docsField
	Example     string
}

type docsResponse struct {
	Status      string
	Error       bool
	Description string
	ContentType string
	Type        []typePart
	Fields      []docsField
}

type docsField struct {
	Name        string
	Required    bool
	Type        []typePart
	Description string
}

type docsSchema struct {
	Name, Description string
	Type              []typePart
	Fields            []docsField
}

// typePart is a piece of a rendered type; Link, when set, points at a schema.
type typePart struct{ Text, Link string }

func schemaAnchor(name string) string { return "schema-" + name }

func refName(ref string) string { return strings.TrimPrefix(ref, "#/components/schemas/") }

// typeParts renders a schema's type: a link for a reference, "array of X",
// "map of X", or the JSON type with its format.
func typeParts(s *jsonSchema) []typePart {
	switch {
	case s == nil:
		return []typePart{{Text: "any"}}
	case s.Ref != "":
		n := refName(s.Ref)
		return []typePart{{Text: n, Link: "#" + schemaAnchor(n)}}
	case len(s.OneOf) > 0:
		var out []typePart
		for i, o := range s.OneOf {
			if i > 0 {
				out = append(out, typePart{Text: " | "})
			}
			out = append(out, typeParts(o)...)
		}
		return out
	case s.Type == "array":
		return append([]typePart{{Text: "array of "}}, typeParts(s.Items)...)
	case s.Type == "object" && len(s.Properties) == 0:
		if v, ok := s.AdditionalProperties.(*jsonSchema); ok {
			return append([]typePart{{Text: "map of "}}, typeParts(v)...)
		}
		return []typePart{{Text: "object"}}
	case s.Format != "":
		return []typePart{{Text: s.Type + " (" + s.Format + ")"}}
	case s.Type == "":
		return []typePart{{Text: "any JSON"}}
	}
	return []typePart{{Text: s.Type}}
}

// describe is a schema's description with its enum, default and bounds.
func describe(s *jsonSchema) string {
	var parts []string
	if s.Description != "" {
		parts = append(parts, s.Description)
	}
	if len(s.Enum) > 0 {
		vals := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			vals[i] = "`" + jsonText(v) + "`"
		}
		parts = append(parts, "One of "+strings.Join(vals, ", ")+".")
	}
	var bounds []string
	if s.Minimum != nil {
		bounds = append(bounds, "min "+strconv.FormatFloat(*s.Minimum, 'f', -1, 64))
	}
	if s.Maximum != nil {
		bounds = append(bounds, "max "+strconv.FormatFloat(*s.Maximum, 'f', -1, 64))
	}
	if s.MaxLength != nil {
		bounds = append(bounds, "at most "+strconv.Itoa(*s.MaxLength)+" long")
	}
	if s.MinItems != nil {
		bounds = append(bounds, "at least "+items(*s.MinItems))
	}
	if s.MaxItems != nil {
		bounds = append(bounds, "at most "+items(*s.MaxItems))
	}
	if len(bounds) > 0 {
		parts = append(parts, upperFirst(strings.Join(bounds, ", "))+".")
	}
	if s.Pattern != "" {
		parts = append(parts, "Pattern `"+s.Pattern+"`.")
	}
	if s.Default != nil {
		parts = append(parts, "Default `"+jsonText(s.Default)+"`.")
	}
	if s.WriteOnly {
		parts = append(parts, "Write-only.")
	}
	if len(s.Examples) > 0 {
		parts = append(parts, "Example `"+jsonText(s.Examples[0])+"`.")
	}
	return strings.Join(parts, " ")
}

func items(n int) string {
	if n == 1 {
		return "1 item"
	}
	return strconv.Itoa(n) + " items"
}

func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// fieldsOf lists an object's properties, inline objects flattened with
// dotted names (items[] for arrays of objects).
func fieldsOf(s *jsonSchema, prefix string) []docsField {
	var out []docsField
	for _, p := range s.Properties {
		name := prefix + p.Name
		out = append(out, docsField{Name: name, Required: p.Required, Type: typeParts(p.Schema), Description: describe(p.Schema)})
		switch {
		case len(p.Schema.Properties) > 0:
			out = append(out, fieldsOf(p.Schema, name+".")...)
		case p.Schema.Type == "array" && p.Schema.Items != nil && len(p.Schema.Items.Properties) > 0:
			out = append(out, fieldsOf(p.Schema.Items, name+"[].")...)
		}
	}
	return out
}

// resolvedFields lists the fields of a schema, following one reference.
func resolvedFields(s *jsonSchema, schemas map[string]*jsonSchema) []docsField {
	if s == nil {
		return nil
	}
	if s.Ref != "" {
		s = schemas[refName(s.Ref)]
		if s == nil {
			return nil
		}
	}
	return fieldsOf(s, "")
}

func docsPageData(routes []Route) docsPage {
	doc := openAPIDocument(routes)
	schemas := doc.Components.Schemas
	ex, _ := json.MarshalIndent(Problem{Type: "about:blank", Title: "Unprocessable Entity", Status: 422,
		Detail: "capacity must be between 0 and 1000000, got -1", Instance: "/api/v1/pools"}, "", "  ")
	page := docsPage{
		Title: doc.Info.Title, Version: doc.Info.Version,
		Auth: authDescription, Errors: errorDescription,
		Problem: fieldsOf(schemas["Problem"], ""), ProblemExample: string(ex),
	}

	byTag := map[string][]docsOp{}
	for _, rt := range routes {
		op := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		d := docsOp{
			Anchor: "op-" + op.OperationID, Method: rt.Method, Path: rt.Path,
			Summary: op.Summary, Description: op.Description, Auth: !rt.Public, Role: string(rt.Role),
		}
		for _, p := range op.Parameters {
			d.Params = append(d.Params, docsParam{Name: p.Name, In: p.In, Required: p.Required,
				Type: typeParts(p.Schema), Description: strings.TrimSpace(p.Description + " " + describe(p.Schema))})
		}
		if op.RequestBody != nil {
			for _, ct := range slices.Sorted(maps.Keys(op.RequestBody.Content)) {
				mt := op.RequestBody.Content[ct]
				b := &docsBody{ContentType: ct, Type: typeParts(mt.Schema), Fields: resolvedFields(mt.Schema, schemas)}
				if mt.Example != nil {
					e, _ := json.MarshalIndent(mt.Example, "", "  ")
					b.Example = string(e)
				}
				d.Body = b
			}
		}
		codes := make([]string, 0, len(op.Responses))
		for c := range op.Responses {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, c := range codes {
			resp := op.Responses[c]
			r := docsResponse{Status: c, Error: c >= "400", Description: resp.Description}
			// Several content types (JSON or CSV): list them all, describe
			// the first in sorted order (JSON), so the page is stable.
			cts := slices.Sorted(maps.Keys(resp.Content))
			if len(cts) > 0 {
				mt := resp.Content[cts[0]]
				r.ContentType, r.Type = strings.Join(cts, ", "), typeParts(mt.Schema)
				if !r.Error {
					r.Fields = resolvedFields(mt.Schema, schemas)
				}
			}
			d.Responses = append(d.Responses, r)
		}
		byTag[op.Tags[0]] = append(byTag[op.Tags[0]], d)
	}
	tags := append([]oaTag(nil), doc.Tags...)
	for t := range byTag {
		known := false
		for _, k := range tags {
			known = known || k.Name == t
		}
		if !known {
			tags = append(tags, oaTag{Name: t})
		}
	}
	for _, t := range tags {
		if ops := byTag[t.Name]; len(ops) > 0 {
			page.Groups = append(page.Groups, docsGroup{Name: t.Name, Description: t.Description, Ops: ops})
		}
	}

	names := make([]string, 0, len(schemas))
	for n := range schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := schemas[n]
		page.Schemas = append(page.Schemas, docsSchema{Name: n, Description: describe(s), Type: typeParts(s), Fields: fieldsOf(s, "")})
	}
	return page
}

func (s *Server) docs(w http.ResponseWriter, r *http.Request) error {
	var b strings.Builder
	if err := docsTemplate.Execute(&b, docsPageData(s.Routes())); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write([]byte(b.String()))
	if err != nil {
		s.log.Debug("writing docs page", "err", err)
	}
	return nil
}
