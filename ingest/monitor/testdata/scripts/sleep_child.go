// Spawns a child that sleeps, then sleeps itself past the timeout.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"time"
)

func main() {
	c := exec.Command("sleep", "300")
	if err := c.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("CHILD", c.Process.Pid)
	time.Sleep(300 * time.Second)
}
