package api

import (
	"net/http"
	"strconv"
	"time"
)

// PublicRequest is the body of the public redeem and rebind routes.
type PublicRequest struct {
	Email string `json:"email"`
	Code  string `json:"code"`
}

// limitPublic applies the per-address limit of the public routes.
func (s *Server) limitPublic(w http.ResponseWriter, r *http.Request) error {
	if ok, wait := s.public.Allow(clientIP(r), time.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return errStatus(http.StatusTooManyRequests, "too many requests from your address; wait a little and try again")
	}
	return nil
}

func (s *Server) publicRedeem(w http.ResponseWriter, r *http.Request) error {
	if err := s.limitPublic(w, r); err != nil {
		return err
	}
	var in PublicRequest
	if err := decodeJSON(w, r, 4096, &in); err != nil {
		return err
	}
	res, err := s.svc.Redeem(r.Context(), in.Email, in.Code, "public")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) publicStatus(w http.ResponseWriter, r *http.Request) error {
	if err := s.limitPublic(w, r); err != nil {
		return err
	}
	q := r.URL.Query()
	res, err := s.svc.Status(r.Context(), q.Get("email"), q.Get("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) publicRebind(w http.ResponseWriter, r *http.Request) error {
	if err := s.limitPublic(w, r); err != nil {
		return err
	}
	var in PublicRequest
	if err := decodeJSON(w, r, 4096, &in); err != nil {
		return err
	}
	res, err := s.svc.Rebind(r.Context(), in.Email, in.Code, "public")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
