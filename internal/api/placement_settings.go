package api

import (
	"net/http"

	"github.com/berthhq/berth/internal/model"
	"github.com/berthhq/berth/internal/placement"
)

// PlacementSettings answers GET /api/v1/placement/settings: the stored
// strategies (docs/design.md, "Placement"), by kind then group.
type PlacementSettings struct {
	// Default is the strategy of a kind without a setting.
	Default  placement.Strategy       `json:"default"`
	Settings []model.PlacementSetting `json:"settings"`
}

// PlacementSettingInput is the body of PUT /api/v1/placement/settings.
type PlacementSettingInput struct {
	Kind     model.Kind `json:"kind"`
	Group    string     `json:"group"`
	Strategy string     `json:"strategy"`
}

func (s *Server) placementSettingsGet(w http.ResponseWriter, r *http.Request) error {
	list, err := s.rd.PlacementSettings(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []model.PlacementSetting{}
	}
	writeJSON(w, http.StatusOK, PlacementSettings{Default: placement.StrategyPack, Settings: list})
	return nil
}

// placementSettingsPut stores (or, with an empty strategy, removes) the
// strategy of one kind and group, and answers every setting.
func (s *Server) placementSettingsPut(w http.ResponseWriter, r *http.Request) error {
	var in PlacementSettingInput
	if err := decodeJSON(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	before, err := s.svc.SetPlacementSetting(r.Context(), model.PlacementSetting{Kind: in.Kind, Group: in.Group, Strategy: in.Strategy}, actor(r))
	if err != nil {
		return err
	}
	noteAudit(r, map[string]any{"kind": in.Kind, "group": in.Group, "strategy": in.Strategy, "before": before.Strategy})
	return s.placementSettingsGet(w, r)
}

// weightDoc and codeGroupDoc say what a pool's weight and a code's group
// mean to placement (docs/design.md, "Placement rules"), in the OpenAPI
// document.
const (
	weightDoc = "The pool's share of new members, 1 to 100: spread fills a pool of weight 2 until its load is twice its " +
		"peers'; pack starts a new script where free room times weight is largest (a script then stays together)."
	codeGroupDoc = "Redeemers are placed only on teams labelled group=<group>. Empty: only on teams without a group label, " +
		"or with open=true."
)
