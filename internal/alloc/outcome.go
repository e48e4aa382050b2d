package alloc

import (
	"errors"

	"github.com/berthhq/berth/internal/metrics"
	"github.com/berthhq/berth/internal/model"
)

// The outcomes of redeems and move requests, named for the metrics
// (package metrics cannot import alloc, which it times). They are counted
// in Redeem and Rebind, so the API, the console's public pages and the
// Telegram bot are counted alike.

// rebindStatus is the status label of rebind_requests_total for a move
// request that ended with err.
func rebindStatus(err error) string {
	var re *RateError
	var le *LimitError
	switch {
	case err == nil:
		return metrics.RebindSuccess
	case errors.As(err, &re):
		return metrics.RebindRateLimited
	case errors.As(err, &le):
		return metrics.RebindLimit
	case Refused(err):
		return metrics.RebindRejected
	}
	return metrics.RebindFailed
}

// redeemOutcome is the outcome label of berth_redeem_requests_total.
func redeemOutcome(res SeatStatus, err error) string {
	switch {
	case err == nil && res.State == model.TeamSeatQueued:
		return metrics.RedeemQueued
	case err == nil:
		return metrics.RedeemSeated
	case errors.Is(err, ErrCodeNotValid):
		return metrics.RedeemNotValid
	case errors.Is(err, ErrCodeDisabled):
		return metrics.RedeemDisabled
	case errors.Is(err, ErrCodeExpired):
		return metrics.RedeemExpired
	case errors.Is(err, ErrCodeUsedUp):
		return metrics.RedeemUsedUp
	case errors.Is(err, ErrInvalid):
		return metrics.RedeemInvalid
	}
	return metrics.RedeemError
}
