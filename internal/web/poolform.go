package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/alloc"
	"github.com/berthhq/berth/internal/alloc/pooladmin"
	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/provider/providers"
)

// The pool form creates a pool or edits one (admin only, like the API's
// pool routes). Its provider part is generated from the provider type
// table (providers.All): one group of inputs per type, the selected type's
// group is what is sent. Secrets are password inputs that never carry the
// stored value: a stored secret shows "(set)" and an empty input keeps it.

// providerField is one provider setting as the form shows it.
type providerField struct {
	providers.Field
	// Input is the form input's name; Value the current value (never a
	// secret's); Set whether a secret is stored.
	Input, Value string
	Set          bool
}

// providerGroup is one provider type's inputs.
type providerGroup struct {
	Type   string
	Fields []providerField
}

type poolFormData struct {
	Kind string
	// Pool is the pool edited; nil on the new-pool form.
	Pool                     *model.Pool
	Name, Capacity, Priority string
	Labels, Type, Weight     string
	Groups                   []providerGroup
	Action, Back             string
}

// fieldInput is the form input of a provider type's field.
func fieldInput(typ, field string) string { return "p." + typ + "." + field }

// newPoolForm fills the form from a pool's stored settings (p nil: empty).
func (w *Web) newPoolForm(r *http.Request, kind string, p *model.Pool) (*poolFormData, error) {
	d := &poolFormData{Kind: kind, Pool: p, Back: "/admin/" + kind + "s", Action: "/admin/" + kind + "s/new", Type: "sim", Weight: "1"}
	current := map[string]any{}
	if p != nil {
		typ, cfg, err := w.rd.PoolProvider(r.Context(), p.ID)
		if err != nil {
			return nil, err
		}
		current = providers.Public(typ, cfg)
		d.Action = "/admin/" + kind + "s/" + strconv.FormatInt(p.ID, 10) + "/edit"
		d.Name, d.Type = p.Name, typ
		d.Capacity, d.Priority, d.Weight = strconv.Itoa(p.Capacity), strconv.Itoa(p.Priority), strconv.Itoa(max(p.Weight, 1))
		d.Labels = strings.Join(labelPairs(p.Labels), "\n")
	}
	for _, t := range providers.All() {
		g := providerGroup{Type: t.Name}
		for _, f := range t.Fields {
			pf := providerField{Field: f, Input: fieldInput(t.Name, f.Name)}
			if v, ok := current[f.Name]; ok && t.Name == d.Type {
				if f.Secret {
					pf.Set = true
				} else {
					pf.Value = formValue(v)
				}
			}
			g.Fields = append(g.Fields, pf)
		}
		d.Groups = append(d.Groups, g)
	}
	return d, nil
}

// formValue writes a stored setting the way an input shows it.
func formValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "on"
		}
		return ""
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// overlay puts what the operator typed back into the form shown again
// after a refusal (secrets excepted).
func (d *poolFormData) overlay(r *http.Request) {
	f := r.PostForm
	if d.Pool == nil {
		d.Name = strings.TrimSpace(f.Get("name"))
	}
	d.Capacity, d.Priority, d.Weight = f.Get("capacity"), f.Get("priority"), f.Get("weight")
	d.Labels, d.Type = f.Get("labels"), f.Get("provider_type")
	for gi := range d.Groups {
		for fi := range d.Groups[gi].Fields {
			pf := &d.Groups[gi].Fields[fi]
			if !pf.Secret {
				pf.Value = f.Get(pf.Input)
			}
		}
	}
}

// parseLabels reads "key=value" lines.
func parseLabels(s string) (map[string]string, error) {
	out, bad, ok := labelItems(strings.Split(s, "\n"))
	if !ok {
		return nil, alloc.Invalidf("label %q: write key=value, one a line", bad)
	}
	return out, nil
}

// labelItems reads "key=value" items as a form gives them (pool form,
// what-if), skipping blank ones; bad is the first item that is not one
// (ok false). alloc's checks of keys and values come later.
func labelItems(items []string) (labels map[string]string, bad string, ok bool) {
	labels = map[string]string{}
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		k, v, found := strings.Cut(it, "=")
		if !found || strings.TrimSpace(k) == "" {
			return nil, it, false
		}
		labels[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return labels, "", true
}

// optInt reads an optional whole number.
func optInt(name, s string) (*int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, alloc.Invalidf("%s %q: not a whole number", name, s)
	}
	return &n, nil
}

// providerJSON builds the API's provider object from the form. keep holds
// the stored settings of the same type: a secret left empty keeps its
// stored value.
func providerJSON(r *http.Request, keep map[string]any) (json.RawMessage, error) {
	typ := r.PostForm.Get("provider_type")
	t, ok := providers.Lookup(typ)
	if !ok {
		return nil, alloc.Invalidf("provider type %q is not known: use one of %v", typ, providers.Types())
	}
	m := map[string]any{"type": t.Name}
	for _, f := range t.Fields {
		raw := r.PostForm.Get(fieldInput(t.Name, f.Name))
		if f.Kind != "string" || !f.Secret {
			raw = strings.TrimSpace(raw)
		}
		switch {
		case f.Kind == "boolean":
			if raw != "" {
				m[f.Name] = true
			}
		case raw == "":
			if v, ok := keep[f.Name]; ok && f.Secret {
				m[f.Name] = v
			}
		case f.Kind == "integer":
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				return nil, alloc.Invalidf("%s %q: not a whole number", f.Name, raw)
			}
			m[f.Name] = n
		case f.Kind == "number":
			n, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				return nil, alloc.Invalidf("%s %q: not a number", f.Name, raw)
			}
			m[f.Name] = n
		case f.Kind == "array":
			var v []any
			if err := json.Unmarshal([]byte(raw), &v); err != nil {
				return nil, alloc.Invalidf(`%s %q: not a JSON list, e.g. ["/usr/local/bin/reload-worker", "{account}"]`, f.Name, raw)
			}
			m[f.Name] = v
		default:
			m[f.Name] = raw
		}
	}
	b, err := json.Marshal(m)
	return b, err
}

// read reads the form's pool settings (after overlay); keep as for
// providerJSON.
func (d *poolFormData) read(r *http.Request, keep map[string]any) (in pooladmin.Patch, err error) {
	if in.Capacity, err = optInt("capacity", d.Capacity); err != nil {
		return in, err
	}
	if in.Priority, err = optInt("priority", d.Priority); err != nil {
		return in, err
	}
	if in.Weight, err = optInt("weight", d.Weight); err != nil {
		return in, err
	}
	if in.Labels, err = parseLabels(d.Labels); err != nil {
		return in, err
	}
	in.Provider, err = providerJSON(r, keep)
	return in, err
}

func (w *Web) renderPoolForm(rw http.ResponseWriter, r *http.Request, d *poolFormData, fl ...flash) {
	title := "poolform.new." + d.Kind
	if d.Pool != nil {
		title = "poolform.edit." + d.Kind
	}
	w.render(rw, r, http.StatusOK, "poolform", title, d, fl...)
}

// poolNew shows the new-pool form.
func (w *Web) poolNew(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) { w.showPoolForm(rw, r, kind, nil) }
}

// showPoolForm shows the form for p (nil: a new pool).
func (w *Web) showPoolForm(rw http.ResponseWriter, r *http.Request, kind string, p *model.Pool) {
	d, err := w.newPoolForm(r, kind, p)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	w.renderPoolForm(rw, r, d)
}

// poolCreate creates a pool through pooladmin.Create.
func (w *Web) poolCreate(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if !w.parseForm(rw, r) {
			return
		}
		d, err := w.newPoolForm(r, kind, nil)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		d.overlay(r)
		var f pooladmin.Patch
		f, err = d.read(r, nil)
		in := pooladmin.Input{Name: d.Name, Kind: model.Kind(kind), Capacity: f.Capacity, Priority: f.Priority, Weight: f.Weight, Labels: f.Labels, Provider: f.Provider}
		var p model.Pool
		if err == nil {
			httpx.NoteOf(r).Target = "pool=" + d.Name
			p, err = w.poolAdmin.Create(r.Context(), in, actor(r))
		}
		if err != nil {
			w.showRefusal(rw, r, err, func(f flash) { w.renderPoolForm(rw, r, d, f) })
			return
		}
		l := w.lang(r)
		w.done(rw, r, d.Back, nil, &result{Flash: []flash{{"ok", l.T("poolform.created", p.Name)}}})
	}
}

// poolFor reads the pool of the path's id, of kind.
func (w *Web) poolFor(rw http.ResponseWriter, r *http.Request, kind string) (*model.Pool, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		w.notFound(rw, r)
		return nil, false
	}
	p, err := w.rd.PoolGet(r.Context(), id)
	if err != nil || string(p.Kind) != kind {
		w.notFound(rw, r)
		return nil, false
	}
	return &p, true
}

// poolEdit shows a pool's edit form.
func (w *Web) poolEdit(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if p, ok := w.poolFor(rw, r, kind); ok {
			w.showPoolForm(rw, r, kind, p)
		}
	}
}

// poolUpdate changes a pool through pooladmin.Update.
func (w *Web) poolUpdate(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if !w.parseForm(rw, r) {
			return
		}
		p, ok := w.poolFor(rw, r, kind)
		if !ok {
			return
		}
		d, err := w.newPoolForm(r, kind, p)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		typ, cfg, err := w.rd.PoolProvider(r.Context(), p.ID)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		keep := map[string]any{}
		if typ == r.PostForm.Get("provider_type") {
			_ = json.Unmarshal(cfg, &keep)
		}
		d.overlay(r)
		in, err := d.read(r, keep)
		if err == nil {
			n := httpx.NoteOf(r)
			n.Target = "pool=" + strconv.FormatInt(p.ID, 10)
			n.Before = w.poolSnapshots(r, []int64{p.ID})
			_, err = w.poolAdmin.Update(r.Context(), p.ID, in, actor(r))
			n.After = w.poolSnapshots(r, []int64{p.ID})
		}
		if err != nil {
			w.showRefusal(rw, r, err, func(f flash) { w.renderPoolForm(rw, r, d, f) })
			return
		}
		l := w.lang(r)
		w.done(rw, r, d.Back, nil, &result{Flash: []flash{{"ok", l.T("poolform.updated", p.Name)}}})
	}
}
