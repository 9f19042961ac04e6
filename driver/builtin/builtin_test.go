package builtin

import (
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

// TestRegistersBuiltins: importing the package registers exactly the
// built-in drivers, highest priority (the default where it works) first.
func TestRegistersBuiltins(t *testing.T) {
	var names []string
	for _, f := range driver.Factories() {
		names = append(names, f.Name)
	}
	if len(names) != 2 || names[0] != "buildkit" || names[1] != "docker" {
		t.Fatalf("registered drivers = %q, want [buildkit docker]", names)
	}
	for _, n := range names {
		if f, err := driver.Lookup(n); err != nil || f.New == nil || f.Usage == "" {
			t.Errorf("Lookup(%q) = %+v, %v", n, f, err)
		}
	}
}
