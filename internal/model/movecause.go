package model

import "strings"

// MoveCause is why a finished move happened, as the user is told it (the
// move e-mail of package notify, the public status page).
type MoveCause string

// The causes of a move, read from the reason it was started with.
const (
	CausePaid      MoveCause = "paid"      // the user asked; counted against the code's moves
	CauseFree      MoveCause = "free"      // the user asked off an unhealthy team; free
	CauseOperator  MoveCause = "operator"  // an operator moved the seat
	CauseDrain     MoveCause = "drain"     // the old team is being emptied
	CauseMigration MoveCause = "migration" // an operator's migration off the old team
	CauseRebalance MoveCause = "rebalance" // the rebalancer evened out the teams
	CausePlan      MoveCause = "plan"      // an operator's plan
	CauseOther     MoveCause = "other"
)

// MoveCauses lists every cause.
func MoveCauses() []MoveCause {
	return []MoveCause{CausePaid, CauseFree, CauseOperator, CauseDrain, CauseMigration, CauseRebalance, CausePlan, CauseOther}
}

// MoveCauseOf reads the cause from a move's starting reason (the moves
// table's why, written by package alloc: "paid: rebind 1 of 3", "free: t1 is
// offline", "moved by admin", "drain of t1", "migration by admin",
// "rebalance (plan 4 by admin): ...", "plan 7 (move) by admin").
func MoveCauseOf(why string) MoveCause {
	switch {
	case strings.HasPrefix(why, "paid:"):
		return CausePaid
	case strings.HasPrefix(why, "free:"):
		return CauseFree
	case strings.HasPrefix(why, "moved by "):
		return CauseOperator
	case strings.HasPrefix(why, "drain of "):
		return CauseDrain
	case strings.HasPrefix(why, "migration by "):
		return CauseMigration
	case strings.HasPrefix(why, "rebalance"):
		return CauseRebalance
	case strings.HasPrefix(why, "plan "):
		return CausePlan
	}
	return CauseOther
}
