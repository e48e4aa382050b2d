package model

import "time"

// PlacementSetting is the strategy stored for the pools of one kind and
// group (docs/design.md, "Placement"): members whose group is Group (""
// for the kind's default) are placed with Strategy ("pack" or "spread")
// at import, in the queue drain and in moves, unless a batch request
// names its own.
type PlacementSetting struct {
	Kind      Kind      `json:"kind"`
	Group     string    `json:"group"`
	Strategy  string    `json:"strategy"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Labels are key=value placement constraints (a code's, beyond its group).
type Labels = map[string]string
