package decode

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzDecodeJSON: public JSON bodies never panic the decoder and errors are 4xx.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"email":"a@example.com","code":"ABCD-EFGH-JKMN-PQRS"}`))
	f.Add([]byte(`{"email":1}`))
	f.Add([]byte(`{} {}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/public/redeem", bytes.NewReader(body))
		// The body of the public redeem (api.PublicRequest).
		var in struct {
			Email string `json:"email"`
			Code  string `json:"code"`
		}
		err := JSON(httptest.NewRecorder(), r, 4096, &in)
		if err == nil {
			return
		}
		var de *Error
		if !errors.As(err, &de) || (de.Status != http.StatusBadRequest && de.Status != http.StatusRequestEntityTooLarge) {
			t.Fatalf("decode error %v", err)
		}
	})
}
