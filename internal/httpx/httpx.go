// Package httpx is what berth's two HTTP front ends (the JSON API in api,
// the console in web) share: how a service error becomes an HTTP status.
// The service (alloc) names what an error means (alloc.Kind); this package
// alone says which status that is, so both front ends answer a refusal
// alike and the service knows nothing of HTTP.
package httpx

import (
	"net/http"

	"github.com/berthhq/berth/internal/alloc"
)

// Status is the HTTP status of a service error of kind k.
func Status(k alloc.Kind) int {
	switch k {
	case alloc.KindInvalid:
		return http.StatusUnprocessableEntity
	case alloc.KindNotFound:
		return http.StatusNotFound
	case alloc.KindConflict, alloc.KindLimit:
		return http.StatusConflict
	case alloc.KindRate:
		return http.StatusTooManyRequests
	case alloc.KindForbidden:
		return http.StatusForbidden
	case alloc.KindGone:
		return http.StatusGone
	}
	return http.StatusInternalServerError
}

// ErrorStatus classifies err and returns its kind and status.
func ErrorStatus(err error) (alloc.Kind, int) {
	k := alloc.KindOf(err)
	return k, Status(k)
}
