package web

import (
	"net/http"
	"strings"

	"github.com/berthhq/berth/internal/httpx"
	"github.com/berthhq/berth/internal/model"
)

// placementView is the stored strategy of one kind as the pools page shows
// it: the kind's default and each group's own (docs/design.md, "Placement").
type placementView struct {
	Default string                   // the kind's setting, "" when none (pack)
	Groups  []model.PlacementSetting // the groups' settings
}

// placementOf reads the stored strategies of kind.
func (w *Web) placementOf(r *http.Request, kind string) (placementView, error) {
	var v placementView
	list, err := w.rd.PlacementSettings(r.Context())
	if err != nil {
		return v, err
	}
	for _, s := range list {
		switch {
		case string(s.Kind) != kind:
		case s.Group == "":
			v.Default = s.Strategy
		default:
			v.Groups = append(v.Groups, s)
		}
	}
	return v, nil
}

// placementSet stores (or, with an empty strategy, removes) the strategy
// of a kind or one of its groups (alloc.Service.SetPlacementSetting).
func (w *Web) placementSet(kind string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if !w.parseForm(rw, r) {
			return
		}
		l := w.lang(r)
		set := model.PlacementSetting{Kind: model.Kind(kind), Group: strings.TrimSpace(r.PostForm.Get("group")),
			Strategy: r.PostForm.Get("strategy")}
		n := httpx.NoteOf(r)
		n.Target = "placement=" + kind + "/" + set.Group
		before, err := w.svc.SetPlacementSetting(r.Context(), set, actor(r))
		n.Before, n.After = before.Strategy, set.Strategy
		if err != nil {
			w.showRefusal(rw, r, err, func(f flash) { w.renderPools(rw, r, kind, nil, f) })
			return
		}
		strategy := l.T("placement.default")
		if set.Strategy != "" {
			strategy = l.T("placement." + set.Strategy)
		}
		who := l.T("kind." + kind + ".plural")
		if set.Group != "" {
			who = l.T("placement.group_of", set.Group)
		}
		w.done(rw, r, "/admin/"+kind+"s", nil, &result{Flash: []flash{{"ok", l.T("placement.saved", who, strategy)}}})
	}
}
