package rrdcached

import "testing"

// Every command has a permission bit: a command past the width of
// Permissions was refused on every socket (XBACKUP, the 33rd, was).
func TestEveryCommandHasAPermissionBit(t *testing.T) {
	t.Parallel()
	for i, n := range commandNames {
		if !AllCommands.allows(n, i) {
			t.Errorf("command %s (#%d) is refused by AllCommands", n, i)
		}
		if n == "." || n == "WROTE" || n == "HELP" || n == "QUIT" {
			continue
		}
		p, err := ParsePermissions([]string{n})
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if !p.allows(n, i) {
			t.Errorf("permission for %s alone does not allow it", n)
		}
	}
}
