package upload

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/httpx/decode"
)

func TestCheckFileName(t *testing.T) {
	for name, want := range map[string]string{
		"639277333688.session": "", "a.b.session": "", "../../etc/passwd": "path traversal", `a\b`: "path traversal",
		".hidden": "starts with a dot", "": "empty", "a\x01b": "control character", "\xff.session": "UTF-8",
		strings.Repeat("a", 256): "limit is 255", "-a.session": "account id",
	} {
		id, err := CheckFileName(name)
		switch {
		case want == "" && (err != nil || !strings.HasPrefix(name, id) || id == ""):
			t.Errorf("CheckFileName(%q) = %q, %v", name, id, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("CheckFileName(%q) = %q, %v; want an error with %q", name, id, err, want)
		}
	}
}

// batch is a multipart body: the fields, then one part named files per name.
func batch(fields map[string]string, names ...string) *http.Request {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, n := range names {
		w, _ := mw.CreateFormFile("files", n)
		w.Write([]byte("data of " + n))
	}
	mw.Close()
	r := httptest.NewRequest("POST", "/api/v1/accounts/batch", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

func TestDecode(t *testing.T) {
	lim := Limits{MaxFileBytes: 64, MaxFiles: 3, MaxTotalBytes: 4096}
	b, err := Decode(httptest.NewRecorder(), batch(map[string]string{"script": " A ", "ids": "x1, x2,x3"}, "a.session", "b.session", "a.session"), lim)
	if err != nil || b.Script != "A" || len(b.Files) != 3 {
		t.Fatalf("Decode: %+v, %v", b, err)
	}
	if b.Files[0].ID != "x1" || b.Files[0].Err != nil || string(b.Files[0].Data) != "data of a.session" || b.Files[2].ID != "x3" || b.Files[2].Err != nil {
		t.Errorf("ids not applied in order: %+v", b.Files)
	}
	b, err = Decode(httptest.NewRecorder(), batch(map[string]string{"script": "A"}, "a.session", "a.session"), lim)
	if err != nil || b.Files[1].Err == nil || !strings.Contains(b.Files[1].Err.Error(), "duplicate") || b.Files[1].Data != nil {
		t.Errorf("duplicate kept: %+v, %v", b.Files, err)
	}

	for _, c := range []struct {
		name   string
		r      *http.Request
		status int
	}{
		{"no script", batch(nil, "a.session"), http.StatusUnprocessableEntity},
		{"no files", batch(map[string]string{"script": "A"}), http.StatusUnprocessableEntity},
		{"ids count", batch(map[string]string{"script": "A", "ids": "x1"}, "a.session", "b.session"), http.StatusUnprocessableEntity},
		{"too many files", batch(map[string]string{"script": "A"}, "a", "b", "c", "d"), http.StatusRequestEntityTooLarge},
		{"too large", batch(map[string]string{"script": strings.Repeat("A", 5000)}, "a"), http.StatusRequestEntityTooLarge},
		{"not multipart", httptest.NewRequest("POST", "/", strings.NewReader("{}")), http.StatusBadRequest},
	} {
		_, err := Decode(httptest.NewRecorder(), c.r, lim)
		var de *decode.Error
		if !errors.As(err, &de) || de.Status != c.status {
			t.Errorf("%s: %v, want status %d", c.name, err, c.status)
		}
	}
}
