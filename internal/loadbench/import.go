package loadbench

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/textproto"
)

// importScript is the script id of the benchmark's accounts.
const importScript = "bench"

// credFile is one credential file to import.
type credFile struct {
	name string // e.g. 639123000001.session: the account id and an extension
	data []byte
}

// benchFiles makes n credential files of size random bytes with distinct
// account ids 639SSSNNNNNN (SSS: salt, a run's number below 1000, so runs
// against one database do not collide; NNNNNN: 1..n).
func benchFiles(n, size, salt int) []credFile {
	rng := rand.NewChaCha8([32]byte{byte(salt), byte(salt >> 8)})
	files := make([]credFile, n)
	for i := range files {
		data := make([]byte, size)
		rng.Read(data)
		files[i] = credFile{name: fmt.Sprintf("639%03d%06d.session", salt%1000, i+1), data: data}
	}
	return files
}

// batch is a ready multipart body for POST /api/v1/accounts/batch.
type batch struct {
	data        []byte
	contentType string
}

// body returns a fresh reader over the batch's bytes.
func (b batch) body() io.Reader { return bytes.NewReader(b.data) }

// buildBatch encodes an import request as berth reads it: a field script
// and one part named files per credential file, whose file name is the
// account id plus an extension.
func buildBatch(script string, files []credFile) (batch, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("script", script); err != nil {
		return batch{}, err
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files"; filename=%q`, f.name))
		h.Set("Content-Type", "application/octet-stream")
		w, err := mw.CreatePart(h)
		if err != nil {
			return batch{}, err
		}
		if _, err := w.Write(f.data); err != nil {
			return batch{}, err
		}
	}
	if err := mw.Close(); err != nil {
		return batch{}, err
	}
	return batch{data: buf.Bytes(), contentType: mw.FormDataContentType()}, nil
}
