package app

import (
	"strings"

	"github.com/berthhq/berth/internal/api"
	"github.com/berthhq/berth/internal/basepath"
	"github.com/berthhq/berth/internal/web"
)

// BasePath is the path prefix berth serves under: the path of baseURL
// (BERTH_BASE_URL) without its trailing slash, "" at the root. A prefix
// that starts with one of berth's own first path segments (/admin, /api,
// /status, …) is refused: berth also serves paths without the prefix (for
// a proxy that strips it), so such a prefix would be ambiguous.
func BasePath(baseURL string) (string, error) {
	var reserved []string
	add := func(p string) {
		seg, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		if seg = strings.TrimSuffix(seg, "{$}"); seg != "" {
			reserved = append(reserved, seg)
		}
	}
	for _, p := range web.Prefixes {
		add(p)
	}
	for _, rt := range (&api.Server{}).Routes() {
		add(rt.Path)
	}
	return basepath.FromURL(baseURL, reserved)
}
