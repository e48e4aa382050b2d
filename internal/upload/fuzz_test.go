package upload

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/httpx/decode"
)

// FuzzCheckFileName: whatever a client sends as a file name, an accepted
// name is a plain base name, and the account id is a prefix of it.
func FuzzCheckFileName(f *testing.F) {
	for _, s := range []string{"639277333688.session", "../../etc/passwd", "a/b", `a\b`, ".hidden", "", "x..y", "ä.session", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id, err := CheckFileName(name)
		if err != nil {
			return
		}
		if strings.ContainsAny(name, `/\`) || strings.Contains(name, "..") || strings.HasPrefix(name, ".") || name == "" {
			t.Fatalf("accepted unsafe name %q", name)
		}
		if !strings.HasPrefix(name, id) || CheckAccountID(id) != nil {
			t.Fatalf("name %q gave id %q", name, id)
		}
	})
}

// FuzzDecodeAccountBatch: a multipart body with fuzzed field values, file
// names and contents never panics, and every accepted file has a safe name
// and a size within the limit.
func FuzzDecodeAccountBatch(f *testing.F) {
	f.Add("A", "pack", "", "a.session", []byte("data"), "b.session", []byte("x"))
	f.Add("", "spread", "x1,x2", "../a", []byte(""), "a.session", []byte("y"))
	f.Fuzz(func(t *testing.T, script, strategy, ids, n1 string, d1 []byte, n2 string, d2 []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("script", script)
		mw.WriteField("strategy", strategy)
		if ids != "" {
			mw.WriteField("ids", ids)
		}
		for _, p := range []struct {
			n string
			d []byte
		}{{n1, d1}, {n2, d2}} {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="files"; filename="`+strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(p.n)+`"`)
			w, err := mw.CreatePart(h)
			if err != nil {
				return
			}
			w.Write(p.d)
		}
		mw.Close()
		r := httptest.NewRequest("POST", "/api/v1/accounts/batch", &buf)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		lim := Limits{MaxFileBytes: 64, MaxFiles: 10, MaxTotalBytes: 1 << 16}
		b, err := Decode(httptest.NewRecorder(), r, lim)
		if err != nil {
			var de *decode.Error
			if !errors.As(err, &de) || de.Status < 400 || de.Status >= 500 {
				t.Fatalf("request error is not a 4xx: %v", err)
			}
			return
		}
		for _, f := range b.Files {
			if f.Err != nil {
				if f.Data != nil {
					t.Fatalf("rejected file keeps its data: %q", f.FileName)
				}
				continue
			}
			if _, err := CheckFileName(f.FileName); err != nil {
				t.Fatalf("accepted unsafe name %q: %v", f.FileName, err)
			}
			if int64(len(f.Data)) > lim.MaxFileBytes || len(f.Data) == 0 {
				t.Fatalf("accepted a file of %d bytes", len(f.Data))
			}
			if CheckAccountID(f.ID) != nil {
				t.Fatalf("accepted id %q", f.ID)
			}
		}
	})
}
