package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/telegram"
)

var (
	settingName = regexp.MustCompile(`BERTH_[A-Z0-9_]*[A-Z0-9]`)
	// secretCall finds the settings read through envSecret, which also
	// reads NAME_FILE (a name the code never spells out).
	secretCall = regexp.MustCompile(`envSecret\((?:"(BERTH_[A-Z0-9_]+)"|(telegram\.EnvToken))\)`)
)

// repoRoot is the directory holding go.mod above the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// settingsInCode returns the BERTH_ names the repository's Go files spell,
// apart (prod: non-test files, with NAME_FILE for each envSecret(NAME);
// tests: _test.go files).
func settingsInCode(t *testing.T, root string) (prod, tests map[string]bool) {
	t.Helper()
	prod, tests = map[string]bool{}, map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "vendor" || n == "node_modules" || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		into := prod
		if strings.HasSuffix(path, "_test.go") {
			into = tests
		}
		for _, n := range settingName.FindAllString(string(src), -1) {
			into[n] = true
		}
		if strings.HasSuffix(path, "_test.go") {
			return nil
		}
		for _, m := range secretCall.FindAllStringSubmatch(string(src), -1) {
			name := m[1]
			if m[2] != "" {
				name = telegram.EnvToken
			}
			prod[name+"_FILE"] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return prod, tests
}

// settingsInDoc returns the BERTH_ names docs/configuration.md lists:
// before its "## Tests" section (main) and in it (tests).
func settingsInDoc(doc string) (main, tests map[string]bool) {
	main, tests = map[string]bool{}, map[string]bool{}
	before, after, _ := strings.Cut(doc, "\n## Tests\n")
	for _, n := range settingName.FindAllString(before, -1) {
		main[n] = true
	}
	for _, n := range settingName.FindAllString(after, -1) {
		tests[n] = true
	}
	return main, tests
}

// configDocGaps compares the code's settings with the document's:
// undocumented are read by non-test code and listed nowhere; stale are
// listed outside the tests section and read by no non-test code, or listed
// in it and spelled by no Go file at all.
func configDocGaps(prod, testCode, docMain, docTests map[string]bool) (undocumented, stale []string) {
	for n := range prod {
		if !docMain[n] && !docTests[n] {
			undocumented = append(undocumented, n)
		}
	}
	for n := range docMain {
		if !prod[n] {
			stale = append(stale, n)
		}
	}
	for n := range docTests {
		if !prod[n] && !testCode[n] {
			stale = append(stale, n)
		}
	}
	slices.Sort(undocumented)
	slices.Sort(stale)
	return undocumented, stale
}

// configDocGapsNow compares the repository's code with its
// docs/configuration.md (configDocGaps), after checking the scans found
// what they must.
func configDocGapsNow(t *testing.T) (undocumented, stale []string) {
	t.Helper()
	root := repoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	prod, testCode := settingsInCode(t, root)
	for _, must := range []string{"BERTH_LISTEN", "BERTH_ADMIN_TOKEN_FILE", "BERTH_TELEGRAM_TOKEN_FILE"} {
		if !prod[must] {
			t.Fatalf("the scan of the code missed %s: it is broken", must)
		}
	}
	docMain, docTests := settingsInDoc(string(doc))
	if len(docTests) == 0 {
		t.Fatal(`docs/configuration.md has no "## Tests" section listing the test-only variables`)
	}
	return configDocGaps(prod, testCode, docMain, docTests)
}

// TestConfigDocListsEverySetting fails for a BERTH_ variable the code reads
// that docs/configuration.md does not list.
func TestConfigDocListsEverySetting(t *testing.T) {
	undocumented, _ := configDocGapsNow(t)
	for _, n := range undocumented {
		t.Errorf("%s is read by the code but docs/configuration.md does not list it: add it (its default and what it does)", n)
	}
}

// TestConfigDocListsNothingStale fails for a variable docs/configuration.md
// lists that the code no longer reads.
func TestConfigDocListsNothingStale(t *testing.T) {
	_, stale := configDocGapsNow(t)
	for _, n := range stale {
		t.Errorf("docs/configuration.md lists %s but no code reads it: remove it (or move a test-only one to the Tests section)", n)
	}
}

// TestConfigDocGaps checks the comparison itself on made-up sets.
func TestConfigDocGaps(t *testing.T) {
	set := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	docMain, docTests := settingsInDoc("- `BERTH_A` (default 1)\n- `BERTH_GONE`\n- `BERTH_T` in prose\n## Tests\n- `BERTH_TEST_X`\n- `BERTH_TEST_GONE`\n")
	undocumented, stale := configDocGaps(set("BERTH_A", "BERTH_NEW", "BERTH_A_FILE"), set("BERTH_TEST_X", "BERTH_T"), docMain, docTests)
	if want := []string{"BERTH_A_FILE", "BERTH_NEW"}; !slices.Equal(undocumented, want) {
		t.Errorf("undocumented = %v, want %v", undocumented, want)
	}
	// BERTH_T is spelled by a test only, but listed outside the tests section.
	if want := []string{"BERTH_GONE", "BERTH_T", "BERTH_TEST_GONE"}; !slices.Equal(stale, want) {
		t.Errorf("stale = %v, want %v", stale, want)
	}
}
