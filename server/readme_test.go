package server_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeInSync checks that the README shows example_readme_test.go's
// code as it is: the example compiles and its output is checked, so the
// README's sample does too.
func TestReadmeInSync(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, code, ok := strings.Cut(string(src), "// begin readme\n")
	code, _, ok2 := strings.Cut(code, "// end readme")
	if !ok || !ok2 {
		t.Fatal("example_readme_test.go lacks the begin readme / end readme markers")
	}
	code = strings.TrimSpace(code)
	if !strings.Contains(string(readme), code) {
		t.Errorf("README.md does not contain the code of example_readme_test.go between its markers; copy it over:\n%s", code)
	}
}
