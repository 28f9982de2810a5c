// A failing Go check.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "db write failed: connection refused")
	os.Exit(2)
}
