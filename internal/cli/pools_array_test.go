package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/provider/providers"
)

// A list setting (sftp after_put) is given as a JSON list on the command
// line; anything else is refused saying so.
func TestTypedSettingList(t *testing.T) {
	f := providers.Field{Name: "after_put", Kind: "array", Items: "string"}
	v, err := typedSetting(f, `["/usr/local/bin/reload-worker","{account}"]`)
	if err != nil || fmt.Sprint(v) != "[/usr/local/bin/reload-worker {account}]" {
		t.Fatalf("typedSetting = %v, %v", v, err)
	}
	if _, err := typedSetting(f, "/usr/local/bin/reload-worker"); err == nil || !strings.Contains(err.Error(), "is not a JSON list") {
		t.Fatalf("a bare path: err = %v", err)
	}
}
