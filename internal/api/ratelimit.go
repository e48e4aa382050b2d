package api

import (
	"net/http"

	"github.com/berthhq/berth/internal/auth"
	"github.com/berthhq/berth/internal/clientip"
)

// clientIP is the key the per-address limit of the public routes counts:
// the client address (behind a trusted proxy, the one the clientip
// middleware found; see internal/clientip), an IPv6 client by its /64.
func clientIP(r *http.Request) string {
	return clientip.Key(auth.RemoteIP(r))
}
