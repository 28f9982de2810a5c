// A passing Go check that reports metrics.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("METRIC latency_ms 42 ms")
	fmt.Printf("{\"metrics\": {\"rows\": 17}}\n")
	fmt.Println("secret length", len(os.Getenv("API_TOKEN")))
}
