// Package upload decodes an account batch upload sent from outside: the
// multipart body (Decode) within its limits (Limits), and the checks of
// every credential file name and account id in it (CheckFileName,
// CheckAccountID). Its refusals of a request as a whole are *decode.Error
// with a 4xx status; a problem with one file rejects that file only. It
// imports only the standard library and decode, so its fuzz targets build
// in seconds.
package upload

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/berthhq/berth/internal/httpx/decode"
)

// Limits bounds an account batch upload.
type Limits struct {
	MaxFileBytes  int64 // one credential file
	MaxFiles      int   // files in one batch
	MaxTotalBytes int64 // the whole request
}

// DefaultLimits fit Telegram-style session files (tens of KiB).
var DefaultLimits = Limits{MaxFileBytes: 1 << 20, MaxFiles: 5000, MaxTotalBytes: 256 << 20}

var accountID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)

// File is one credential file of a batch: the fields of alloc.AccountFile,
// so a File converts to one.
type File struct {
	ID       string
	FileName string
	Data     []byte
	Err      error
}

// Batch is a decoded batch upload.
type Batch struct {
	Script   string
	Strategy string
	// Labels are the label fields as sent, one key=value each (fields
	// label or labels, repeatable; a field may hold several separated by
	// commas or new lines); alloc.ParseLabels reads them.
	Labels []string
	Files  []File
}

// CheckFileName validates a credential file name as sent by the client,
// before any base-name cleaning, and returns the account id it implies.
func CheckFileName(raw string) (id string, err error) {
	switch {
	case raw == "":
		return "", errors.New("file name is empty")
	case !utf8.ValidString(raw):
		return "", errors.New("file name is not valid UTF-8")
	case len(raw) > 255:
		return "", fmt.Errorf("file name is %d bytes; the limit is 255", len(raw))
	case strings.ContainsAny(raw, `/\`) || strings.Contains(raw, ".."):
		return "", fmt.Errorf("file name %q contains a path: send only the file's name (path traversal refused)", raw)
	case strings.HasPrefix(raw, "."):
		return "", fmt.Errorf("file name %q starts with a dot", raw)
	}
	for _, r := range raw {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("file name %q contains a control character", raw)
		}
	}
	id = raw
	if i := strings.LastIndexByte(raw, '.'); i > 0 {
		id = raw[:i]
	}
	if err := CheckAccountID(id); err != nil {
		return "", err
	}
	return id, nil
}

// CheckAccountID validates an account id.
func CheckAccountID(id string) error {
	if !accountID.MatchString(id) {
		return fmt.Errorf("account id %q: use 1-128 letters, digits, '.', '_', '@', '+' or '-', starting with a letter or digit", id)
	}
	return nil
}

// rawFileName returns the filename parameter exactly as sent; Go's
// Part.FileName would strip directories and hide a traversal attempt.
func rawFileName(p *multipart.Part) (string, bool) {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return "", false
	}
	name, ok := params["filename"]
	return name, ok
}

// Decode reads a multipart batch: a field script, optional strategy, ids
// (comma or newline separated, in file order) and label fields
// (key=value), and parts named files.
// Problems with one file reject that file only; problems with the request
// as a whole return a *decode.Error.
func Decode(w http.ResponseWriter, r *http.Request, lim Limits) (Batch, error) {
	var b Batch
	r.Body = http.MaxBytesReader(w, r.Body, lim.MaxTotalBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return b, decode.BadRequest("send multipart/form-data with a field script and parts named files: " + err.Error())
	}
	var ids []string
	idsGiven := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return b, bodyError("malformed multipart body", err, lim)
		}
		switch p.FormName() {
		case "script", "strategy", "ids", "label", "labels":
			v, err := io.ReadAll(io.LimitReader(p, 1<<20))
			if err != nil {
				return b, bodyError("reading field "+p.FormName(), err, lim)
			}
			switch p.FormName() {
			case "script":
				b.Script = strings.TrimSpace(string(v))
			case "strategy":
				b.Strategy = strings.TrimSpace(string(v))
			case "label", "labels":
				if len(b.Labels) > 64 {
					return b, decode.Status(http.StatusUnprocessableEntity, "more than 64 label fields; the limit is 16 labels")
				}
				for _, l := range strings.FieldsFunc(string(v), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
					if l = strings.TrimSpace(l); l != "" {
						b.Labels = append(b.Labels, l)
					}
				}
			case "ids":
				idsGiven = true
				ids = strings.FieldsFunc(string(v), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' })
			}
		case "files", "files[]", "file":
			if len(b.Files) >= lim.MaxFiles {
				return b, decode.Status(http.StatusRequestEntityTooLarge, fmt.Sprintf("more than %d files in one batch; split it", lim.MaxFiles))
			}
			b.Files = append(b.Files, readFile(p, lim.MaxFileBytes))
		default:
			// Unknown parts are drained and ignored.
			io.Copy(io.Discard, p)
		}
		p.Close()
	}
	if b.Script == "" {
		return b, decode.Status(http.StatusUnprocessableEntity, "field script is required: the script id these accounts run")
	}
	if len(b.Files) == 0 {
		return b, decode.Status(http.StatusUnprocessableEntity, "no files: send one or more parts named files")
	}
	if idsGiven {
		if len(ids) != len(b.Files) {
			return b, decode.Status(http.StatusUnprocessableEntity, fmt.Sprintf("ids names %d accounts but %d files were sent; give one id per file, in order", len(ids), len(b.Files)))
		}
		for i := range b.Files {
			if b.Files[i].Err != nil {
				continue
			}
			if err := CheckAccountID(ids[i]); err != nil {
				b.Files[i].Err, b.Files[i].Data = err, nil
			}
			b.Files[i].ID = ids[i]
		}
	}
	markDuplicates(b.Files)
	return b, nil
}

// bodyError is the refusal of a body that could not be read: 413 once it
// passed the limit of the whole request, else 400 saying what failed.
func bodyError(what string, err error, lim Limits) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return decode.Status(http.StatusRequestEntityTooLarge, "upload is larger than "+decode.HumanBytes(lim.MaxTotalBytes)+"; split the batch")
	}
	return decode.BadRequest(what + ": " + err.Error())
}

func readFile(p *multipart.Part, max int64) File {
	raw, ok := rawFileName(p)
	f := File{FileName: raw}
	data, err := io.ReadAll(io.LimitReader(p, max+1))
	switch {
	case !ok:
		f.Err = errors.New("part has no filename: send each credential file as a file part")
	case err != nil:
		f.Err = fmt.Errorf("reading file: %v", err)
	case int64(len(data)) > max:
		io.Copy(io.Discard, p)
		f.Err = fmt.Errorf("file is larger than the %s limit", decode.HumanBytes(max))
	case len(data) == 0:
		f.Err = errors.New("file is empty")
	}
	if id, err := CheckFileName(raw); err != nil {
		if f.Err == nil {
			f.Err = err
		}
	} else {
		f.ID = id
	}
	if f.Err == nil {
		f.Data = data
	}
	return f
}

// markDuplicates rejects every file whose account id appeared earlier in the
// batch, naming the earlier one.
func markDuplicates(files []File) {
	first := map[string]int{}
	for i := range files {
		f := &files[i]
		if f.Err != nil || f.ID == "" {
			continue
		}
		if j, ok := first[f.ID]; ok {
			f.Err = fmt.Errorf("duplicate: account %s is also file #%d (%s) of this batch", f.ID, j+1, files[j].FileName)
			f.Data = nil
			continue
		}
		first[f.ID] = i
	}
}
