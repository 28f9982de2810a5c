// This directory holds npm packages (statsd 0.9.0 for the reference test),
// one of which ships Go example code: a module of its own keeps it out of
// rrdash's ./... (go vet, go test).
module statsdtool
