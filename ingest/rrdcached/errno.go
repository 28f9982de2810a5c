package rrdcached

import "syscall"

// Accept errors that pass once connections end.
const (
	syscallEMFILE = syscall.EMFILE
	syscallENFILE = syscall.ENFILE
)
