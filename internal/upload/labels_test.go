package upload

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"slices"
	"testing"
)

// Label fields repeat (label, labels), and one field may hold several,
// separated by commas or new lines; they come back as sent, in order.
func TestDecodeLabels(t *testing.T) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("script", "A")
	mw.WriteField("label", "region=eu")
	mw.WriteField("label", " tier=gold ")
	mw.WriteField("labels", "rack=r1,\nzone=a\r\n\n")
	fw, _ := mw.CreateFormFile("files", "a1.session")
	fw.Write([]byte("x"))
	mw.Close()
	req := httptest.NewRequest("POST", "/", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	b, err := Decode(httptest.NewRecorder(), req, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"region=eu", "tier=gold", "rack=r1", "zone=a"}; !slices.Equal(b.Labels, want) {
		t.Fatalf("labels %q, want %q", b.Labels, want)
	}
}
