package web

import (
	"net/http"
	"strings"

	"github.com/berthhq/berth/internal/httpx"
)

// describeAudit completes a console audit row (httpx.Audit): the posted
// form (formRecord) when the handler noted no request of its own. A refused
// attempt's form is read first: its handler never ran.
func describeAudit(r *http.Request, _ httpx.Route, n *httpx.Note, refused bool) {
	if refused {
		r.ParseForm()
	}
	if n.Request == nil {
		n.Request = formRecord(r)
	}
}

// formRecord is the posted form as the audit log keeps it: no passwords,
// and redeem codes shortened to their hint.
func formRecord(r *http.Request) map[string]any {
	out := map[string]any{}
	for k, vs := range r.PostForm {
		if strings.Contains(k, "password") {
			continue
		}
		if k == "code" {
			vs = hints(vs)
		}
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = vs
		}
	}
	return out
}

func hints(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		if len(v) > 4 {
			v = "…" + v[len(v)-4:]
		}
		out[i] = v
	}
	return out
}
