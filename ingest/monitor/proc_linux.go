//go:build linux

package monitor

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// Resource numbers from <sys/resource.h>; syscall lacks RLIMIT_NPROC.
const (
	rlimitCPU    = 0
	rlimitNPROC  = 6
	rlimitNOFILE = 7
	rlimitAS     = 9
)

// prlimit sets a resource limit of another process (prlimit(2)). The child
// is held at a gate until its limits are set, and limits survive exec and
// are inherited on fork, so the script and all its children run limited.
func prlimit(pid, resource int, soft, hard uint64) error {
	lim := syscall.Rlimit{Cur: soft, Max: hard}
	_, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(resource),
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// waitExited blocks until pid has exited but leaves it unreaped (WNOWAIT):
// while the leader is a zombie its process group id cannot be reused, so
// killing the group afterwards cannot hit an unrelated process.
func waitExited(pid int) error {
	const (
		pPID    = 1
		wEXITED = 4
		wNOWAIT = 0x1000000
	)
	var info [128]byte // siginfo_t
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info[0])), wEXITED|wNOWAIT, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return fmt.Errorf("waitid %d: %w", pid, e)
		}
		return nil
	}
}

// killGroup sends SIGKILL to every process in the group; a group that is
// already gone is not an error.
func killGroup(pgid int) error {
	err := syscall.Kill(-pgid, syscall.SIGKILL)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", pgid, err)
	}
	return nil
}

// groupGone waits until no live (non-zombie) process is left in the group,
// since SIGKILL is delivered asynchronously: kill returns before the
// processes are dead. It gives up at the deadline and lists the survivors.
func groupGone(pgid int, deadline time.Time) error {
	for {
		left, err := liveGroupMembers(pgid)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of group %d survived SIGKILL", left, pgid)
		}
		_ = killGroup(pgid)
		time.Sleep(5 * time.Millisecond)
	}
}

// liveGroupMembers scans /proc for processes of the group that are not zombies.
func liveGroupMembers(pgid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	want := strconv.Itoa(pgid)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// The command name may hold spaces and parentheses; the fields
		// after the last ")" are state, ppid, pgrp.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) >= 3 && f[2] == want && f[0] != "Z" && f[0] != "X" {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
