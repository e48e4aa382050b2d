package api

import (
	"context"
	"net/http"
)

// PublicRequest is the body of the public redeem and rebind routes.
type PublicRequest struct {
	Email string `json:"email"`
	Code  string `json:"code"`
}

func (s *Server) publicRedeem(w http.ResponseWriter, r *http.Request) error {
	return publicAct(w, r, s.svc.Redeem)
}

func (s *Server) publicRebind(w http.ResponseWriter, r *http.Request) error {
	return publicAct(w, r, s.svc.Rebind)
}

// publicAct decodes the email and code of a public redeem or rebind, acts
// on them as the public actor, and answers the result.
func publicAct[T any](w http.ResponseWriter, r *http.Request, act func(ctx context.Context, email, code, actor string) (T, error)) error {
	var in PublicRequest
	if err := decodeJSON(w, r, 4096, &in); err != nil {
		return err
	}
	res, err := act(r.Context(), in.Email, in.Code, "public")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) publicStatus(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	res, err := s.svc.Status(r.Context(), q.Get("email"), q.Get("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
